/**
 * Seeded pseudo-random numbers: xoshiro128** (Blackman & Vigna), its 128-bit state filled by
 * splitmix32 from a 32-bit seed. Same seed, same stream, on every platform.
 */
export interface Rng {
  /** Uniform integer in [0, 2^32). */
  nextUint32(): number;
  /** Uniform integer in [0, n), unbiased (rejection sampling); n in [1, 2^32]. */
  nextInt(n: number): number;
  /** Uniform float in [0, 1) with 32 bits of randomness. */
  nextFloat(): number;
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

export function createRng(seed: number): Rng {
  let a = seed | 0;
  const splitmix32 = (): number => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aafd);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) | 0;
  };
  let s0 = splitmix32();
  let s1 = splitmix32();
  let s2 = splitmix32();
  let s3 = splitmix32();
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1; // the all-zero state is a fixed point
  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };
  return {
    nextUint32,
    nextInt(n: number): number {
      if (!(n >= 1 && n <= 2 ** 32 && Number.isInteger(n))) throw new RangeError(`nextInt(n) needs an integer 1 <= n <= 2^32, got ${n}`);
      const limit = Math.floor(2 ** 32 / n) * n; // accept only draws below a multiple of n
      for (;;) {
        const x = nextUint32();
        if (x < limit) return x % n;
      }
    },
    nextFloat: () => nextUint32() / 2 ** 32,
  };
}
