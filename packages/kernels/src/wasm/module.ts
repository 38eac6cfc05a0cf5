// A small typed assembler for WebAssembly modules: function bodies are written with
// chainable, stack-machine methods (`f.get(a).get(b).op("i32_add")`), and the module
// builder lays out the type, import, function, export and code sections (spec §5.5).
// Scope: one imported memory (optionally shared), no tables, globals or data segments;
// that is all our kernels need.

import { f32le, name, section, sleb, uleb, vec } from "./encoding.js";
import { Op, Simd, ValType, type SimdOp } from "./opcodes.js";

export type Local = number;
type CoreOp = keyof typeof Op;

/** Alignment hint (log2 bytes) by access width; unaligned accesses stay legal. */
const alignLog2 = { 1: 0, 2: 1, 4: 2, 8: 3, 16: 4 } as const;

export class FuncBuilder {
  readonly bytes: number[] = [];
  private readonly localTypes: ValType[] = [];

  constructor(
    readonly params: readonly ValType[],
    readonly results: readonly ValType[],
  ) {}

  /** Index of parameter i. */
  param(i: number): Local {
    if (i < 0 || i >= this.params.length) throw new RangeError(`no parameter ${i}`);
    return i;
  }

  /** Declare a new local of type t. */
  local(t: ValType): Local {
    this.localTypes.push(t);
    return this.params.length + this.localTypes.length - 1;
  }

  raw(...b: number[]): this {
    for (const x of b) this.bytes.push(x);
    return this;
  }
  op(o: CoreOp): this {
    return this.raw(Op[o]);
  }
  get(l: Local): this {
    return this.raw(Op.local_get, ...uleb(l));
  }
  set(l: Local): this {
    return this.raw(Op.local_set, ...uleb(l));
  }
  tee(l: Local): this {
    return this.raw(Op.local_tee, ...uleb(l));
  }
  i32(n: number): this {
    return this.raw(Op.i32_const, ...sleb(n));
  }
  f32(x: number): this {
    return this.raw(Op.f32_const, ...f32le(x));
  }
  /** Memory access with a static byte offset. */
  mem(o: "i32_load" | "f32_load" | "i32_load8_s" | "i32_load8_u" | "i32_load16_s" | "i32_load16_u" | "i32_store" | "f32_store" | "i32_store8" | "i32_store16", offset = 0): this {
    const width = o.includes("8") ? 1 : o.includes("16") ? 2 : 4;
    return this.raw(Op[o], alignLog2[width], ...uleb(offset));
  }
  /** A SIMD instruction without immediates. */
  v(o: SimdOp): this {
    return this.raw(0xfd, ...uleb(Simd[o]));
  }
  /** SIMD load/store with a static offset (v128_load, v128_store, load8x8, splats). */
  vmem(o: "v128_load" | "v128_store" | "i16x8_load8x8_s" | "i16x8_load8x8_u" | "i32x4_load16x4_s" | "i32x4_load16x4_u" | "v128_load32_splat" | "v128_load64_splat", offset = 0): this {
    const width = o === "v128_load" || o === "v128_store" ? 16 : o === "v128_load32_splat" ? 4 : 8;
    return this.raw(0xfd, ...uleb(Simd[o]), alignLog2[width], ...uleb(offset));
  }
  /** Lane extract/replace with a lane immediate. */
  lane(o: "i32x4_extract_lane" | "f32x4_extract_lane" | "i32x4_replace_lane" | "f32x4_replace_lane", laneIndex: number): this {
    return this.raw(0xfd, ...uleb(Simd[o]), laneIndex);
  }
  /** v128.const from 16 bytes. */
  v128Bytes(bytes: readonly number[]): this {
    if (bytes.length !== 16) throw new RangeError("v128.const needs 16 bytes");
    return this.raw(0xfd, ...uleb(Simd.v128_const), ...bytes.map((b) => b & 0xff));
  }
  /** v128.const with every byte equal to b. */
  v128Splat8(b: number): this {
    return this.v128Bytes(new Array<number>(16).fill(b));
  }
  /** i8x16.shuffle of the two v128 on the stack. */
  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16) throw new RangeError("shuffle needs 16 lanes");
    return this.raw(0xfd, ...uleb(Simd.i8x16_shuffle), ...lanes);
  }
  /** Structured control: `block`/`loop`, body emitted by fn, then `end`. */
  block(fn: () => void): this {
    this.raw(Op.block, 0x40);
    fn();
    return this.raw(Op.end);
  }
  loop(fn: () => void): this {
    this.raw(Op.loop, 0x40);
    fn();
    return this.raw(Op.end);
  }
  if(fn: () => void, elseFn?: () => void): this {
    this.raw(Op.if, 0x40);
    fn();
    if (elseFn) {
      this.raw(Op.else);
      elseFn();
    }
    return this.raw(Op.end);
  }
  /** memory.copy (bulk memory): dst, src, n on the stack. */
  memoryCopy(): this {
    return this.raw(0xfc, 10, 0, 0);
  }
  /** Call function `index` of the module (ModuleBuilder.indexOf). */
  call(index: number): this {
    return this.raw(Op.call, ...uleb(index));
  }
  br(depth: number): this {
    return this.raw(Op.br, ...uleb(depth));
  }
  brIf(depth: number): this {
    return this.raw(Op.br_if, ...uleb(depth));
  }
  /**
   * `for (i = start; i < end; i += step)` where start/end/step are emitted by callbacks.
   * The body must not branch out except through nested structures of its own.
   */
  forRange(i: Local, start: () => void, end: Local, step: number, body: () => void): this {
    start();
    this.set(i);
    this.block(() => {
      this.get(i).get(end).op("i32_ge_s").brIf(0);
      this.loop(() => {
        body();
        this.get(i).i32(step).op("i32_add").tee(i).get(end).op("i32_lt_s").brIf(0);
      });
    });
    return this;
  }

  /** The function body: local declarations (run-length by type) + code + end. */
  encodeBody(): number[] {
    const groups: number[][] = [];
    for (let i = 0; i < this.localTypes.length; ) {
      let j = i;
      while (j < this.localTypes.length && this.localTypes[j] === this.localTypes[i]) j++;
      groups.push([...uleb(j - i), this.localTypes[i]!]);
      i = j;
    }
    const body = [...vec(groups), ...this.bytes, Op.end];
    return [...uleb(body.length), ...body];
  }
}

