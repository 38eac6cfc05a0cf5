// The iteration order of a libstdc++ (GCC 12) std::unordered_map<uint64_t, T> with the
// default std::hash (identity) and max_load_factor 1, under insert and erase. SentencePiece
// 0.1.97's "absl::flat_hash_map" is this std::unordered_map, and its BPE trainer walks the
// map to choose which symbol pairs are active, so the walk order decides ties.
//
// libstdc++ keeps every node on one singly linked list; bucket b stores the node BEFORE its
// first node. A node is inserted at the front of its bucket's group, or at the front of the
// whole list when the bucket is empty. Rehashing walks the list and rebuilds it the same
// way. Bucket counts come from libstdc++'s prime table (__prime_list, copied below as data)
// and its _Prime_rehash_policy (growth factor 2, start at 13 buckets).

import { mod64 } from "./u64.js";

/** A node of the map: the key (a uint64 as halves) and the list links the map maintains. */
export interface HashNode {
  readonly fpHi: number;
  readonly fpLo: number;
  hnext: HashNode | null;
  hbkt: number;
}

// std::__detail::__prime_list (libstdc++.so.6, GCC 12, 64-bit), entries below 2^48.
const PRIMES: readonly number[] = [2,3,5,7,11,13,17,19,23,29,31,37,41,43,47,53,59,61,67,71,73,79,83,89,97,103,109,113,127,137,139,149,157,167,179,193,199,211,227,241,257,277,293,313,337,359,383,409,439,467,503,541,577,619,661,709,761,823,887,953,1031,1109,1193,1289,1381,1493,1613,1741,1879,2029,2179,2357,2549,2753,2971,3209,3469,3739,4027,4349,4703,5087,5503,5953,6427,6949,7517,8123,8783,9497,10273,11113,12011,12983,14033,15173,16411,17749,19183,20753,22447,24281,26267,28411,30727,33223,35933,38873,42043,45481,49201,53201,57557,62233,67307,72817,78779,85229,92203,99733,107897,116731,126271,136607,147793,159871,172933,187091,202409,218971,236897,256279,277261,299951,324503,351061,379787,410857,444487,480881,520241,562841,608903,658753,712697,771049,834181,902483,976369,1056323,1142821,1236397,1337629,1447153,1565659,1693859,1832561,1982627,2144977,2320627,2510653,2716249,2938679,3179303,3439651,3721303,4026031,4355707,4712381,5098259,5515729,5967347,6456007,6984629,7556579,8175383,8844859,9569143,10352717,11200489,12117689,13109983,14183539,15345007,16601593,17961079,19431899,21023161,22744717,24607243,26622317,28802401,31160981,33712729,36473443,39460231,42691603,46187573,49969847,54061849,58488943,63278561,68460391,74066549,80131819,86693767,93793069,101473717,109783337,118773397,128499677,139022417,150406843,162723577,176048909,190465427,206062531,222936881,241193053,260944219,282312799,305431229,330442829,357502601,386778277,418451333,452718089,489790921,529899637,573292817,620239453,671030513,725980837,785430967,849749479,919334987,994618837,1076067617,1164186217,1259520799,1362662261,1474249943,1594975441,1725587117,1866894511,2019773507,2185171673,2364114217,2557710269,2767159799,2993761039,3238918481,3504151727,3791104843,4101556399,4294967291,6442450933,8589934583,12884901857,17179869143,25769803693,34359738337,51539607367,68719476731,103079215087,137438953447,206158430123,274877906899,412316860387,549755813881,824633720731,1099511627689,1649267441579,2199023255531,3298534883309,4398046511093,6597069766607,8796093022151,13194139533241,17592186044399,26388279066581,35184372088777,52776558133177,70368744177643,105553116266399,140737488355213,211106232532861,281474976710597];
const FAST_BKT = [2, 2, 2, 3, 5, 5, 7, 7, 11, 11, 11, 11, 13, 13];

export class StdUnorderedMap<N extends HashNode> {
  private readonly beforeBegin: HashNode = { fpHi: 0, fpLo: 0, hnext: null, hbkt: -1 };
  private buckets: (HashNode | null)[] = [null];
  private nextResize = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get bucketCount(): number {
    return this.buckets.length;
  }

