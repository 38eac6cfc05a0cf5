// The random numbers behind spm_train's sentence sampling, reproduced exactly: std::mt19937
// and libstdc++'s (GCC 12) std::uniform_int_distribution<uint64_t> on top of it, which for
// ranges below 2^32 uses Lemire's multiply-and-reject method (uniform_int_dist.h, _S_nd).

export class Mt19937 {
  private readonly mt = new Uint32Array(624);
  private index = 624;

  constructor(seed: number) {
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      // 1812433253 * prev + i, mod 2^32
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  /** The next 32-bit output. */
  next(): number {
    if (this.index >= 624) this.twist();
    let y = this.mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < 624; i++) {
      const y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7fffffff);
      mt[i] = mt[(i + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }
}

/** std::uniform_int_distribution<uint64_t>(0, n - 1)(engine), for 1 <= n <= 2^32. */
export function uniformBelow(engine: Mt19937, n: number): number {
  if (n === 2 ** 32) return engine.next();
  if (!(n >= 1 && n < 2 ** 32)) throw new RangeError(`uniformBelow: range ${n} outside [1, 2^32]`);
  const range = BigInt(n);
  let product = BigInt(engine.next()) * range;
  let low = Number(product & 0xffffffffn);
  if (low < n) {
    const threshold = (2 ** 32 - n) % n;
    while (low < threshold) {
      product = BigInt(engine.next()) * range;
      low = Number(product & 0xffffffffn);
    }
  }
  return Number(product >> 32n);
}

/**
 * util.h random::ReservoirSampler: keeps `size` items; item number t (1-based) beyond the
 * first `size` replaces slot uniform(0, t-1) when that slot exists.
 */
export class ReservoirSampler<T> {
  readonly sampled: T[] = [];
  private total = 0;
  private readonly engine: Mt19937;

  constructor(
    private readonly size: number,
    seed: number,
  ) {
    this.engine = new Mt19937(seed);
  }

  get totalSize(): number {
    return this.total;
  }

  add(item: T): void {
    if (this.size === 0) return;
    this.total++;
    if (this.sampled.length < this.size) {
      this.sampled.push(item);
    } else {
      const n = uniformBelow(this.engine, this.total);
      if (n < this.sampled.length) this.sampled[n] = item;
    }
  }
}
