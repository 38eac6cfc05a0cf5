import { expect } from "chai";
import fc from "fast-check";
import { FuncBuilder, ModuleBuilder, ValType, kernelModuleBytes } from "@llamats/kernels";

function instantiate(m: ModuleBuilder, pages = 1): { exports: Record<string, (...a: number[]) => number>; memory: WebAssembly.Memory } {
  const bytes = m.encode();
  expect(WebAssembly.validate(bytes)).to.equal(true);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: 16, shared: true });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  return { exports: inst.exports as never, memory };
}

describe("kernels/wasm emitter", () => {
  it("emits a valid module that computes integer and float scalars", () => {
    const m = new ModuleBuilder({ module: "env", field: "memory", minPages: 1, maxPages: 16, shared: true });
    const add = m.func("add", [ValType.i32, ValType.i32], [ValType.i32]);
    add.get(0).get(1).op("i32_add");
    const fma = m.func("fma", [ValType.f32, ValType.f32, ValType.f32], [ValType.f32]);
    fma.get(0).get(1).op("f32_mul").get(2).op("f32_add");
    // sum of n i32 at address p, with a loop
    const sum = m.func("sum", [ValType.i32, ValType.i32], [ValType.i32]);
    const i = sum.local(ValType.i32);
    const acc = sum.local(ValType.i32);
    sum.forRange(i, () => sum.i32(0), 1, 1, () => {
      sum.get(acc).get(0).get(i).i32(2).op("i32_shl").op("i32_add").mem("i32_load").op("i32_add").set(acc);
    });
    sum.get(acc);
    const { exports, memory } = instantiate(m);
    fc.assert(fc.property(fc.integer(), fc.integer(), (a, b) => exports.add!(a, b) === ((a + b) | 0)));
    expect(exports.fma!(1.5, 2, 0.25)).to.equal(3.25);
    const v = new Int32Array(memory.buffer, 64, 10);
    v.set([1, -2, 3, 4, 5, 6, 7, 8, 9, 1000000]);
    expect(exports.sum!(64, 10)).to.equal(1000041);
    expect(exports.sum!(64, 0)).to.equal(0);
  });

  it("SIMD: i32x4.dot_i16x8_s of widened i8 and f32x4 arithmetic match scalar math", () => {
    const m = new ModuleBuilder({ module: "env", field: "memory", minPages: 1, maxPages: 16, shared: true });
    // dot8(pa, pb): sum_{k<8} a_k * b_k for i8 a, b (load8x8_s, dot, horizontal add)
    const f = m.func("dot8", [ValType.i32, ValType.i32], [ValType.i32]);
    const t = f.local(ValType.v128);
    f.get(0).vmem("i16x8_load8x8_s").get(1).vmem("i16x8_load8x8_s").v("i32x4_dot_i16x8_s").set(t);
    for (let l = 0; l < 4; l++) f.get(t).lane("i32x4_extract_lane", l);
    f.op("i32_add").op("i32_add").op("i32_add");
    // axpy4(px, py, a): y[0..4) = a*x + y
    const g = m.func("axpy4", [ValType.i32, ValType.i32, ValType.f32]);
    g.get(1).get(0).vmem("v128_load").get(2).v("f32x4_splat").v("f32x4_mul").get(1).vmem("v128_load").v("f32x4_add").vmem("v128_store");
    const { exports, memory } = instantiate(m);
    const bytes = new Int8Array(memory.buffer);
    fc.assert(fc.property(fc.array(fc.integer({ min: -128, max: 127 }), { minLength: 16, maxLength: 16 }), (vals) => {
      bytes.set(vals, 0);
      let want = 0;
      for (let k = 0; k < 8; k++) want += vals[k]! * vals[8 + k]!;
      return exports.dot8!(0, 8) === want;
    }));
    const fv = new Float32Array(memory.buffer, 128, 8);
    fv.set([1, 2, 3, 4, 10, 20, 30, 40]);
    exports.axpy4!(128, 144, 0.5);
    expect([...fv.subarray(4)]).to.deep.equal([10.5, 21, 31.5, 42]);
  });

  it("the kernel module is deterministic and validates", () => {
    const a = kernelModuleBytes();
    const b = kernelModuleBytes();
    expect(Buffer.from(a).equals(Buffer.from(b))).to.equal(true);
    expect(WebAssembly.validate(a)).to.equal(true);
  });

  it("refuses malformed immediates", () => {
    const f = new FuncBuilder([], []);
    expect(() => f.v128Bytes([1, 2, 3])).to.throw(RangeError);
    expect(() => f.shuffle([0])).to.throw(RangeError);
    expect(() => f.param(0)).to.throw(RangeError);
  });
});
