import { HF_TINY } from '../support/paths.js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  EosTokenCriteria,
  generate,
  GreedySampler,
  MaxNewTokensCriteria,
  MultinomialSampler,
  RepetitionPenaltyLogitsProcessor,
  Rng,
  softmax,
  TemperatureLogitsWarper,
  TextStreamer,
  TokenStreamer,
  TopKLogitsWarper,
  TopPLogitsWarper,
  type CausalLM,
} from '../../src/engine/generation/index.js';
import { loadTokenizer } from '../../src/engine/tokenizers/index.js';
import { generateTexts } from '../../src/engine/tasks/generate.js';

const FIX = HF_TINY;

/**
 * A bigram "decoder": the next-token scores depend on the previous token through a fixed
 * table, and the cache records every token fed so far, so the test can check exactly what the
 * loop fed through prefill and decodeStep.
 */
class BigramLM implements CausalLM<{ fed: number[][]; last: number[] }> {
  readonly calls: string[] = [];
  constructor(readonly vocabSize: number, readonly table: (prev: number) => number[]) {}
  private logits(last: number[]): Float32Array {
    const out = new Float32Array(last.length * this.vocabSize);
    last.forEach((p, b) => out.set(this.table(p), b * this.vocabSize));
    return out;
  }
  async prefill(ids: number[][], mask: number[][]) {
    this.calls.push(`prefill ${ids.map((r, b) => r.map((t, i) => (mask[b][i] ? t : '_')).join(',')).join('|')}`);
    const last = ids.map((r) => r[r.length - 1]);
    return { logits: this.logits(last), cache: { fed: ids.map((r) => [...r]), last } };
  }
  async decodeStep(next: number[], cache: { fed: number[][]; last: number[] }) {
    this.calls.push(`step ${next.join(',')}`);
    return { logits: this.logits(next), cache: { fed: cache.fed.map((r, b) => [...r, next[b]]), last: next } };
  }
}

// next = (prev + 1) % V, strongly preferred; (prev + 2) % V second.
const V = 10;
const cyclic = (prev: number) => Array.from({ length: V }, (_, i) => (i === (prev + 1) % V ? 5 : i === (prev + 2) % V ? 4 : 0));

describe('logits warpers', () => {
  it('should scale by temperature and reject 0', () => {
    const s = Float32Array.from([2, 4]);
    new TemperatureLogitsWarper(2).process([], s, 0);
    expect([...s]).toEqual([1, 2]);
    expect(() => new TemperatureLogitsWarper(0)).toThrow(/doSample: false/);
  });

  it('should keep the top k (and ties with the k-th)', () => {
    const s = Float32Array.from([1, 5, 3, 3, 0]);
    new TopKLogitsWarper(2).process([], s, 0);
    expect([...s]).toEqual([-Infinity, 5, 3, 3, -Infinity]);
  });

  it('should keep the smallest nucleus reaching top p', () => {
    const probs = [0.5, 0.3, 0.15, 0.05];
    const s = Float32Array.from(probs.map(Math.log));
    new TopPLogitsWarper(0.75).process([], s, 0);
    expect([...s].map((x) => x !== -Infinity)).toEqual([true, true, false, false]);
    const t = Float32Array.from(probs.map(Math.log));
    new TopPLogitsWarper(0.85).process([], t, 0);
    expect([...t].map((x) => x !== -Infinity)).toEqual([true, true, true, false]);
  });

  it('should keep the same nucleus as sorting the whole vocabulary, on vocabulary-sized rows', () => {
    // The reference: transformers' rule over one full ascending sort.
    const reference = (scores: Float32Array, topP: number, minKeep: number): boolean[] => {
      const order = [...scores.keys()].filter((i) => scores[i] !== -Infinity).sort((a, b) => scores[a]! - scores[b]!);
      let max = -Infinity;
      for (const x of scores) max = Math.max(max, x);
      let sum = 0;
      for (const x of scores) sum += x === -Infinity ? 0 : Math.exp(x - max);
      const keep = [...scores].map((x) => x !== -Infinity);
      let cum = 0;
      for (let r = 0; r < order.length - minKeep; r++) {
        cum += Math.exp(scores[order[r]!]! - max) / sum;
        if (cum > 1 - topP) break;
        keep[order[r]!] = false;
      }
      return keep;
    };
    const rng = Rng.fromSeed(7);
    for (let trial = 0; trial < 40; trial++) {
      const V = trial < 30 ? 8000 : 12;
      // peaked rows (a trained model), flat rows (nothing is far below), ties and -∞ (after top-k)
      const sharpness = [0.5, 3, 8, 0][trial % 4]!;
      const s = Float32Array.from({ length: V }, () => Math.round(rng.nextFloat() * 40) / 4 * sharpness);
      if (trial % 5 === 0) for (let i = 0; i < V; i += 3) s[i] = -Infinity;
      const topP = [0.95, 0.5, 0.99, 0.9][trial % 4]!;
      const minKeep = trial % 7 === 0 ? 5 : 1;
      const want = reference(s, topP, minKeep);
      new TopPLogitsWarper(topP, minKeep).process([], s, 0);
      expect([...s].map((x) => x !== -Infinity), `trial ${trial}`).toEqual(want);
    }
  });

  it('should penalize repeated tokens on both signs', () => {
    const s = Float32Array.from([2, -2, 2]);
    new RepetitionPenaltyLogitsProcessor(2).process([0, 1, 1], s, 0);
    expect([...s]).toEqual([1, -4, 2]);
  });
});

