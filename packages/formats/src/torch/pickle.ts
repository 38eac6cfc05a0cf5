// A restricted unpickler for torch.save's `data.pkl` (pickle protocol 2; the binary opcodes
// of protocols 3-4 are understood too, since newer torch versions may emit them).
//
// Nothing is ever executed: a global resolves only if it is on the allow-list in
// pickle-globals.ts (the names a state dict is made of), and REDUCE only "calls" those, by
// building plain values. Any other global (os.system, builtins.eval, subprocess.Popen, ...) fails with a
// FormatError naming it and its offset in the pickle. Text-mode opcodes (protocol 0),
// NEWOBJ/INST/OBJ (arbitrary classes) and out-of-band buffers are rejected the same way.
// Bounded: every length is checked against the bytes left before anything is allocated,
// the memo, the mark depth and container nesting have limits, and LONG values are small.

import { FormatError } from "@llamats/tensor";
import { isAllowedGlobal, StateDictGlobals } from "./pickle-globals.js";
import { PyDict, PyGlobal, PyList, PyTuple, type PyValue } from "./pickle-values.js";

export interface UnpickleLimits {
  /** Largest pickle accepted, in bytes (a 65B state dict's data.pkl is ~60 KB). */
  maxBytes: number;
  /** Most memo entries. */
  maxMemo: number;
  /** Deepest nesting of MARKs and of containers. */
  maxDepth: number;
  /**
   * Values pushed in total (every opcode that produces a value, memo reads and DUP
   * included): bounds the items of all lists, tuples and dicts together, so a small pickle
   * that DUPs or memo-reads its way to a huge list fails before it allocates. Default 2^22.
   */
  maxValues?: number;
}

export const defaultUnpickleLimits: UnpickleLimits = { maxBytes: 64 << 20, maxMemo: 1 << 20, maxDepth: 100, maxValues: 1 << 22 };

/** Unpickle `bytes` (named `source` in errors, e.g. "model.bin:archive/data.pkl"). */
export function unpickle(bytes: Uint8Array, source: string, limits: UnpickleLimits = defaultUnpickleLimits): PyValue {
  return new Unpickler(bytes, source, limits).run();
}

class Unpickler {
  private pos = 0;
  private opAt = 0;
  private stack: PyValue[] = [];  // MARK positions are kept in `marks`, not on the stack
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PyValue>();
  private readonly depth = new WeakMap<object, number>();
  private readonly view: DataView;
  private readonly utf8 = new TextDecoder("utf-8", { fatal: true });
  private pushed = 0;
  private readonly maxValues: number;

  private readonly globals = new StateDictGlobals(
    (field, detail) => this.fail(field, detail),
    () => this.container(new PyDict(), []),
  );

