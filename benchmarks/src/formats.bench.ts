// GGUF / safetensors I/O and the conversions `convert` runs, on 7B-shaped f16 tensors (the
// FFN's 11008x4096, attn_q's 4096x4096), against the reference in the same run: plain
// positioned reads / writes of the same bytes with node:fs (the ceiling for a format layer).
// Also: opening a GGUF whose header holds a 32000-piece vocabulary (llama.cpp's vocab file,
// when fixtures are present), f16 -> f32 widening and the HF -> interleaved Q/K permutation.
//   node --conditions=source --import=tsx benchmarks/src/formats.bench.ts

import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGMLType } from "@llamats/tensor";
import { convertTensorBytes, openGguf, openSafetensors, permuteQkRows, writeGguf, writeSafetensors } from "@llamats/formats";
import { fixturePath, haveFixtures } from "@llamats/testkit";
import { measure, round, runStandalone } from "./harness.js";

export async function run(): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), "llamats-formats-bench-"));
  try {
    const rows = 11008, cols = 4096;
    const bytes = new Uint8Array(rows * cols * 2); // (rows, cols) f16
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = i & 0xff;
    const names = ["blk.0.ffn_gate.weight", "blk.0.ffn_down.weight", "blk.0.ffn_up.weight"];
    const total = bytes.length * names.length;
    const gguf = join(dir, "m.gguf");
    const st = join(dir, "m.safetensors");
    const raw = join(dir, "raw.bin");

    const writeG = measure("writeGguf_3x11008x4096_f16", () => writeGguf(gguf, { kv: [], tensors: names.map((name) => ({ name, type: GGMLType.F16, shape: [rows, cols], data: bytes })) }), { bytes: total, minTime: 1, maxTime: 4 });
    const writeS = measure("writeSafetensors_3x11008x4096_f16", () => writeSafetensors(st, names.map((name) => ({ name, dtype: "F16", shape: [rows, cols], data: bytes }))), { bytes: total, minTime: 1, maxTime: 4 });
    const writeRef = measure("fs.writeFileSync_same_bytes (reference)", () => {
      writeFileSync(raw, bytes);
      writeFileSync(raw, bytes, { flag: "a" });
      writeFileSync(raw, bytes, { flag: "a" });
    }, { bytes: total, minTime: 1, maxTime: 4 });

    const dst = new Uint8Array(bytes.length);
    const g = openGguf(gguf);
    const readG = measure("gguf.readTensor_11008x4096_f16", () => g.readTensor("blk.0.ffn_down.weight", dst), { bytes: bytes.length });
    g.close();
    const s = openSafetensors(st);
    const readS = measure("safetensors.readTensor_11008x4096_f16", () => s.readTensor("blk.0.ffn_down.weight", dst), { bytes: bytes.length });
    s.close();
    const fd = openSync(raw, "r");
    const readRef = measure("fs.readSync_same_bytes (reference)", () => {
      let done = 0;
      while (done < dst.length) done += readSync(fd, dst, done, dst.length - done, bytes.length + done);
    }, { bytes: bytes.length });
    closeSync(fd);

    const q = bytes.subarray(0, 4096 * 4096 * 2);
    const widen = measure("f16_to_f32_4096x4096", () => convertTensorBytes(q, GGMLType.F16, GGMLType.F32, [4096, 4096]), { bytes: q.length });
    const permute = measure("permuteQkRows_4096x4096_f16_32heads", () => permuteQkRows(q, 4096, 32, "hfToInterleaved"), { bytes: q.length });

    const results = [writeG, writeS, writeRef, readG, readS, readRef, widen, permute];
    if (haveFixtures("llamacpp-vocab/ggml-vocab-llama-spm.gguf")) {
      results.push(measure("openGguf_llama_vocab_32000_pieces", () => openGguf(fixturePath("llamacpp-vocab/ggml-vocab-llama-spm.gguf")).close()));
    }
    return {
      results,
      ratios: {
        ggufWriteVsFs: round(writeG.opsPerSec / writeRef.opsPerSec),
        safetensorsWriteVsFs: round(writeS.opsPerSec / writeRef.opsPerSec),
        ggufReadVsFs: round(readG.opsPerSec / readRef.opsPerSec),
        safetensorsReadVsFs: round(readS.opsPerSec / readRef.opsPerSec),
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

runStandalone(import.meta.url, "formats", run);
