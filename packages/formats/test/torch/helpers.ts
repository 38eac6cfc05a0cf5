// Test helpers: build torch.save-style zips in memory from hand-made pickles and storages,
// so tests can make checkpoints that our writer would never produce (views, lies, attacks).

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ZipWriter, type ZipSink } from "@llamats/formats";

class MemorySink implements ZipSink {
  private chunks: Uint8Array[] = [];
  position = 0;
  write(bytes: Uint8Array): void {
    this.chunks.push(bytes.slice());
    this.position += bytes.length;
  }
  /** A plain Uint8Array (not a pooled Buffer: tests slice() and patch it through .buffer). */
  bytes(): Uint8Array {
    return Uint8Array.from(Buffer.concat(this.chunks));
  }
}

/** A zip of stored entries laid out like torch's, as bytes. */
export function zipBytes(entries: [string, Uint8Array][], options: { zip64Threshold?: number } = {}): Uint8Array {
  const sink = new MemorySink();
  const zip = new ZipWriter(sink, options);
  for (const [name, data] of entries) zip.add(name, data);
  zip.finish();
  return sink.bytes();
}

/** A torch checkpoint with the given data.pkl and storages (key -> bytes). */
export function checkpointBytes(pickle: Uint8Array, storages: Record<string, Uint8Array>, archive = "archive"): Uint8Array {
  return zipBytes([
    [`${archive}/data.pkl`, pickle],
    ...Object.keys(storages).sort().map((k): [string, Uint8Array] => [`${archive}/data/${k}`, storages[k]]),
    [`${archive}/version`, new TextEncoder().encode("3\n")],
  ]);
}

/** A temp folder removed after `body`. */
export function withTempDir<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "llamats-torch-"));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function writeBytes(dir: string, name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

/** Bytes of a latin1 string (pickle opcodes written by hand). */
export function b(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}
