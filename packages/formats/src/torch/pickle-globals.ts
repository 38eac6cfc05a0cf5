// What a state-dict pickle may reference, and what "calling" it means. The allow-list of
// globals, REDUCE on each of them (building plain values, never running code), and torch's
// persistent ids for storages. Used by the unpickler in pickle.ts.

import { dtypeOfStorageClass } from "./dtype.js";
import { PyDict, PyGlobal, PyTuple, TorchStorageRef, TorchTensorRef, type PyValue } from "./pickle-values.js";

/** Globals a state dict may reference (module + " " + name, as the GLOBAL opcode has them). */
const ALLOWED_CALLABLES = new Set([
  "collections OrderedDict",
  "torch._utils _rebuild_tensor_v2",
  "torch._utils _rebuild_parameter",
  "torch Size",
  "_codecs encode",
]);

export function isAllowedGlobal(module: string, name: string): boolean {
  if (ALLOWED_CALLABLES.has(`${module} ${name}`)) return true;
  return module === "torch" && dtypeOfStorageClass(name) !== undefined;
}

export class StateDictGlobals {
  private readonly storages = new Map<string, TorchStorageRef>();

  constructor(
    /** Throws a FormatError at the current opcode. */
    private readonly fail: (field: string, detail: string) => never,
    /** A new, depth-tracked dict. */
    private readonly newDict: () => PyDict,
  ) {}

  /** REDUCE: "call" an allowed global by building the plain value it would return. */
  reduce(fn: PyValue, args: PyValue): PyValue {
    if (!(fn instanceof PyGlobal)) this.fail("REDUCE", "callable is not an allowed global");
    if (!(args instanceof PyTuple)) this.fail("REDUCE", `arguments of ${fn.qualified} are not a tuple`);
    const a = args.items;
    switch (`${fn.module} ${fn.name}`) {
      case "collections OrderedDict":
        if (a.length !== 0) this.fail("REDUCE", "OrderedDict with arguments");
        return this.newDict();
      case "torch Size": {
        const dims = a[0];
        if (a.length !== 1 || !(dims instanceof PyTuple)) this.fail("REDUCE", "torch.Size needs one tuple");
        return dims;
      }
      case "_codecs encode": {
        const [s, enc] = a;
        if (typeof s !== "string" || (enc !== "latin1" && enc !== "latin-1")) {
          this.fail("REDUCE", "_codecs.encode is only accepted for (str, 'latin1')");
        }
        const out = new Uint8Array(s.length);
        for (let i = 0; i < s.length; i++) {
          const c = s.charCodeAt(i);
          if (c > 0xff) this.fail("REDUCE", "latin1 string holds a character above U+00FF");
          out[i] = c;
        }
        return out;
      }
      case "torch._utils _rebuild_tensor_v2":
        return this.rebuildTensor(a);
      case "torch._utils _rebuild_parameter": {
        const t = a[0];
        if (!(t instanceof TorchTensorRef)) this.fail("REDUCE", "_rebuild_parameter of a non-tensor");
        return t;
      }
      default:
        this.fail("REDUCE", `${fn.qualified} cannot be called`);
    }
  }

  private rebuildTensor(a: readonly PyValue[]): TorchTensorRef {
    if (a.length < 6 || a.length > 7) this.fail("_rebuild_tensor_v2", `${a.length} arguments, expected 6 or 7`);
    const [storage, offset, size, stride, requiresGrad] = a;
    if (!(storage instanceof TorchStorageRef)) this.fail("_rebuild_tensor_v2", "first argument is not a storage");
    const shape = this.intTuple(size, "size");
    const strides = this.intTuple(stride, "stride");
    if (shape.length !== strides.length) this.fail("_rebuild_tensor_v2", `size has ${shape.length} dims, stride ${strides.length}`);
    if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) {
      this.fail("_rebuild_tensor_v2", `storage offset ${String(offset)} is not a non-negative integer`);
    }
    if (typeof requiresGrad !== "boolean") this.fail("_rebuild_tensor_v2", "requires_grad is not a bool");
    return new TorchTensorRef(storage, offset, shape, strides, requiresGrad);
  }

  private intTuple(v: PyValue | undefined, what: string): number[] {
    if (!(v instanceof PyTuple)) this.fail("_rebuild_tensor_v2", `${what} is not a tuple`);
    if (v.items.length > 32) this.fail("_rebuild_tensor_v2", `${what} has ${v.items.length} dims`);
    return v.items.map((x) => {
      if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0) {
        this.fail("_rebuild_tensor_v2", `${what} holds ${String(x)}, not a non-negative integer`);
      }
      return x;
    });
  }

  /** BINPERSID: the storage a persistent id names (one object per key). */
  persistentLoad(pid: PyValue): TorchStorageRef {
    if (!(pid instanceof PyTuple) || pid.items.length !== 5 || pid.items[0] !== "storage") {
      this.fail("BINPERSID", "persistent id is not ('storage', type, key, location, numel)");
    }
    const [, cls, key, location, numel] = pid.items;
    const dtype = cls instanceof PyGlobal && cls.module === "torch" ? dtypeOfStorageClass(cls.name) : undefined;
    if (!dtype) this.fail("BINPERSID", "storage type is not a torch.*Storage class");
    if (typeof key !== "string") this.fail("BINPERSID", `storage key is a ${key === null ? "None" : typeof key}, not a str`); // JSON.stringify would throw on a bigint
    if (!/^[A-Za-z0-9_]{1,64}$/.test(key)) this.fail("BINPERSID", `storage key ${JSON.stringify(key)} is not a plain name`);
    if (typeof location !== "string") this.fail("BINPERSID", "location is not a str");
    if (typeof numel !== "number" || !Number.isSafeInteger(numel) || numel < 0) {
      this.fail("BINPERSID", `numel ${String(numel)} is not a non-negative integer`);
    }
    const prev = this.storages.get(key);
    if (prev) {
      if (prev.dtype !== dtype || prev.numel !== numel) this.fail("BINPERSID", `storage ${key} reappears with another type or size`);
      return prev;
    }
    const s = new TorchStorageRef(dtype, key, location, numel);
    this.storages.set(key, s);
    return s;
  }
}