describe('Rng and samplers', () => {
  it('should be reproducible from a seed and resumable from its state', () => {
    const a = Rng.fromSeed(42);
    const b = Rng.fromSeed(42);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    expect(Rng.fromSeed(43).nextUint32()).not.toBe(xs[0]);
    const saved = a.state;
    const c = Rng.fromState(saved);
    expect(c.nextFloat()).toBe(a.nextFloat());
  });

  it('should sample in proportion to softmax and greedy should take the argmax', () => {
    const scores = Float32Array.from([Math.log(0.7), Math.log(0.2), Math.log(0.1)]);
    const sampler = new MultinomialSampler(Rng.fromSeed(1));
    const counts = [0, 0, 0];
    for (let i = 0; i < 20000; i++) counts[sampler.sample(scores)]++;
    const p = softmax(scores);
    counts.forEach((c, i) => expect(Math.abs(c / 20000 - p[i])).toBeLessThan(0.015));
    expect(new GreedySampler().sample(Float32Array.from([1, 3, 3]))).toBe(1);
    expect(() => sampler.sample(Float32Array.from([-Infinity, -Infinity]))).toThrow(/every score is -Infinity/);
  });
});

describe('stopping criteria', () => {
  it('should stop on max new tokens and on EOS per row', () => {
    expect(new MaxNewTokensCriteria(2).isDone([[1, 2, 3], [1, 2, 3, 4]], [2, 2])).toEqual([false, true]);
    expect(new EosTokenCriteria([9]).isDone([[9], [1, 9]], [1, 1])).toEqual([false, true]);
  });
});

