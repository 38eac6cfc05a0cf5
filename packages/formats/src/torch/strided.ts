// Strided views over a storage, as torch describes tensors: element [i0, i1, ...] sits at
// storageOffset + sum(i_k * stride_k). Reading a view contiguously gathers those elements
// in row-major order (the last dimension fastest).

/** Row-major strides (in elements) of a dense tensor of this shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** Whether a view is laid out row-major without gaps (size-1 dimensions' strides don't matter). */
export function isContiguous(shape: readonly number[], strides: readonly number[]): boolean {
  let expect = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 0) return true;
    if (shape[i] !== 1 && strides[i] !== expect) return false;
    expect *= shape[i];
  }
  return true;
}

/**
 * out (prod(shape) elements, row-major) <- the elements of `span` at sum(i_k * strides[k]),
 * `span` starting at the view's first element. Runs along a unit-stride last dimension are
 * copied as one block.
 */
export function gatherStrided(out: Uint8Array, span: Uint8Array, shape: readonly number[],
  strides: readonly number[], elementBytes: number): void {
  const nd = shape.length;
  if (nd === 0) {
    out.set(span.subarray(0, elementBytes));
    return;
  }
  const inner = shape[nd - 1];
  const innerStride = strides[nd - 1];
  const outer = shape.slice(0, nd - 1);
  let rows = 1;
  for (const d of outer) rows *= d;
  if (rows === 0 || inner === 0) return;
  const idx = new Array<number>(outer.length).fill(0);
  let dst = 0;
  for (let r = 0; r < rows; r++) {
    let base = 0;
    for (let k = 0; k < outer.length; k++) base += idx[k] * strides[k];
    if (innerStride === 1) {
      out.set(span.subarray(base * elementBytes, (base + inner) * elementBytes), dst);
      dst += inner * elementBytes;
    } else {
      for (let j = 0; j < inner; j++) {
        const src = (base + j * innerStride) * elementBytes;
        for (let b = 0; b < elementBytes; b++) out[dst++] = span[src + b];
      }
    }
    for (let k = outer.length - 1; k >= 0; k--) {
      if (++idx[k] < outer[k]) break;
      idx[k] = 0;
    }
  }
}
