// `llamats inspect` and `llamats convert` end to end on the fixtures: the --json shape,
// exit code 2 with one line on bad input, conversions that keep every tensor's bytes
// (HF -> GGUF -> HF gives back PyTorch's bytes), --dtype, and the Meta .pth target.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { GGMLType } from "@llamats/tensor";
import { openModelSource, openSafetensors, toFloat32 } from "@llamats/formats";
import { describeConformance, fixturePath } from "@llamats/testkit";
import { runMain } from "./helpers/run-main.js";

/** Run the CLI in-process, capturing stdout and stderr. */
const run = (...args: string[]) => runMain(args);

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describeConformance("cli inspect / convert", ["tiny/base/model.safetensors", "tiny/base/tensor-sha256.json", "stories260K/stories260K.bin", "tiny/merged-llama/pth/consolidated.00.pth"], () => {
  let dir = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-convert-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("inspect --json prints {format, config, metadata, tensors[{name, dtype, shape, bytes}]}", async () => {
    for (const p of ["tiny/base", "tiny/base/model.safetensors", "tiny/merged-llama/pth", "tiny/lora-llama", "stories260K/stories260K.bin"]) {
      const r = await run("inspect", "--json", fixturePath(p));
      expect(r.code, r.err).to.equal(0);
      const j = JSON.parse(r.out);
      expect(Object.keys(j)).to.deep.equal(["format", "config", "metadata", "tensors"]);
      expect(Object.keys(j.tensors[0])).to.deep.equal(["name", "dtype", "shape", "bytes"]);
    }
    const j = JSON.parse((await run("inspect", "--json", fixturePath("tiny/base"))).out);
    expect(j.format).to.equal("hf");
    expect(j.config.headCount).to.equal(4);
    expect(j.metadata.hidden_size).to.equal(64);
    expect(j.tensors[2]).to.deep.equal({ name: "blk.0.attn_q.weight", dtype: "f16", shape: [64, 64], bytes: 8192 });
    const l2c = JSON.parse((await run("inspect", "--json", "--format", "llama2c", fixturePath("stories260K/stories260K.bin"))).out);
    expect(l2c.format).to.equal("llama2c");
    expect(l2c.tensors).to.have.length(48);
  });

  it("inspect prints a human summary; bad input exits 2 with one line", async () => {
    const h = await run("inspect", fixturePath("tiny/base"));
    expect(h.code).to.equal(0);
    expect(h.out).to.match(/^format: hf$/m);
    expect(h.out).to.match(/blk\.0\.attn_q\.weight\s+f16\s+\[64,64\]/);
    const bad = join(dir, "bad.gguf");
    writeFileSync(bad, Buffer.from("GGUF\x03\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x00\x00\x00\x00\x00", "latin1"));
    const r = await run("inspect", bad);
    expect(r.code).to.equal(2);
    expect(r.err.trim().split("\n")).to.have.length(1);
    expect(r.err).to.match(/bad\.gguf: n_tensors at byte 8/);
    expect((await run("inspect", "--format", "nope", bad)).code).to.equal(2);
  });

  it("HF -> GGUF -> HF keeps PyTorch's bytes of every tensor", async () => {
    const gguf = join(dir, "base.gguf");
    const hf = join(dir, "hf");
    const a = await run("convert", fixturePath("tiny/base"), gguf);
    expect(a.code, a.err).to.equal(0);
    expect(a.out).to.equal("");
    expect(a.err).to.match(/100\.0%/);
    const b = await run("convert", gguf, hf, "--to", "hf");
    expect(b.code, b.err).to.equal(0);
    expect(readdirSync(dir).filter((f) => f.includes(".tmp-"))).to.deep.equal([]);
    const want = JSON.parse(readFileSync(fixturePath("tiny/base/tensor-sha256.json"), "utf8")) as Record<string, { sha256: string }>;
    const f = openSafetensors(join(hf, "model.safetensors"));
    try {
      expect(f.tensors).to.have.length(21);
      for (const t of f.tensors) expect(sha(f.readTensor(t)), t.name).to.equal(want[t.name].sha256);
    } finally {
      f.close();
    }
    expect(JSON.parse(readFileSync(join(hf, "config.json"), "utf8"))).to.deep.include({ num_attention_heads: 4, hidden_size: 64, vocab_size: 32000, torch_dtype: "float16" });
    const hf2 = join(dir, "hf2");
    expect((await run("convert", fixturePath("tiny/base"), hf2, "--to", "hf")).code).to.equal(0);
    expect(existsSync(join(hf2, "tokenizer.model"))).to.equal(true);
    expect((await run("convert", fixturePath("tiny/base"), hf2, "--to", "hf")).code).to.equal(2); // exists
  });

  it("--dtype converts values exactly (f16 -> f32) and keeps GGUF norms in f32 for f16/bf16", async () => {
    const out = join(dir, "f32.safetensors");
    expect((await run("convert", fixturePath("tiny/base"), out, "--dtype", "f32")).code).to.equal(0);
    const src = await openModelSource(fixturePath("tiny/base"));
    const dst = await openModelSource(out);
    try {
      expect(dst.format).to.equal("safetensors");
      expect(dst.config).to.deep.include({ headCount: 4, embeddingLength: 64, blockCount: 2 });
      for (const t of src.tensors) {
        const d = dst.tensors.find((x) => x.name === t.name)!;
        expect(d.type).to.equal(GGMLType.F32);
        const x = toFloat32(dst.read(t.name), d.type, d.shape);
        const y = toFloat32(src.read(t.name), t.type, t.shape);
        expect(x.length).to.equal(y.length);
        let same = 0;
        for (let i = 0; i < x.length; i++) if (Object.is(x[i], y[i])) same++;
        expect(same, t.name).to.equal(y.length);
      }
    } finally {
      src.close();
      dst.close();
    }
    const bf = join(dir, "bf16.gguf");
    expect((await run("convert", out, bf, "--dtype", "bf16")).code).to.equal(0);
    const g = await openModelSource(bf);
    try {
      expect(g.tensors.find((t) => t.name === "blk.0.attn_q.weight")!.type).to.equal(GGMLType.BF16);
      expect(g.tensors.find((t) => t.name === "blk.0.attn_norm.weight")!.type).to.equal(GGMLType.F32);
    } finally {
      g.close();
    }
    expect((await run("convert", out, join(dir, "x.gguf"), "--dtype", "q4_0")).code).to.equal(2);
  });

  it("--to pth writes a Meta folder equal to merged-llama's own pth tensors", async () => {
    const out = join(dir, "pth");
    const r = await run("convert", fixturePath("tiny/merged-llama/hf"), out, "--to", "pth");
    expect(r.code, r.err).to.equal(0);
    const a = await openModelSource(out);
    const b = await openModelSource(fixturePath("tiny/merged-llama/pth"));
    try {
      expect(a.format).to.equal("meta");
      for (const t of b.tensors) expect(sha(a.read(t.name)), t.name).to.equal(sha(b.read(t.name)));
    } finally {
      a.close();
      b.close();
    }
  });

  it("HF -> GGUF -> Meta .pth keeps the bytes too (norms narrowed back to f16)", async () => {
    const gguf = join(dir, "base.gguf");
    const out = join(dir, "pth-from-gguf");
    expect((await run("convert", gguf, out, "--to", "pth")).code).to.equal(0);
    const a = await openModelSource(out);
    const b = await openModelSource(fixturePath("tiny/base"));
    try {
      for (const t of b.tensors) expect(sha(a.read(t.name)), t.name).to.equal(sha(b.read(t.name)));
    } finally {
      a.close();
      b.close();
    }
  });

  it("llama2.c -> GGUF keeps the float32 weights", async () => {
    const out = join(dir, "stories.gguf");
    expect((await run("convert", fixturePath("stories260K/stories260K.bin"), out)).code).to.equal(0);
    const a = await openModelSource(fixturePath("stories260K/stories260K.bin"));
    const b = await openModelSource(out);
    try {
      expect(b.config).to.deep.include({ headCount: 8, headCountKv: 4, contextLength: 512, layerNormRmsEpsilon: 1e-5 });
      for (const t of a.tensors) expect(sha(b.read(t.name)), t.name).to.equal(sha(a.read(t.name)));
    } finally {
      a.close();
      b.close();
    }
  });
});

describeConformance("cli: a closed stdout pipe is not a crash", ["llamacpp-vocab/ggml-vocab-llama-spm.gguf"], () => {
  it("inspect --json | head -c 100: exit 0, nothing on stderr (EPIPE ends the output quietly)", () => {
    const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url));
    // The JSON (32000 tokens of metadata) is far larger than a pipe's buffer: head exits first.
    const r = spawnSync("bash", ["-c", '"$0" --conditions=source --import=tsx "$1" inspect "$2" --json | head -c 100 >/dev/null; exit "${PIPESTATUS[0]}"',
      process.execPath, bin, fixturePath("llamacpp-vocab/ggml-vocab-llama-spm.gguf")], { encoding: "utf8", timeout: 60000 });
    expect(r.stderr).to.equal("");
    expect(r.status).to.equal(0);
  });
});
