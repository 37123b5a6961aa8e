// Logits processors and warpers: small callables that rewrite one row of next-token scores
// in place. `ids` is the row's sequence so far (prompt + generated). A processor applies to
// greedy and sampled decoding alike; warpers (temperature, top-k, top-p) only to sampling.
//
// Shapes: a row is V floats (V = vocabulary size).

export interface LogitsProcessor {
  /** promptLength: how many of `ids` are the prompt (the rest were generated). */
  process(ids: readonly number[], scores: Float32Array, promptLength: number): void;
}

export class LogitsProcessorList implements LogitsProcessor {
  constructor(readonly processors: LogitsProcessor[] = []) {}

  push(p: LogitsProcessor): void {
    this.processors.push(p);
  }

  process(ids: readonly number[], scores: Float32Array, promptLength: number): void {
    for (const p of this.processors) p.process(ids, scores, promptLength);
  }
}

/** Divide scores by the temperature (<1 sharper, >1 flatter). */
export class TemperatureLogitsWarper implements LogitsProcessor {
  constructor(readonly temperature: number) {
    if (!(temperature > 0)) throw new Error(`temperature must be > 0, got ${temperature}; use greedy decoding (doSample: false) for temperature 0`);
  }

  process(_ids: readonly number[], scores: Float32Array): void {
    if (this.temperature === 1) return;
    for (let i = 0; i < scores.length; i++) scores[i] /= this.temperature;
  }
}

/** Keep the k highest scores (ties with the k-th kept too, as in transformers); others -∞. */
export class TopKLogitsWarper implements LogitsProcessor {
  constructor(
    readonly topK: number,
    readonly minTokensToKeep = 1,
  ) {
    if (!Number.isInteger(topK) || topK <= 0) throw new Error(`topK must be a positive integer, got ${topK}`);
  }

  process(_ids: readonly number[], scores: Float32Array): void {
    const k = Math.min(Math.max(this.topK, this.minTokensToKeep), scores.length);
    if (k >= scores.length) return;
    const kth = kthLargest(scores, k);
    for (let i = 0; i < scores.length; i++) if (scores[i] < kth) scores[i] = -Infinity;
  }
}

/**
 * Nucleus sampling: keep the smallest set of most likely tokens whose probabilities sum to at
 * least topP (transformers' rule: drop tokens while the ascending cumulative sum ≤ 1 − topP).
 */
export class TopPLogitsWarper implements LogitsProcessor {
  constructor(
    readonly topP: number,
    readonly minTokensToKeep = 1,
  ) {
    if (!(topP > 0 && topP <= 1)) throw new Error(`topP must be in (0, 1], got ${topP}`);
  }

  process(_ids: readonly number[], scores: Float32Array): void {
    if (this.topP >= 1) return;
    const budget = 1 - this.topP;
    const probs = softmax(scores);
    // Only finite scores can be kept; -∞ ones (e.g. after top-k) have probability 0 anyway.
    let min = Infinity;
    let max = -Infinity;
    let finite = 0;
    for (let i = 0; i < scores.length; i++) {
      const x = scores[i]!;
      if (x === -Infinity) continue;
      finite++;
      if (x < min) min = x;
      if (x > max) max = x;
    }
    const limit = finite - this.minTokensToKeep;
    if (limit <= 0) return;
    // Sorting the whole vocabulary per row cost 3× the rest of a generation step. Instead, bucket the
    // scores (buckets are ordered as the scores are): every bucket before the one where the
    // ascending cumulative mass passes 1 − topP is dropped whole, and only that bucket is sorted.
    const buckets = 1024;
    const width = max > min ? (max - min) / buckets : 1;
    const bucketOf = (x: number): number => Math.min(buckets - 1, Math.floor((x - min) / width));
    const mass = new Float64Array(buckets);
    const count = new Int32Array(buckets);
    for (let i = 0; i < scores.length; i++) {
      if (scores[i] === -Infinity) continue;
      const b = bucketOf(scores[i]!);
      mass[b] += probs[i]!;
      count[b]++;
    }
    let cum = 0;
    let dropped = 0;
    let boundary = 0;
    while (boundary < buckets - 1 && cum + mass[boundary]! <= budget && dropped + count[boundary]! <= limit) {
      cum += mass[boundary]!;
      dropped += count[boundary]!;
      boundary++;
    }
    const edge: number[] = [];
    for (let i = 0; i < scores.length; i++) {
      if (scores[i] === -Infinity) continue;
      const b = bucketOf(scores[i]!);
      if (b < boundary) scores[i] = -Infinity;
      else if (b === boundary) edge.push(i);
    }
    edge.sort((a, b) => scores[a]! - scores[b]!); // ascending, stable: ties in index order
    for (let r = 0; r < edge.length && dropped < limit; r++, dropped++) {
      cum += probs[edge[r]!]!;
      if (cum > budget) break;
      scores[edge[r]!] = -Infinity;
    }
  }
}

/** Divide positive (multiply negative) scores of tokens already in the sequence by `penalty`. */
export class RepetitionPenaltyLogitsProcessor implements LogitsProcessor {
  constructor(readonly penalty: number) {
    if (!(penalty > 0)) throw new Error(`repetitionPenalty must be > 0, got ${penalty}`);
  }

  process(ids: readonly number[], scores: Float32Array): void {
    for (const id of new Set(ids)) {
      const s = scores[id];
      scores[id] = s < 0 ? s * this.penalty : s / this.penalty;
    }
  }
}

/** Forbid the EOS tokens until `minNewTokens` tokens have been generated. */
export class MinNewTokensLogitsProcessor implements LogitsProcessor {
  constructor(
    readonly minNewTokens: number,
    readonly eosTokenIds: number[],
  ) {}

  process(ids: readonly number[], scores: Float32Array, promptLength: number): void {
    if (ids.length - promptLength < this.minNewTokens) for (const e of this.eosTokenIds) scores[e] = -Infinity;
  }
}

/** The k-th largest value (k ≥ 1), with a size-k min-heap: O(V log k) instead of a full sort. */
export function kthLargest(xs: ArrayLike<number>, k: number): number {
  const heap = new Float64Array(k);
  let n = 0;
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && heap[l]! < heap[m]!) m = l;
      if (r < n && heap[r]! < heap[m]!) m = r;
      if (m === i) return;
      const t = heap[i]!;
      heap[i] = heap[m]!;
      heap[m] = t;
      i = m;
    }
  };
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    if (n < k) {
      let j = n++;
      heap[j] = x;
      while (j > 0) {
        const p = (j - 1) >> 1;
        if (heap[p]! <= heap[j]!) break;
        const t = heap[p]!;
        heap[p] = heap[j]!;
        heap[j] = t;
        j = p;
      }
    } else if (x > heap[0]!) {
      heap[0] = x;
      down(0);
    }
  }
  return heap[0]!;
}

/** Numerically stable softmax in float64. */
export function softmax(scores: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i] > max) max = scores[i];
  const out = new Float64Array(scores.length);
  let sum = 0;
  for (let i = 0; i < scores.length; i++) {
    const e = scores[i] === -Infinity ? 0 : Math.exp(scores[i] - max);
    out[i] = e;
    sum += e;
  }
  if (sum > 0) for (let i = 0; i < out.length; i++) out[i] /= sum; // all -∞ stays all zeros
  return out;
}
