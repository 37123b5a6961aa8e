/**
 * A set of 64-bit n-gram hashes with dense ids: open addressing, linear probing, two Uint32Array key
 * halves. Faster and leaner than a Set<bigint> (no bigint allocation per lookup). Two n-grams
 * collide only when both 32-bit hashes agree: for ~10^6 distinct n-grams the chance of any false
 * match is about 10^12 / 2^64 ≈ 5·10^-8.
 */
export class NgramTable {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private ids: Int32Array; // id + 1; 0 marks an empty slot
  private mask: number;
  size = 0;

  constructor(expected: number) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
    this.ids = new Int32Array(cap);
    this.mask = cap - 1;
  }

  /** Dense id of (h1, h2), or -1 if absent. */
  get(h1: number, h2: number): number {
    for (let i = h2 & this.mask; ; i = (i + 1) & this.mask) {
      const id = this.ids[i]!;
      if (id === 0) return -1;
      if (this.hi[i] === h1 && this.lo[i] === h2) return id - 1;
    }
  }

  /** Dense id of (h1, h2), inserting it (next id) if absent. */
  add(h1: number, h2: number): number {
    if ((this.size + 1) * 2 > this.ids.length) this.grow();
    for (let i = h2 & this.mask; ; i = (i + 1) & this.mask) {
      const id = this.ids[i]!;
      if (id === 0) {
        this.hi[i] = h1;
        this.lo[i] = h2;
        this.ids[i] = ++this.size;
        return this.size - 1;
      }
      if (this.hi[i] === h1 && this.lo[i] === h2) return id - 1;
    }
  }

  private grow(): void {
    const { hi, lo, ids } = this;
    const cap = ids.length * 2;
    this.hi = new Uint32Array(cap);
    this.lo = new Uint32Array(cap);
    this.ids = new Int32Array(cap);
    this.mask = cap - 1;
    for (let j = 0; j < ids.length; j++) {
      if (ids[j] === 0) continue;
      let i = lo[j]! & this.mask;
      while (this.ids[i] !== 0) i = (i + 1) & this.mask;
      this.hi[i] = hi[j]!;
      this.lo[i] = lo[j]!;
      this.ids[i] = ids[j]!;
    }
  }
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Two independent 32-bit hashes of the word-id n-gram ids[p .. p+n): FNV-1a over 32-bit words and
 * MurmurHash3's x86_32 block mixing, each finalised with murmur's fmix32. Written to out[0], out[1].
 */
export function hashNgram(ids: Int32Array, p: number, n: number, out: Uint32Array): void {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  for (let k = 0; k < n; k++) {
    const id = ids[p + k]!;
    h1 = Math.imul(h1 ^ id, 0x01000193);
    let k2 = Math.imul(id, 0xcc9e2d51);
    k2 = rotl(k2, 15);
    k2 = Math.imul(k2, 0x1b873593);
    h2 ^= k2;
    h2 = rotl(h2, 13);
    h2 = (Math.imul(h2, 5) + 0xe6546b64) | 0;
  }
  out[0] = fmix32(h1);
  out[1] = fmix32(h2 ^ n);
}
