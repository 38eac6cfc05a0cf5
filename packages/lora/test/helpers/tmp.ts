// Temp folders for merge outputs and hand-broken inputs (os.tmpdir(), never the repo).
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSafetensors, openTorchCheckpoint } from "@llamats/formats";

export function makeTmp(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `llamats-lora-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** name -> {sha256, shape, dtype} of every tensor in a .safetensors / torch file. */
export function tensorHashes(path: string): Map<string, { sha256: string; shape: number[]; dtype: string }> {
  if (path.endsWith(".safetensors")) {
    const f = openSafetensors(path);
    try {
      return new Map(f.tensors.map((t) => [t.name, { sha256: sha256(f.readTensor(t)), shape: [...t.shape], dtype: t.dtype }]));
    } finally {
      f.close();
    }
  }
  const ck = openTorchCheckpoint(path);
  try {
    return new Map(ck.tensors.map((t) => [t.name, { sha256: sha256(ck.read(t.name)), shape: [...t.shape], dtype: t.dtype }]));
  } finally {
    ck.close();
  }
}

export function readJson(path: string): any {
  return JSON.parse(readFileSync(path, "utf8"));
}