export interface MemoryImport {
  readonly module: string;
  readonly field: string;
  readonly minPages: number;
  readonly maxPages: number;
  readonly shared: boolean;
}

export class ModuleBuilder {
  private readonly funcs: { name: string; f: FuncBuilder }[] = [];

  constructor(private readonly memory: MemoryImport) {}

  /** Add an exported function; returns its builder. */
  func(exportName: string, params: ValType[], results: ValType[] = []): FuncBuilder {
    const f = new FuncBuilder(params, results);
    this.funcs.push({ name: exportName, f });
    return f;
  }

  /** Function index of an export added earlier (for `call`). */
  indexOf(exportName: string): number {
    const i = this.funcs.findIndex((x) => x.name === exportName);
    if (i < 0) throw new RangeError(`no function ${exportName}`);
    return i;
  }

  encode(): Uint8Array<ArrayBuffer> {
    const types = this.funcs.map(({ f }) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))]);
    const m = this.memory;
    const limits = m.shared ? [0x03, ...uleb(m.minPages), ...uleb(m.maxPages)] : [0x01, ...uleb(m.minPages), ...uleb(m.maxPages)];
    const imports = vec([[...name(m.module), ...name(m.field), 0x02, ...limits]]);
    const funcIdx = vec(this.funcs.map((_, i) => uleb(i)));
    // Function indices start after imported functions (none), so export i = function i.
    const exports = vec(this.funcs.map(({ name: n }, i) => [...name(n), 0x00, ...uleb(i)]));
    const code = vec(this.funcs.map(({ f }) => f.encodeBody()));
    const bytes = [
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      ...section(1, vec(types)),
      ...section(2, imports),
      ...section(3, funcIdx),
      ...section(7, exports),
      ...section(10, code),
    ];
    return new Uint8Array(bytes);
  }
}

export { ValType };