  constructor(private readonly bytes: Uint8Array, private readonly source: string, private readonly limits: UnpickleLimits) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.maxValues = limits.maxValues ?? 1 << 22;
    if (bytes.length > limits.maxBytes) this.fail("pickle", `${bytes.length} bytes exceed the ${limits.maxBytes}-byte limit`, 0);
  }

  private fail(field: string, detail: string, offset = this.opAt): never {
    throw new FormatError(this.source, field, offset, detail);
  }

  private need(n: number, what: string): number {
    if (n < 0 || this.pos + n > this.bytes.length) {
      this.fail(what, `needs ${n} bytes, ${this.bytes.length - this.pos} left in the pickle`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }
  private u8(what: string): number {
    return this.bytes[this.need(1, what)];
  }
  private u16(what: string): number {
    return this.view.getUint16(this.need(2, what), true);
  }
  private u32(what: string): number {
    return this.view.getUint32(this.need(4, what), true);
  }
  private u64(what: string): number {
    const v = this.view.getBigUint64(this.need(8, what), true);
    if (v > BigInt(this.bytes.length)) this.fail(what, `length ${v} is past the end of the pickle`);
    return Number(v);
  }
  private raw(n: number, what: string): Uint8Array {
    const at = this.need(n, what);
    return this.bytes.slice(at, at + n);
  }
  private str(n: number, what: string): string {
    const at = this.need(n, what);
    try {
      return this.utf8.decode(this.bytes.subarray(at, at + n));
    } catch {
      this.fail(what, "string is not valid UTF-8", at);
    }
  }
  private latin1(n: number, what: string): string {
    const at = this.need(n, what);
    let s = "";
    for (let i = at; i < at + n; i++) s += String.fromCharCode(this.bytes[i]);
    return s;
  }
  private line(what: string): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0 || end - this.pos > 1024) this.fail(what, "unterminated or over-long line");
    const s = this.latin1(end - this.pos, what);
    this.pos++; // the newline
    return s;
  }

  private push(v: PyValue): void {
    if (++this.pushed > this.maxValues) this.fail("values", `more than ${this.maxValues} values pushed (maxValues)`);
    this.stack.push(v);
  }
  private pop(what: string): PyValue {
    if (this.stack.length === 0 || (this.marks.length > 0 && this.stack.length <= this.marks[this.marks.length - 1])) {
      this.fail(what, "stack underflow");
    }
    return this.stack.pop()!;
  }
  private top(what: string): PyValue {
    const floor = this.marks.length > 0 ? this.marks[this.marks.length - 1] : 0;
    if (this.stack.length <= floor) this.fail(what, "stack underflow");
    return this.stack[this.stack.length - 1];
  }
  /** Items pushed since the last MARK, removing them and the mark. */
  private popMark(what: string): PyValue[] {
    const m = this.marks.pop();
    if (m === undefined) this.fail(what, "no MARK to pop to");
    const items = this.stack.slice(m);
    this.stack.length = m;
    return items;
  }

  private depthOf(v: PyValue): number {
    return typeof v === "object" && v !== null ? (this.depth.get(v) ?? 0) : 0;
  }
  private container<T extends PyTuple | PyList | PyDict>(c: T, children: readonly PyValue[]): T {
    let d = 0;
    for (const x of children) d = Math.max(d, this.depthOf(x));
    this.setDepth(c, d + 1);
    return c;
  }
  private setDepth(c: object, d: number): void {
    if (d > this.limits.maxDepth) this.fail("nesting", `containers nested deeper than ${this.limits.maxDepth}`);
    this.depth.set(c, d);
  }
  private grow(c: PyList | PyDict, child: PyValue): void {
    const d = this.depthOf(child) + 1;
    if (d > this.depthOf(c)) this.setDepth(c, d);
  }

  private memoPut(index: number): void {
    if (!this.memo.has(index) && this.memo.size >= this.limits.maxMemo) {
      this.fail("memo", `more than ${this.limits.maxMemo} memo entries`);
    }
    this.memo.set(index, this.top("memo put"));
  }
  private memoGet(index: number): void {
    const v = this.memo.get(index);
    if (v === undefined) this.fail("memo get", `memo slot ${index} is empty`);
    this.push(v);
  }

  private setItems(dict: PyValue, items: PyValue[], what: string): void {
    if (!(dict instanceof PyDict)) this.fail(what, "target is not a dict");
    if (items.length % 2 !== 0) this.fail(what, "odd number of items");
    for (let i = 0; i < items.length; i += 2) {
      if (!dict.set(items[i], items[i + 1])) this.fail(what, "dict key is not a str/int/bool/None");
      this.grow(dict, items[i + 1]);
    }
  }

  private global(module: string, name: string, at: number): PyGlobal {
    if (!isAllowedGlobal(module, name)) {
      this.fail("pickle global", `global ${module}.${name} is not allowed (only state-dict globals are; nothing is executed)`, at);
    }
    return new PyGlobal(module, name);
  }

  run(): PyValue {
    for (;;) {
      this.opAt = this.pos;
      const op = this.u8("opcode");
      switch (op) {
        case 0x80: { // PROTO
          const v = this.u8("protocol");
          if (v > 5) this.fail("protocol", `pickle protocol ${v} is unknown`);
          break;
        }
        case 0x95: this.need(8, "frame"); break; // FRAME: framing is only a read-ahead hint
        case 0x2e: { // STOP
          const v = this.pop("STOP");
          if (this.stack.length !== 0 || this.marks.length !== 0) this.fail("STOP", "values left on the stack");
          return v;
        }
        case 0x28: // MARK
          if (this.marks.length >= this.limits.maxDepth) this.fail("MARK", `MARKs nested deeper than ${this.limits.maxDepth}`);
          this.marks.push(this.stack.length);
          break;
        case 0x30: this.pop("POP"); break;
        case 0x31: this.popMark("POP_MARK"); break;
        case 0x32: this.push(this.top("DUP")); break;
        case 0x4e: this.push(null); break; // NONE
        case 0x88: this.push(true); break; // NEWTRUE
        case 0x89: this.push(false); break; // NEWFALSE
        case 0x4a: this.push(this.view.getInt32(this.need(4, "BININT"), true)); break;
        case 0x4b: this.push(this.u8("BININT1")); break;
        case 0x4d: this.push(this.u16("BININT2")); break;
        case 0x8a: this.push(this.long(this.u8("LONG1 length"))); break;
        case 0x8b: {
          const n = this.u32("LONG4 length");
          if (n > 64) this.fail("LONG4", `${n}-byte integer is larger than any state dict needs`);
          this.push(this.long(n));
          break;
        }
        case 0x47: this.push(this.view.getFloat64(this.need(8, "BINFLOAT"), false)); break;
        case 0x58: this.push(this.str(this.u32("BINUNICODE length"), "BINUNICODE")); break;
        case 0x8c: this.push(this.str(this.u8("SHORT_BINUNICODE length"), "SHORT_BINUNICODE")); break;
        case 0x8d: this.push(this.str(this.u64("BINUNICODE8 length"), "BINUNICODE8")); break;
        case 0x54: this.push(this.latin1(this.i32len("BINSTRING length"), "BINSTRING")); break;
        case 0x55: this.push(this.latin1(this.u8("SHORT_BINSTRING length"), "SHORT_BINSTRING")); break;
        case 0x42: this.push(this.raw(this.u32("BINBYTES length"), "BINBYTES")); break;
        case 0x43: this.push(this.raw(this.u8("SHORT_BINBYTES length"), "SHORT_BINBYTES")); break;
        case 0x8e: this.push(this.raw(this.u64("BINBYTES8 length"), "BINBYTES8")); break;
        case 0x29: this.push(this.container(new PyTuple([]), [])); break; // EMPTY_TUPLE
        case 0x74: { // TUPLE
          const items = this.popMark("TUPLE");
          this.push(this.container(new PyTuple(items), items));
          break;
        }
        case 0x85: case 0x86: case 0x87: { // TUPLE1..3
          const n = op - 0x84;
          const items: PyValue[] = [];
          for (let i = 0; i < n; i++) items.unshift(this.pop(`TUPLE${n}`));
          this.push(this.container(new PyTuple(items), items));
          break;
        }
        case 0x5d: this.push(this.container(new PyList([]), [])); break; // EMPTY_LIST
        case 0x6c: { // LIST
          const items = this.popMark("LIST");
          this.push(this.container(new PyList(items), items));
          break;
        }
        case 0x61: { // APPEND
          const v = this.pop("APPEND");
          const list = this.top("APPEND");
          if (!(list instanceof PyList)) this.fail("APPEND", "target is not a list");
          list.items.push(v);
          this.grow(list, v);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.popMark("APPENDS");
          const list = this.top("APPENDS");
          if (!(list instanceof PyList)) this.fail("APPENDS", "target is not a list");
          for (const v of items) {
            list.items.push(v);
            this.grow(list, v);
          }
          break;
        }
        case 0x7d: this.push(this.container(new PyDict(), [])); break; // EMPTY_DICT
        case 0x64: { // DICT
          const items = this.popMark("DICT");
          const d = this.container(new PyDict(), []);
          this.setItems(d, items, "DICT");
          this.push(d);
          break;
        }
        case 0x73: { // SETITEM
          const v = this.pop("SETITEM");
          const k = this.pop("SETITEM");
          this.setItems(this.top("SETITEM"), [k, v], "SETITEM");
          break;
        }
        case 0x75: { // SETITEMS
          const items = this.popMark("SETITEMS");
          this.setItems(this.top("SETITEMS"), items, "SETITEMS");
          break;
        }
        case 0x71: this.memoPut(this.u8("BINPUT index")); break;
        case 0x72: this.memoPut(this.u32("LONG_BINPUT index")); break;
        case 0x94: this.memoPut(this.memo.size); break; // MEMOIZE
        case 0x68: this.memoGet(this.u8("BINGET index")); break;
        case 0x6a: this.memoGet(this.u32("LONG_BINGET index")); break;
        case 0x63: { // GLOBAL "module\nname\n"
          const module = this.line("GLOBAL module");
          const name = this.line("GLOBAL name");
          this.push(this.global(module, name, this.opAt));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.pop("STACK_GLOBAL");
          const module = this.pop("STACK_GLOBAL");
          if (typeof module !== "string" || typeof name !== "string") this.fail("STACK_GLOBAL", "module and name must be str");
          this.push(this.global(module, name, this.opAt));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.pop("REDUCE");
          const fn = this.pop("REDUCE");
          this.push(this.globals.reduce(fn, args));
          break;
        }
        case 0x62: { // BUILD: only dict state on a dict (state_dict()._metadata)
          const state = this.pop("BUILD");
          const target = this.top("BUILD");
          if (!(target instanceof PyDict) || !(state instanceof PyDict || state === null)) {
            this.fail("BUILD", "only a dict's attribute dict can be set");
          }
          target.attrs = state;
          break;
        }
        case 0x51: { // BINPERSID
          const pid = this.pop("BINPERSID");
          this.push(this.globals.persistentLoad(pid));
          break;
        }
        default:
          this.fail("opcode", `opcode 0x${op.toString(16).padStart(2, "0")} (${opcodeName(op)}) is not accepted in a state dict`);
      }
    }
  }

  private i32len(what: string): number {
    const n = this.view.getInt32(this.need(4, what), true);
    if (n < 0) this.fail(what, `negative length ${n}`);
    return n;
  }

  private long(n: number): number | bigint {
    const b = this.bytes.subarray(this.need(n, "LONG"), this.pos);
    if (n === 0) return 0;
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b[n - 1] & 0x80) v -= 1n << BigInt(8 * n); // two's complement
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
}

function opcodeName(op: number): string {
  const names: Record<number, string> = {
    0x46: "FLOAT", 0x49: "INT", 0x4c: "LONG", 0x50: "PERSID", 0x53: "STRING", 0x56: "UNICODE",
    0x67: "GET", 0x69: "INST", 0x6f: "OBJ", 0x70: "PUT", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2",
    0x84: "EXT4", 0x8f: "EMPTY_SET", 0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX",
    0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
  };
  return names[op] ?? "unknown";
}
