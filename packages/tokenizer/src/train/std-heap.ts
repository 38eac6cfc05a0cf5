// Which elements std::partial_sort(first, first + k, last, comp) leaves in [first, first+k),
// as libstdc++ (GCC 12, stl_algo.h / stl_heap.h) computes it: __heap_select builds a heap
// of the first k elements and replaces its top with each later element that compares
// before it. Among elements that compare equal, which ones make the cut depends on this
// exact procedure, and SentencePiece's BPE trainer picks its active symbols this way.

/** Reorders `a` so that a[0..k) is the set std::partial_sort would select (order within is the heap's). */
export function heapSelect<T>(a: T[], k: number, comp: (x: T, y: T) => boolean): void {
  if (k <= 0) return;
  makeHeap(a, k, comp);
  for (let i = k; i < a.length; i++) {
    if (comp(a[i], a[0])) {
      // __pop_heap(first, middle, i): a[i] takes the top's value, the old a[i] sifts in.
      const value = a[i];
      a[i] = a[0];
      adjustHeap(a, 0, k, value, comp);
    }
  }
}

function makeHeap<T>(a: T[], len: number, comp: (x: T, y: T) => boolean): void {
  if (len < 2) return;
  for (let parent = Math.floor((len - 2) / 2); ; parent--) {
    adjustHeap(a, parent, len, a[parent], comp);
    if (parent === 0) return;
  }
}

export function adjustHeap<T>(a: T[], holeIndex: number, len: number, value: T, comp: (x: T, y: T) => boolean): void {
  const topIndex = holeIndex;
  let secondChild = holeIndex;
  while (secondChild < Math.floor((len - 1) / 2)) {
    secondChild = 2 * (secondChild + 1);
    if (comp(a[secondChild], a[secondChild - 1])) secondChild--;
    a[holeIndex] = a[secondChild];
    holeIndex = secondChild;
  }
  if ((len & 1) === 0 && secondChild === Math.floor((len - 2) / 2)) {
    secondChild = 2 * (secondChild + 1);
    a[holeIndex] = a[secondChild - 1];
    holeIndex = secondChild - 1;
  }
  // __push_heap(first, holeIndex, topIndex, value)
  let parent = Math.floor((holeIndex - 1) / 2);
  while (holeIndex > topIndex && comp(a[parent], value)) {
    a[holeIndex] = a[parent];
    holeIndex = parent;
    parent = Math.floor((holeIndex - 1) / 2);
  }
  a[holeIndex] = value;
}

/** std::priority_queue<T, vector<T>, Comp>::push as libstdc++ does it (push_back, __push_heap). */
export function heapPush<T>(a: T[], value: T, comp: (x: T, y: T) => boolean): void {
  a.push(value);
  let holeIndex = a.length - 1;
  let parent = Math.floor((holeIndex - 1) / 2);
  while (holeIndex > 0 && comp(a[parent], value)) {
    a[holeIndex] = a[parent];
    holeIndex = parent;
    parent = Math.floor((holeIndex - 1) / 2);
  }
  a[holeIndex] = value;
}

/** std::priority_queue::top() + pop(): pop_heap (the last element sifts down from the top), pop_back. */
export function heapPop<T>(a: T[], comp: (x: T, y: T) => boolean): T {
  const top = a[0];
  const last = a.length - 1;
  if (last > 0) {
    const value = a[last];
    a[last] = a[0];
    adjustHeap(a, 0, last, value, comp);
  }
  a.pop();
  return top;
}
