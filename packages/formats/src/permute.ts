// The Q/K row permutation between Hugging Face's rotate-half RoPE layout and the
// interleaved layout of Meta checkpoints, llama2.c and GGUF (llama.cpp's permute() in
// convert_hf_to_gguf.py; CHINESE-LLAMA-ALPACA.md §3.3). Within each head of headDim rows:
//   interleaved[h*hd + 2i + s] = hf[h*hd + s*hd/2 + i]   for s in {0, 1}, i < hd/2.
// It moves whole rows, so it works on raw bytes of any dtype (quantised rows included).
// For attn_k use the KV head count (GQA).

export type QkDirection = "hfToInterleaved" | "interleavedToHf";

/** Row permutation of a (rows, rowBytes) matrix with `nHeads` heads; returns a new array. */
export function permuteQkRows(src: Uint8Array, rows: number, nHeads: number, direction: QkDirection, dst: Uint8Array = new Uint8Array(src.length)): Uint8Array {
  if (rows % nHeads !== 0) throw new RangeError(`Q/K permutation: ${rows} rows are not a multiple of ${nHeads} heads`);
  const headDim = rows / nHeads;
  if (headDim % 2 !== 0) throw new RangeError(`Q/K permutation: head dimension ${headDim} is odd`);
  if (src.length % rows !== 0) throw new RangeError(`Q/K permutation: ${src.length} bytes are not ${rows} whole rows`);
  const rowBytes = src.length / rows;
  const half = headDim / 2;
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < half; i++) {
      for (let s = 0; s < 2; s++) {
        const inter = h * headDim + 2 * i + s;
        const hf = h * headDim + s * half + i;
        const [from, to] = direction === "hfToInterleaved" ? [hf, inter] : [inter, hf];
        dst.set(src.subarray(from * rowBytes, (from + 1) * rowBytes), to * rowBytes);
      }
    }
  }
  return dst;
}