  find(hi: number, lo: number): N | null {
    const b = mod64(hi, lo, this.buckets.length);
    const before = this.buckets[b];
    if (!before) return null;
    for (let n = before.hnext; n && n.hbkt === b; n = n.hnext) {
      if (n.fpLo === lo && n.fpHi === hi) return n as N;
    }
    return null;
  }

  /** Inserts a node whose key is not present (the caller has checked with find). */
  insert(node: N): void {
    const grow = this.needRehash();
    if (grow > 0) this.rehash(grow);
    const b = mod64(node.fpHi, node.fpLo, this.buckets.length);
    node.hbkt = b;
    const before = this.buckets[b];
    if (before) {
      node.hnext = before.hnext;
      before.hnext = node;
    } else {
      node.hnext = this.beforeBegin.hnext;
      this.beforeBegin.hnext = node;
      if (node.hnext) this.buckets[node.hnext.hbkt] = node;
      this.buckets[b] = this.beforeBegin;
    }
    this.count++;
  }

  /** Erases the node with this key, if any (erase(key)). */
  erase(hi: number, lo: number): boolean {
    const b = mod64(hi, lo, this.buckets.length);
    const first = this.buckets[b];
    if (!first) return false;
    let prev = first;
    let n = prev.hnext;
    while (n && n.hbkt === b && !(n.fpLo === lo && n.fpHi === hi)) {
      prev = n;
      n = n.hnext;
    }
    if (!n || n.hbkt !== b) return false;
    const next = n.hnext;
    if (prev === first) {
      // _M_remove_bucket_begin: the bucket may now be empty
      if (!next || next.hbkt !== b) {
        if (next) this.buckets[next.hbkt] = first;
        if (first === this.beforeBegin) this.beforeBegin.hnext = next;
        this.buckets[b] = null;
      }
    } else if (next && next.hbkt !== b) {
      this.buckets[next.hbkt] = prev;
    }
    prev.hnext = next;
    n.hnext = null;
    this.count--;
    return true;
  }

  /** Nodes in iteration order. */
  *[Symbol.iterator](): IterableIterator<N> {
    for (let n = this.beforeBegin.hnext; n; n = n.hnext) yield n as N;
  }

  /** _Prime_rehash_policy::_M_need_rehash(bucketCount, count, 1): the new bucket count, or 0. */
  private needRehash(): number {
    const nBkt = this.buckets.length;
    if (this.count + 1 <= this.nextResize) return 0;
    const minBkts = Math.max(this.count + 1, this.nextResize ? 0 : 11);
    if (minBkts >= nBkt) return this.nextBkt(Math.max(Math.floor(minBkts) + 1, nBkt * 2));
    this.nextResize = nBkt;
    return 0;
  }

  /** _Prime_rehash_policy::_M_next_bkt(n) */
  private nextBkt(n: number): number {
    if (n < FAST_BKT.length) {
      this.nextResize = FAST_BKT[n];
      return FAST_BKT[n];
    }
    let lo = 6;
    let hi = PRIMES.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (PRIMES[mid] < n) lo = mid + 1;
      else hi = mid;
    }
    this.nextResize = PRIMES[lo];
    return PRIMES[lo];
  }

  private rehash(nBkt: number): void {
    const buckets: (HashNode | null)[] = new Array(nBkt).fill(null);
    let p = this.beforeBegin.hnext;
    this.beforeBegin.hnext = null;
    let bbeginBkt = 0;
    while (p) {
      const next = p.hnext;
      const b = mod64(p.fpHi, p.fpLo, nBkt);
      p.hbkt = b;
      const before = buckets[b];
      if (!before) {
        p.hnext = this.beforeBegin.hnext;
        this.beforeBegin.hnext = p;
        buckets[b] = this.beforeBegin;
        if (p.hnext) buckets[bbeginBkt] = p;
        bbeginBkt = b;
      } else {
        p.hnext = before.hnext;
        before.hnext = p;
      }
      p = next;
    }
    this.buckets = buckets;
  }
}
