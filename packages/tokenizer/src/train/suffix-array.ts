// The substrings SentencePiece's unigram trainer takes its seed pieces from: the internal
// nodes of the suffix tree of the corpus, as esaxx (third_party/esaxx/esa.hxx) enumerates
// them from the suffix array and the LCP array — every substring that occurs at least twice
// and is right-branching, with its number of occurrences, in esaxx's order (a node is
// emitted when the LCP drops below its depth; deeper nodes first).

/** Suffix array of `t` (shorter suffix first when one is a prefix of another), by prefix doubling. */
export function suffixArray(t: Int32Array): Int32Array {
  const n = t.length;
  const sa = new Int32Array(n);
  if (n === 0) return sa;
  let rank = new Int32Array(n);
  let tmp = new Int32Array(n);
  // initial ranks: characters, compressed
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => t[a] - t[b] || a - b);
  let r = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0 && t[order[i]] !== t[order[i - 1]]) r++;
    rank[order[i]] = r;
    sa[i] = order[i];
  }
  let classes = r + 1;
  const cnt = new Int32Array(Math.max(n, classes) + 2);
  const sa2 = new Int32Array(n);
  for (let k = 1; classes < n; k <<= 1) {
    // sort by (rank[i], rank[i + k]) where a missing second key (-1) sorts first
    let p = 0;
    for (let i = n - k; i < n; i++) sa2[p++] = i;
    for (let i = 0; i < n; i++) if (sa[i] >= k) sa2[p++] = sa[i] - k;
    cnt.fill(0, 0, classes + 1);
    for (let i = 0; i < n; i++) cnt[rank[i]]++;
    for (let i = 1; i < classes; i++) cnt[i] += cnt[i - 1];
    for (let i = n - 1; i >= 0; i--) sa[--cnt[rank[sa2[i]]]] = sa2[i];
    tmp[sa[0]] = 0;
    r = 0;
    for (let i = 1; i < n; i++) {
      const a = sa[i - 1];
      const b = sa[i];
      const ra = a + k < n ? rank[a + k] : -1;
      const rb = b + k < n ? rank[b + k] : -1;
      if (rank[a] !== rank[b] || ra !== rb) r++;
      tmp[b] = r;
    }
    [rank, tmp] = [tmp, rank];
    classes = r + 1;
  }
  return sa;
}

export interface SubstringNodes {
  /** Per node: start of its interval in the suffix array, its end, its depth (length). */
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly depth: Int32Array;
  readonly count: number;
  readonly sa: Int32Array;
}

/** esaxx's suffixtree(): internal nodes in its emission order. */
export function substringNodes(t: Int32Array): SubstringNodes {
  const n = t.length;
  const sa = suffixArray(t);
  // LCP of each suffix with the one before it in the suffix array (Kasai)
  const rank = new Int32Array(n);
  for (let i = 0; i < n; i++) rank[sa[i]] = i;
  const h = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (rank[i] === 0) {
      k = 0;
      continue;
    }
    const j = sa[rank[i] - 1];
    while (i + k < n && j + k < n && t[i + k] === t[j + k]) k++;
    h[rank[i]] = k;
    if (k > 0) k--;
  }
  if (n > 0) h[0] = -1;
  const left: number[] = [];
  const right: number[] = [];
  const depth: number[] = [];
  const stackFirst: number[] = [-1];
  const stackDepth: number[] = [-1];
  for (let i = 0; ; i++) {
    let curFirst = i;
    const curDepth = i === n ? -1 : h[i];
    let top = stackFirst.length - 1;
    while (stackDepth[top] > curDepth) {
      if (i - stackFirst[top] > 1) {
        left.push(stackFirst[top]);
        right.push(i);
        depth.push(stackDepth[top]);
      }
      curFirst = stackFirst[top];
      stackFirst.pop();
      stackDepth.pop();
      top--;
    }
    if (stackDepth[top] < curDepth) {
      stackFirst.push(curFirst);
      stackDepth.push(curDepth);
    }
    if (i === n) break;
    stackFirst.push(i);
    stackDepth.push(n - sa[i] + 1);
  }
  return { left: Int32Array.from(left), right: Int32Array.from(right), depth: Int32Array.from(depth), count: left.length, sa };
}
