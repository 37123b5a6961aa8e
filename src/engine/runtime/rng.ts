// The engine's one seeded random number generator: xoshiro128** (Blackman & Vigna), seeded
// through splitmix32. Its whole state is four uint32s, so training and generation checkpoint it
// (`state`) and resume with the same draws. Every consumer gets its own stream, derived from the
// run's seed and a name (`Rng.fromSeed(seed, 'dropout')`), so adding a draw in one place never
// shifts the numbers another place sees.

export type RngState = [number, number, number, number];

/** splitmix32 (the variant with multipliers 0x21f0aafd, 0x735a2d97): fills the 128-bit state from a 32-bit seed. */
function splitmix32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aafd);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

/** FNV-1a of a stream name: the sub-seed mixed into the run's seed. */
function streamHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Rng {
  private readonly s: Uint32Array;

  private constructor(state: ArrayLike<number>) {
    this.s = Uint32Array.from(state);
    if (this.s.every((x) => x === 0)) this.s[0] = 1; // the all-zero state is a fixed point
  }

  /** A generator for `seed`; with `stream`, an independent one for that purpose (e.g. 'data-order', 'dropout'). */
  static fromSeed(seed: number, stream?: string): Rng {
    if (!Number.isInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
    // A seed outside 32 bits is folded into 32 so every integer seed is accepted.
    const next = splitmix32(seed >= -(2 ** 31) && seed < 2 ** 32 ? seed : (seed >>> 0) ^ Math.floor(seed / 2 ** 32));
    if (stream !== undefined) {
      const h = streamHash(stream);
      const a = next() ^ h;
      const more = splitmix32(a >>> 0);
      return new Rng([more(), more(), more(), more()]);
    }
    return new Rng([next(), next(), next(), next()]);
  }

  static fromState(state: RngState): Rng {
    return new Rng(state);
  }

  get state(): RngState {
    return [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!];
  }

  /** Restore a saved state in place (for objects that hold their generator). */
  set state(state: RngState) {
    if (state.length !== 4 || state.every((x) => x === 0)) throw new Error('Rng state must be four uint32s, not all zeros');
    this.s.set(state);
  }

  /** Next uint32. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 random bits (one draw). */
  nextFloat(): number {
    return this.nextUint32() / 2 ** 32;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling); n in [1, 2^32]. */
  nextInt(n: number): number {
    if (!(n >= 1 && n <= 2 ** 32 && Number.isInteger(n))) throw new RangeError(`nextInt(n) needs an integer 1 <= n <= 2^32, got ${n}`);
    const limit = Math.floor(2 ** 32 / n) * n; // accept only draws below a multiple of n
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal (Box–Muller). */
  nextNormal(): number {
    return Math.sqrt(-2 * Math.log(1 - this.nextFloat())) * Math.cos(2 * Math.PI * this.nextFloat());
  }

  /** 0…n−1 in a random order (Fisher–Yates). */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    return p;
  }

  /**
   * Fill `keep` with dropout keep-flags (1 with probability 1 − p, p in steps of 1/65536): two
   * 16-bit draws per uint32, branch-free, with the state in locals (a method call per flag costs
   * three times as much).
   */
  fillKeepMask(keep: Uint8Array, p: number): void {
    const t1 = Math.round(p * 65536) - 1; // flag = 1 iff draw > t1
    const s = this.s;
    let s0 = s[0]! | 0;
    let s1 = s[1]! | 0;
    let s2 = s[2]! | 0;
    let s3 = s[3]! | 0;
    const n = keep.length;
    for (let i = 0; i < n; i += 2) {
      const x = Math.imul((Math.imul(s1, 5) << 7) | (Math.imul(s1, 5) >>> 25), 9);
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      keep[i] = (t1 - (x & 0xffff)) >>> 31;
      if (i + 1 < n) keep[i + 1] = (t1 - (x >>> 16)) >>> 31;
    }
    s[0] = s0;
    s[1] = s1;
    s[2] = s2;
    s[3] = s3;
  }
}
