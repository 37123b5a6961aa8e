/**
 * Seeded, reproducible document splits and nested subsets.
 *
 * Both sort the ids first (by UTF-16 code unit), so the result does not depend on the order the
 * ids come in, then shuffle them with Fisher–Yates driven by sfc32 seeded with cyrb128(String(seed)).
 * The same ids and seed give the same result on every machine; another seed gives another one.
 */

/** Splits ids by fractions summing to 1, e.g. {train: .8, dev: .1, test: .1}; each split's ids sorted. */
export function seededSplit(docIds: string[], fractions: Record<string, number>, seed: number | string): Record<string, string[]> {
  const names = Object.keys(fractions);
  if (names.length === 0) throw new RangeError('fractions: give at least one split, e.g. {train: 0.8, dev: 0.1, test: 0.1}');
  let sum = 0;
  for (const name of names) {
    const f = fractions[name]!;
    if (!Number.isFinite(f) || f < 0) throw new RangeError(`fractions.${name}: must be a number ≥ 0 (got ${f})`);
    sum += f;
  }
  if (Math.abs(sum - 1) > 1e-6) throw new RangeError(`fractions: must sum to 1 (they sum to ${sum})`);
  const ids = permutation(docIds, seed);
  const sizes = largestRemainder(ids.length, names.map((n) => fractions[n]!));
  const out: Record<string, string[]> = {};
  let at = 0;
  names.forEach((name, i) => {
    out[name] = ids.slice(at, (at += sizes[i]!)).sort(byCodeUnit);
  });
  return out;
}

/**
 * Sizes n·fᵢ rounded by the largest-remainder method (floors, then one more for the largest
 * fractional parts, ties to the earlier split), so they sum to n. Then every split with fᵢ > 0
 * that got 0 takes one from the currently largest split, while that one keeps at least one.
 */
function largestRemainder(n: number, fractions: number[]): number[] {
  const exact = fractions.map((f) => n * f);
  const sizes = exact.map((x) => Math.floor(x + 1e-9));
  const order = exact.map((x, i) => ({ i, rest: x - sizes[i]! })).sort((a, b) => b.rest - a.rest || a.i - b.i);
  for (let k = 0, left = n - sizes.reduce((a, b) => a + b, 0); left > 0; k++, left--) sizes[order[k % order.length]!.i]!++;
  fractions.forEach((f, i) => {
    if (f > 0 && sizes[i] === 0) {
      const largest = sizes.indexOf(Math.max(...sizes));
      if (sizes[largest]! > 1) {
        sizes[largest]!--;
        sizes[i] = 1;
      }
    }
  });
  return sizes;
}

/**
 * Nested subsets, one per fraction (each in (0, 1]): every subset is a prefix of one seeded
 * permutation, so a smaller fraction's subset lies inside every larger one (5% ⊂ 25% ⊂ 50% ⊂ 95%).
 * Size = round-half-up(n·f), at least 1 when n > 0, at most n. Results follow the order of
 * `fractions`; each subset's ids sorted.
 */
export function nestedSubsets(docIds: string[], fractions: number[], seed: number | string): string[][] {
  for (const f of fractions) {
    if (!Number.isFinite(f) || f <= 0 || f > 1) throw new RangeError(`fractions: each must be in (0, 1] (got ${f})`);
  }
  const ids = permutation(docIds, seed);
  return fractions.map((f) => {
    const size = Math.min(ids.length, Math.max(1, Math.floor(ids.length * f + 0.5 + 1e-9)));
    return ids.slice(0, size).sort(byCodeUnit);
  });
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The sorted ids, shuffled by the seed. */
function permutation(docIds: string[], seed: number | string): string[] {
  const ids = [...docIds].sort(byCodeUnit);
  for (let i = 1; i < ids.length; i++) {
    if (ids[i] === ids[i - 1]) throw new RangeError(`docIds: '${ids[i]}' appears twice; ids must be unique`);
  }
  const random = sfc32(...cyrb128(String(seed)));
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  return ids;
}

// cyrb128: a 128-bit string hash, to seed sfc32 with four well-mixed words.
function cyrb128(s: string): [number, number, number, number] {
  let h1 = 1779033703, h2 = 3144134277, h3 = 1013904242, h4 = 2773480762;
  for (let i = 0; i < s.length; i++) {
    const k = s.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

// sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): uniform floats in [0, 1).
function sfc32(a: number, b: number, c: number, d: number): () => number {
  const next = () => {
    a |= 0; b |= 0; c |= 0; d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 15; i++) next(); // the first outputs still echo the seed
  return next;
}