describe('generate', () => {
  it('should prefill once, then feed one token per step (numbered steps drive the model)', async () => {
    const lm = new BigramLM(V, cyclic);
    const out = await generate(lm, [[3]], { maxNewTokens: 4 });
    expect(out.newTokens).toEqual([[4, 5, 6, 7]]);
    expect(lm.calls).toEqual(['prefill 3', 'step 4', 'step 5', 'step 6']);
  });

  it('should left-pad a batch, stop rows at EOS and fill finished rows with padding', async () => {
    const lm = new BigramLM(V, cyclic);
    const out = await generate(lm, [[1, 2], [7]], { maxNewTokens: 5, eosTokenIds: [9], padTokenId: 0 });
    expect(lm.calls[0]).toBe('prefill 1,2|_,7');
    expect(out.sequences).toEqual([[1, 2, 3, 4, 5, 6, 7], [7, 8, 9]]);
    expect(lm.calls).toContain('step 6,0');
  });

  it('should stop feeding rows that finished when the model can drop them from its cache', async () => {
    class CompactingBigramLM extends BigramLM {
      keepRows(cache: { fed: number[][]; last: number[] }, rows: number[]) {
        this.calls.push(`keep ${rows.join(',')}`);
        return { fed: rows.map((b) => cache.fed[b]!), last: rows.map((b) => cache.last[b]!) };
      }
    }
    const lm = new CompactingBigramLM(V, cyclic);
    const out = await generate(lm, [[7], [1, 2], [6]], { maxNewTokens: 5, eosTokenIds: [9], padTokenId: 0 });
    expect(out.sequences).toEqual([[7, 8, 9], [1, 2, 3, 4, 5, 6, 7], [6, 7, 8, 9]]);
    // rows 0 and 2 end at 9 on steps 2 and 3; each then leaves the cache, and row 1 goes on alone
    expect(lm.calls).toEqual(['prefill _,7|1,2|_,6', 'step 8,3,7', 'keep 1,2', 'step 4,8', 'keep 0', 'step 5', 'step 6']);
    // with a context window, the restart prefills the live rows only
    const windowed = new CompactingBigramLM(V, cyclic);
    const w = await generate(windowed, [[7], [1, 2]], { maxNewTokens: 6, eosTokenIds: [9], padTokenId: 0, contextWindow: 4 });
    expect(w.sequences).toEqual([[7, 8, 9], [1, 2, 3, 4, 5, 6, 7, 8]]);
    expect(windowed.calls).toEqual(['prefill _,7|1,2', 'step 8,3', 'keep 1', 'step 4', 'prefill 4,5', 'step 6', 'step 7']);
  });

  it('should restart rows on their latest half when the context window is full', async () => {
    const lm = new BigramLM(V, cyclic);
    const out = await generate(lm, [[1, 2], [7]], { maxNewTokens: 6, padTokenId: 0, contextWindow: 4 });
    expect(out.sequences).toEqual([[1, 2, 3, 4, 5, 6, 7, 8], [7, 8, 9, 0, 1, 2, 3]]);
    // prompt (width 2) + 2 steps fill the 4 positions; then a prefill of the latest 2 tokens, 2 steps, again
    expect(lm.calls).toEqual(['prefill 1,2|_,7', 'step 3,8', 'step 4,9', 'prefill 4,5|9,0', 'step 6,1', 'step 7,2']);
    await expect(generate(lm, [[1, 2, 3]], { maxNewTokens: 2, contextWindow: 2 })).rejects.toThrow(/longer than contextWindow 2/);
  });

  it('should write past a GPT-2\'s learned positions by sliding its context (generateTexts\' default window)', async () => {
    // gpt2-tiny has 128 positions; 150 new tokens would pass them without the window.
    const { texts, newTokens } = await generateTexts({ modelDir: join(FIX, 'gpt2-tiny'), prompts: ['hello'], samplesPerPrompt: 1, batchSize: 1, maxNewTokens: 150, temperature: 1, topP: 0.95, topK: null, seed: 1, intraOpThreads: 1 });
    expect(texts[0]!.startsWith('hello')).toBe(true);
    expect(newTokens).toBeGreaterThan(130);
    await expect(
      generateTexts({ modelDir: join(FIX, 'gpt2-tiny'), prompts: ['hello'], samplesPerPrompt: 1, batchSize: 1, maxNewTokens: 150, temperature: 1, topP: 0.95, topK: null, seed: 1, intraOpThreads: 1, contextWindow: 1000 }),
    ).rejects.toThrow(/max_position_embeddings/);
  });

  it('should sample reproducibly with a seed and resume from the returned rng state', async () => {
    const lm = new BigramLM(V, cyclic);
    const cfg = { maxNewTokens: 12, doSample: true, temperature: 1.5, topK: 3, seed: 7 };
    const a = await generate(lm, [[0]], cfg);
    const b = await generate(lm, [[0]], cfg);
    expect(a.newTokens).toEqual(b.newTokens);
    // Tokens outside the top 3 never appear: only +1, +2 or the best zero-score token.
    const c = await generate(lm, [[0]], { ...cfg, seed: 8 });
    expect(c.newTokens).not.toEqual(a.newTokens);
    const half = await generate(lm, [[0]], { ...cfg, maxNewTokens: 6 });
    const rest = await generate(lm, [half.sequences[0]], { ...cfg, maxNewTokens: 6 }, { rng: Rng.fromState(half.rngState!) });
    expect(rest.sequences[0]).toEqual(a.sequences[0]);
  });

  it('should stream every new token to a callback and stop when aborted', async () => {
    const lm = new BigramLM(V, cyclic);
    const seen: number[][][] = [];
    let ended = 0;
    const ctrl = new AbortController();
    const out = await generate(lm, [[0], [5]], { maxNewTokens: 10 }, {
      streamer: new TokenStreamer((ids) => {
        seen.push(ids);
        if (seen.length === 3) ctrl.abort();
      }, () => ended++),
      signal: ctrl.signal,
    });
    expect(seen).toEqual([[[1], [6]], [[2], [7]], [[3], [8]]]);
    expect(out.newTokens).toEqual([[1, 2, 3], [6, 7, 8]]);
    expect(ended).toBe(1);
  });
});

