// `--verify`: the sha256 of every merge input (base weights, adapter weights, tokenizers),
// compared with the seed's published table where a file name matches (sha256-table.ts).
// The seed's FAQ: most broken merges come from corrupt or wrong inputs, so check them first.

import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readdirSync, readSync } from "node:fs";
import { basename, join } from "node:path";
import { SEED_SHA256, type ShaEntry } from "./sha256-table.js";

export interface VerifyLine {
  readonly path: string;
  readonly sha256: string;
  /** "match": equals a published hash; "unknown": the name is in the table but the hash is
   *  none of its hashes (another release, a fine-tune of one's own, or a corrupt download: the
   *  table cannot tell which file was meant, so this is not called a mismatch);
   *  "unlisted": no published hash for this file name. */
  readonly status: "match" | "unknown" | "unlisted";
  /** The matching model, or the models whose hash was expected. */
  readonly models: string[];
}

export function sha256File(path: string): string {
  const h = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const buf = new Uint8Array(1 << 22);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

export function checkAgainstTable(path: string, sha256: string, table: readonly ShaEntry[] = SEED_SHA256): VerifyLine {
  const named = table.filter((e) => e.file === basename(path));
  const hit = named.filter((e) => e.sha256 === sha256);
  if (hit.length) return { path, sha256, status: "match", models: hit.map((e) => e.model) };
  if (named.length) return { path, sha256, status: "unknown", models: named.map((e) => e.model) };
  return { path, sha256, status: "unlisted", models: [] };
}

const WEIGHT_FILE = /^(consolidated\.\d+\.pth|pytorch_model.*\.bin|model.*\.safetensors|adapter_model\.(bin|safetensors)|tokenizer\.model)$/;

/** The input files of a merge worth hashing, in order: the base's, then each LoRA's. */
export function mergeInputFiles(base: string, loras: readonly string[]): string[] {
  const files: string[] = [];
  for (const dir of [base, ...loras]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).sort()) if (WEIGHT_FILE.test(f)) files.push(join(dir, f));
  }
  return files;
}

export function verifyInputs(base: string, loras: readonly string[], onFile?: (path: string) => void): VerifyLine[] {
  return mergeInputFiles(base, loras).map((p) => {
    onFile?.(p);
    return checkAgainstTable(p, sha256File(p));
  });
}

/** sha256sum-style line plus the verdict. */
export function formatVerifyLine(v: VerifyLine): string {
  const verdict = v.status === "match" ? `OK (${v.models.join(" / ")})`
    : v.status === "unknown"
      ? `unknown file: not one of the ${v.models.length} published ${basename(v.path)} hashes (${v.models.length > 3 ? "check the download" : v.models.join(", ")})`
      : "unknown file: no published hash for this name";
  return `${v.sha256}  ${v.path}  ${verdict}`;
}
