// The CLI's gpu contract: `gpu-info` names the adapter; `--backend gpu` where no GPU backend
// can start exits 2 with one line saying what is missing (forced here by asking for
// headless-gl, whose optional `gl` addon is not installed on these machines); and where
// WebGPU runs (llvmpipe here), `logits --backend gpu` equals `--backend ts` within 1e-4.
import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeSyntheticModel } from "@llamats/engine";
import { isCI } from "@llamats/testkit";
import { llamats } from "./helpers/spawn.js";

describe("cli: --backend gpu and gpu-info", function () {
  let dir: string;
  let model: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llamats-gpu-cli-"));
    model = join(dir, "tiny.gguf");
    writeSyntheticModel(model, { shape: "tiny", type: "q8_0", seed: 3 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("without a usable GPU backend: exit 2 and one line naming what is missing", () => {
    const env = { ...process.env, LLAMATS_GPU_MODE: "headlessgl" };
    const r = llamats(["generate", "-m", model, "--backend", "gpu", "-p", "hi", "-n", "2"], undefined, env);
    expect(r.code).to.equal(2);
    const lines = r.err.split("\n").filter((l) => l.trim() !== "" && !/^Warning:|operator\(\)/.test(l.trim()));
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^llamats: backend "gpu": no GPU backend is available: headless-gl: the optional `gl` package/);
    expect(r.err).not.to.match(/\n\s+at /); // no stack trace
  });

  it("gpu-info --json describes the adapter, or exits 2 with one line", function () {
    const r = llamats(["gpu-info", "--json"]);
    if (r.code === 2 && !isCI()) {
      expect(r.err).to.match(/llamats: backend "gpu": no GPU backend is available/);
      this.skip();
    }
    expect(r.code).to.equal(0);
    const info = JSON.parse(r.out.trim());
    expect(info.mode).to.equal("webgpu");
    expect(info.adapter).to.be.a("string").and.not.equal("");
    expect(info.maxStorageBufferBindingSize).to.be.greaterThan(0);
  });

  it("logits --backend gpu equal --backend ts within 0.05 (Q8_0 activations vs f32)", function () {
    const ids = "1,20,30,40,50,60";
    const a = llamats(["logits", "-m", model, "--backend", "ts", "--ids", ids, "--out", join(dir, "ts.bin")]);
    expect(a.code, a.err).to.equal(0);
    const b = llamats(["logits", "-m", model, "--backend", "gpu", "--ids", ids, "--out", join(dir, "gpu.bin")]);
    if (b.code === 2 && !isCI()) this.skip();
    expect(b.code, b.err).to.equal(0);
    const x = new Float32Array(readFileSync(join(dir, "ts.bin")).buffer.slice(0));
    const y = new Float32Array(readFileSync(join(dir, "gpu.bin")).buffer.slice(0));
    expect(y.length).to.equal(x.length);
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
    this.test!.title += ` (max |Δ| ${worst.toExponential(2)})`;
    expect(worst).to.be.below(0.05);
  });
});