describe('loadGenerationConfig', () => {
  it('should read the folder defaults and apply overrides', async () => {
    const { loadGenerationConfig } = await import('../../src/engine/generation/index.js');
    expect(loadGenerationConfig(join(FIX, 'llama-tiny'), { maxNewTokens: 5 })).toMatchObject({ maxNewTokens: 5, eosTokenIds: [2], padTokenId: 1, doSample: false });
    expect(loadGenerationConfig(join(FIX, 'gpt2-tiny'), { doSample: true, topP: 0.9 })).toMatchObject({ maxNewTokens: 20, eosTokenIds: [2], doSample: true, topP: 0.9 });
  });
});

describe('TextStreamer', () => {
  it('should emit whole words only, and the full text by the end', async () => {
    const tok = loadTokenizer(join(FIX, 'gpt2-tiny'));
    const text = 'Paciente de 70 años con dolor torácico.\nAlta médica.';
    const ids = tok.encode(text).ids;
    const chunks: string[] = [];
    const streamer = new TextStreamer(tok, { onText: (t) => chunks.push(t) });
    streamer.put([[ids[0]]]); // the prompt: skipped
    for (const id of ids.slice(1)) streamer.put([[id]]);
    streamer.end();
    expect(chunks.join('')).toBe(tok.decode(ids.slice(1)));
    for (const c of chunks.slice(0, -1)) expect(c.endsWith(' ') || c.endsWith('\n')).toBe(true);
    expect(chunks.some((c) => c.includes('años'))).toBe(true);
    expect(chunks.join('')).not.toContain('\uFFFD');
  });
});

describe('kthLargest', () => {
  it('should agree with sorting on random data with ties and infinities', async () => {
    const { kthLargest } = await import('../../src/engine/generation/logits-process.js');
    const rng = Rng.fromSeed(5);
    for (let trial = 0; trial < 50; trial++) {
      const xs = Array.from({ length: 200 }, () => (rng.nextFloat() < 0.1 ? -Infinity : Math.round(rng.nextFloat() * 50)));
      const k = 1 + (rng.nextUint32() % 200);
      expect(kthLargest(xs, k)).toBe([...xs].sort((a, b) => b - a)[k - 1]);
    }
  });
});
