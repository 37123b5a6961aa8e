// Choosing the next token from a row of (processed) scores.
import { softmax } from './logits-process.js';
import type { Rng } from '../runtime/rng.js';

export interface Sampler {
  sample(scores: Float32Array): number;
}

/** The highest score (the first one on ties, like argmax in PyTorch). */
export class GreedySampler implements Sampler {
  sample(scores: Float32Array): number {
    let best = 0;
    for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
    return best;
  }
}

/** Draw from softmax(scores) with a seeded generator. */
export class MultinomialSampler implements Sampler {
  constructor(readonly rng: Rng) {}

  sample(scores: Float32Array): number {
    const p = softmax(scores);
    const u = this.rng.nextFloat();
    let cum = 0;
    let last = -1;
    for (let i = 0; i < p.length; i++) {
      if (p[i] === 0) continue;
      cum += p[i];
      last = i;
      if (u < cum) return i;
    }
    if (last < 0) throw new Error('cannot sample: every score is -Infinity');
    return last; // rounding left u ≥ the total
  }
}
