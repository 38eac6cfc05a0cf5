import { expect } from "chai";
import { GGMLType, LlamatsError } from "@llamats/tensor";
import { createBackend, isBackendName } from "@llamats/engine";

describe("backends", () => {
  it("ts is the reference backend with the quantised kernels", async () => {
    const b = await createBackend("ts");
    try {
      expect(b.name).to.equal("reference");
      for (const t of [GGMLType.F32, GGMLType.F16, GGMLType.Q8_0, GGMLType.Q4_0]) expect(b.supports(t), String(t)).to.equal(true);
    } finally {
      b.dispose();
    }
  });
  it("auto always gives a working backend", async () => {
    const b = await createBackend("auto", { threads: 1 });
    try {
      const out = b.allocF32(2);
      const w = { type: GGMLType.F32, rows: 2, cols: 2, bytes: new Uint8Array(Float32Array.from([1, 2, 3, 4]).buffer) };
      const x = b.allocF32(2);
      x.set([1, 1]);
      const wb = b.allocBytes(16);
      wb.set(w.bytes);
      b.matmul(out, { ...w, bytes: wb }, x, 1);
      expect(Array.from(out)).to.deep.equal([3, 7]);
    } finally {
      b.dispose();
    }
  });
  it("gpu, unknown names and bad thread counts are LlamatsErrors", async () => {
    for (const [name, threads] of [["gpu", undefined], ["cuda", undefined], ["ts", 0]] as const) {
      await createBackend(name, { threads }).then(
        () => expect.fail(`${name} accepted`),
        (e) => expect(e).to.be.instanceOf(LlamatsError),
      );
    }
    expect(isBackendName("wasm")).to.equal(true);
    expect(isBackendName("cuda")).to.equal(false);
  });
});
