// The values our restricted unpickler can produce. Python objects that a state dict is made
// of, and nothing that could run code: containers, scalars, and the two torch objects
// (storage references from persistent ids, tensors from _rebuild_tensor_v2).

import type { TorchDType } from "./types.js";

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array // bytes
  | PyTuple
  | PyList
  | PyDict
  | PyGlobal
  | TorchStorageRef
  | TorchTensorRef;

export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

export class PyList {
  constructor(readonly items: PyValue[]) {}
}

/** dict / OrderedDict: insertion order kept, a repeated key overwrites (as in Python). */
export class PyDict {
  readonly keys: PyValue[] = [];
  readonly values: PyValue[] = [];
  /** Attributes set by BUILD (torch's state_dict()._metadata lands here). */
  attrs: PyDict | null = null;
  private readonly index = new Map<string | number | boolean | null, number>();

  set(key: PyValue, value: PyValue): boolean {
    if (!isHashableScalar(key)) return false;
    const at = this.index.get(key);
    if (at === undefined) {
      this.index.set(key, this.keys.length);
      this.keys.push(key);
      this.values.push(value);
    } else this.values[at] = value;
    return true;
  }

  get(key: string): PyValue | undefined {
    const at = this.index.get(key);
    return at === undefined ? undefined : this.values[at];
  }

  get size(): number {
    return this.keys.length;
  }
}

function isHashableScalar(v: PyValue): v is string | number | boolean | null {
  return v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

/** A global that the allow-list admitted, e.g. torch._utils._rebuild_tensor_v2. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** ('storage', torch.HalfStorage, key, location, numel) persistent id, one per key. */
export class TorchStorageRef {
  constructor(
    readonly dtype: TorchDType,
    readonly key: string,
    readonly location: string,
    readonly numel: number,
  ) {}
}

/** torch._utils._rebuild_tensor_v2(storage, storageOffset, size, stride, requiresGrad, hooks). */
export class TorchTensorRef {
  constructor(
    readonly storage: TorchStorageRef,
    readonly storageOffset: number,
    readonly shape: readonly number[],
    readonly strides: readonly number[],
    readonly requiresGrad: boolean,
  ) {}
}
