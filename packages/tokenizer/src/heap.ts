// The BPE agenda: a binary max-heap of candidate merges, ordered as SentencePiece's
// SymbolPairComparator: higher score first, then smaller left symbol index (leftmost).
// Entries live in parallel typed arrays that grow by doubling; no per-entry objects.

export class PairHeap {
  // (capacity) per entry: score, left symbol index, right symbol index, merged length
  private score = new Float64Array(64);
  private left = new Int32Array(64);
  private right = new Int32Array(64);
  private size = new Int32Array(64);
  private heap = new Int32Array(64); // heap of entry slots
  private count = 0;
  private slots = 0;

  get length(): number {
    return this.count;
  }

  clear(): void {
    this.count = 0;
    this.slots = 0;
  }

  private grow(): void {
    const cap = this.score.length * 2;
    const g = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.score = g(this.score, (n) => new Float64Array(n));
    this.left = g(this.left, (n) => new Int32Array(n));
    this.right = g(this.right, (n) => new Int32Array(n));
    this.size = g(this.size, (n) => new Int32Array(n));
    this.heap = g(this.heap, (n) => new Int32Array(n));
  }

  /** a ranks above b */
  private above(a: number, b: number): boolean {
    const sa = this.score[a];
    const sb = this.score[b];
    return sa > sb || (sa === sb && this.left[a] < this.left[b]);
  }

  push(score: number, left: number, right: number, size: number): void {
    if (this.slots === this.score.length) this.grow();
    const e = this.slots++;
    this.score[e] = score;
    this.left[e] = left;
    this.right[e] = right;
    this.size[e] = size;
    const h = this.heap;
    let i = this.count++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.above(e, h[parent])) break;
      h[i] = h[parent];
      i = parent;
    }
    h[i] = e;
  }

  /** Removes the top entry; returns its slot (read it with leftOf/rightOf/sizeOf). */
  pop(): number {
    const h = this.heap;
    const top = h[0];
    const last = h[--this.count];
    let i = 0;
    const n = this.count;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && this.above(h[child + 1], h[child])) child++;
      if (!this.above(h[child], last)) break;
      h[i] = h[child];
      i = child;
    }
    h[i] = last;
    return top;
  }

  leftOf(slot: number): number {
    return this.left[slot];
  }
  rightOf(slot: number): number {
    return this.right[slot];
  }
  sizeOf(slot: number): number {
    return this.size[slot];
  }
}
