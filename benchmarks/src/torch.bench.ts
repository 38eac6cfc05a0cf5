// PyTorch checkpoint I/O: writeTorchCheckpoint and openTorchCheckpoint().read() on 7B-shaped
// f16 tensors (the FFN's 11008x4096), against the reference in the same run: plain positioned
// reads / writes of the same bytes with node:fs (the ceiling for a format layer), and CRC-32
// throughput (the cost of verifyCrc). Also: open time (zip directory + unpickling) of a
// 7B-like state dict with 291 tensors.
//   node --conditions=source --import=tsx benchmarks/src/torch.bench.ts

import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crc32, openTorchCheckpoint, writeTorchCheckpoint, type TorchTensorInput } from "@llamats/formats";
import { measure, round, runStandalone } from "./harness.js";

export async function run(): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), "llamats-torch-bench-"));
  try {
    const rows = 11008, cols = 4096;
    const bytes = new Uint8Array(rows * cols * 2); // (rows, cols) f16
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i & 0xff;
    const tensors: TorchTensorInput[] = ["w1", "w2", "w3"].map((n) => ({ name: `layers.0.feed_forward.${n}.weight`, dtype: "f16", shape: [rows, cols], data: bytes }));
    const total = bytes.length * tensors.length;
    const path = join(dir, "consolidated.00.pth");
    const raw = join(dir, "raw.bin");

    const write = measure("writeTorchCheckpoint_3x11008x4096_f16", () => writeTorchCheckpoint(path, tensors), { bytes: total, minTime: 1, maxTime: 4 });
    const writeRef = measure("fs.writeFileSync_same_bytes (reference)", () => {
      writeFileSync(raw, bytes);
      writeFileSync(raw, bytes, { flag: "a" });
      writeFileSync(raw, bytes, { flag: "a" });
    }, { bytes: total, minTime: 1, maxTime: 4 });

    const ck = openTorchCheckpoint(path);
    const dst = new Uint8Array(bytes.length);
    const read = measure("checkpoint.read_11008x4096_f16", () => ck.read("layers.0.feed_forward.w2.weight", dst), { bytes: bytes.length });
    ck.close();
    const fd = openSync(raw, "r");
    const readRef = measure("fs.readSync_same_bytes (reference)", () => {
      let done = 0;
      while (done < dst.length) done += readSync(fd, dst, done, dst.length - done, bytes.length + done);
    }, { bytes: bytes.length });
    closeSync(fd);
    const crc = measure("crc32_90MB", () => crc32(bytes), { bytes: bytes.length });

    // Open cost of a 7B-like state dict: 291 small tensors (the pickle and directory dominate).
    const names = ["tok_embeddings.weight", "norm.weight", "output.weight"];
    for (let l = 0; l < 32; l++) {
      for (const n of ["attention.wq", "attention.wk", "attention.wv", "attention.wo", "feed_forward.w1", "feed_forward.w2", "feed_forward.w3", "attention_norm", "ffn_norm"]) {
        names.push(`layers.${l}.${n}.weight`);
      }
    }
    const small = join(dir, "many.pth");
    writeTorchCheckpoint(small, names.map((name) => ({ name, dtype: "f16", shape: [4, 4], data: new Uint8Array(32) })));
    const open = measure("openTorchCheckpoint_291_tensors", () => openTorchCheckpoint(small).close());

    return {
      results: [write, writeRef, read, readRef, crc, open],
      ratios: {
        writeVsFs: round(write.opsPerSec / writeRef.opsPerSec),
        readVsFs: round(read.opsPerSec / readRef.opsPerSec),
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runStandalone(import.meta.url, "torch", run);
