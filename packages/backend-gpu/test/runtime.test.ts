// The WebGPU device is shared by every runtime (gpu.js keeps one per process): a runtime
// destroyed without waiting, while another is being created, must not take the device away
// from the new one (a model disposed, then the next one loaded at once).
import { expect } from "chai";
import { isCI } from "@llamats/testkit";
import { GpuRuntime } from "../src/index.js";

describe("backend-gpu runtime (webgpu)", function () {
  before(async function () {
    try {
      await (await GpuRuntime.create({ mode: "webgpu" })).destroy();
    } catch (err) {
      if (isCI()) throw err;
      this.test!.parent!.title += ` — skipped: ${(err as Error).message}`;
      this.skip();
    }
  });

  for (const gapMs of [0, 1, 5, 20]) {
    it(`a runtime created ${gapMs} ms into another's destroy keeps a working device`, async () => {
      const a = await GpuRuntime.create({ mode: "webgpu" });
      await a.read(await a.upload(Float32Array.of(9))); // the device is acquired
      const closing = a.destroy();
      await new Promise((r) => setTimeout(r, gapMs));
      const b = await GpuRuntime.create({ mode: "webgpu" });
      await b.read(await b.upload(Float32Array.of(0))); // b's kernels hold the device now
      await closing;
      await new Promise((r) => setTimeout(r, 20));
      const x = await b.read(await b.upload(Float32Array.of(1, 2, 3)));
      expect([...x]).to.deep.equal([1, 2, 3]);
      await b.destroy();
    });
  }
});
