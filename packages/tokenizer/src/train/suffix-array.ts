// The substrings SentencePiece's unigram trainer takes its seed pieces from: the internal
// nodes of the suffix tree of the corpus, as esaxx (third_party/esaxx/esa.hxx) enumerates
// them from the suffix array and the LCP array — every substring that occurs at least twice
// and is right-branching, with its number of occurrences, in esaxx's order (a node is
// emitted when the LCP drops below its depth; deeper nodes first).

/**
 * Suffix array of `t` (shorter suffix first when one is a prefix of another), in linear time
 * by induced sorting (SA-IS, Nong, Zhang and Chan 2009) as esaxx's sais does: characters
 * are renumbered from 1 and a unique 0 sentinel is appended, then dropped.
 */
export function suffixArray(t: Int32Array): Int32Array {
  const n = t.length;
  if (n === 0) return new Int32Array(0);
  const distinct = [...new Set(t)].sort((a, b) => a - b);
  const code = new Map<number, number>();
  distinct.forEach((c, i) => code.set(c, i + 1));
  const s = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) s[i] = code.get(t[i])!;
  return sais(s, distinct.length + 1).subarray(1);
}

/** SA-IS over s[0..n) with values in [0, k) and s[n-1] = 0 the unique smallest. */
function sais(s: Int32Array, k: number): Int32Array {
  const n = s.length;
  const sa = new Int32Array(n).fill(-1);
  if (n === 1) {
    sa[0] = 0;
    return sa;
  }
  const stype = new Uint8Array(n); // 1: S-type, 0: L-type
  stype[n - 1] = 1;
  for (let i = n - 2; i >= 0; i--) stype[i] = s[i] < s[i + 1] || (s[i] === s[i + 1] && stype[i + 1] === 1) ? 1 : 0;
  const isLms = (i: number): boolean => i > 0 && stype[i] === 1 && stype[i - 1] === 0;
  const counts = new Int32Array(k);
  for (let i = 0; i < n; i++) counts[s[i]]++;
  const bucket = new Int32Array(k);
  const starts = (): void => {
    let sum = 0;
    for (let c = 0; c < k; c++) {
      bucket[c] = sum;
      sum += counts[c];
    }
  };
  const ends = (): void => {
    let sum = 0;
    for (let c = 0; c < k; c++) {
      sum += counts[c];
      bucket[c] = sum;
    }
  };
  const induce = (): void => {
    starts();
    for (let j = 0; j < n; j++) {
      const i = sa[j] - 1;
      if (sa[j] > 0 && stype[i] === 0) sa[bucket[s[i]]++] = i;
    }
    ends();
    for (let j = n - 1; j >= 0; j--) {
      const i = sa[j] - 1;
      if (sa[j] > 0 && stype[i] === 1) sa[--bucket[s[i]]] = i;
    }
  };

  // 1. sort the LMS substrings
  ends();
  for (let i = n - 1; i >= 1; i--) if (stype[i] === 1 && stype[i - 1] === 0) sa[--bucket[s[i]]] = i;
  induce();
  let n1 = 0;
  for (let j = 0; j < n; j++) {
    const i = sa[j];
    if (i > 0 && stype[i] === 1 && stype[i - 1] === 0) sa[n1++] = i;
  }
  // 2. name them; equal LMS substrings share a name
  sa.fill(-1, n1);
  let name = 0;
  let prev = -1;
  for (let j = 0; j < n1; j++) {
    const pos = sa[j];
    let diff = false;
    for (let d = 0; d < n; d++) {
      if (prev === -1 || s[pos + d] !== s[prev + d] || stype[pos + d] !== stype[prev + d]) {
        diff = true;
        break;
      } else if (d > 0 && (isLms(pos + d) || isLms(prev + d))) break;
    }
    if (diff) {
      name++;
      prev = pos;
    }
    sa[n1 + (pos >> 1)] = name - 1;
  }
  let w = n - 1;
  for (let j = n - 1; j >= n1; j--) if (sa[j] >= 0) sa[w--] = sa[j];
  const s1 = sa.slice(n - n1, n);
  let sa1: Int32Array;
  if (name < n1) sa1 = sais(s1, name);
  else {
    sa1 = new Int32Array(n1);
    for (let i = 0; i < n1; i++) sa1[s1[i]] = i;
  }
  // 3. place the LMS suffixes in their sorted order, induce the rest
  const lms = new Int32Array(n1);
  let q = 0;
  for (let i = 1; i < n; i++) if (stype[i] === 1 && stype[i - 1] === 0) lms[q++] = i;
  sa.fill(-1);
  ends();
  for (let i = n1 - 1; i >= 0; i--) {
    const pos = lms[sa1[i]];
    sa[--bucket[s[pos]]] = pos;
  }
  induce();
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
  // at most n internal nodes
  const left = new Int32Array(n + 1);
  const right = new Int32Array(n + 1);
  const depth = new Int32Array(n + 1);
  let count = 0;
  const stackFirst: number[] = [-1];
  const stackDepth: number[] = [-1];
  for (let i = 0; ; i++) {
    let curFirst = i;
    const curDepth = i === n ? -1 : h[i];
    let top = stackFirst.length - 1;
    while (stackDepth[top] > curDepth) {
      if (i - stackFirst[top] > 1) {
        left[count] = stackFirst[top];
        right[count] = i;
        depth[count++] = stackDepth[top];
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
  return { left, right, depth, count, sa };
}
