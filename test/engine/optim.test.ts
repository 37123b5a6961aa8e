import { describe, expect, it } from 'vitest';
import { EncoderModel, parseEncoderConfig } from '../../src/engine/models/bert/index.js';
import { AdamW, GradAccumulator, clipGradNorm, lrMultiplier } from '../../src/engine/optim/index.js';
import { trainStep } from '../../src/engine/train/index.js';

describe('AdamW', () => {
  it('should match a hand-computed torch.optim.AdamW step (decoupled decay, bias correction)', () => {
    const p = new Map([['w', Float32Array.from([1, -2])]]);
    const g = new Map([['w', Float32Array.from([0.5, 0.1])]]);
    const opt = new AdamW({ lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.1 });
    opt.step(p, g);
    // step 1: m̂ = g, v̂ = g², update = lr·g/(|g|+eps) = ±lr; decay first: p(1 - lr·wd)
    expect(p.get('w')![0]).toBeCloseTo(1 * 0.99 - 0.1, 6);
    expect(p.get('w')![1]).toBeCloseTo(-2 * 0.99 - 0.1, 6);
    opt.step(p, g);
    const m = 0.9 * 0.05 + 0.1 * 0.5; // m after 2 steps for element 0
    const v = 0.999 * 0.00025 + 0.001 * 0.25;
    const want = (0.89 * 0.99) - (0.1 / (1 - 0.81)) * m / (Math.sqrt(v) / Math.sqrt(1 - 0.999 ** 2) + 1e-8);
    expect(p.get('w')![0]).toBeCloseTo(want, 6);
  });
});

describe('schedules', () => {
  const o = { warmupSteps: 10, totalSteps: 110 };
  it('should warm up linearly then decay linearly to 0', () => {
    expect([0, 5, 10, 60, 110].map((s) => lrMultiplier(s, { kind: 'linear', ...o }))).toEqual([0, 0.5, 1, 0.5, 0]);
  });
  it('should warm up linearly then follow a half cosine', () => {
    expect([5, 10, 60, 110].map((s) => +lrMultiplier(s, { kind: 'cosine', ...o }).toFixed(6))).toEqual([0.5, 1, 0.5, 0]);
  });
});

describe('gradient clipping and accumulation', () => {
  it('should clip to the global norm and report the norm before', () => {
    const g = new Map([['a', Float32Array.from([3])], ['b', Float32Array.from([4])]]);
    expect(clipGradNorm(g, 1)).toBeCloseTo(5);
    expect(g.get('a')![0]).toBeCloseTo(0.6, 5);
    expect(g.get('b')![0]).toBeCloseTo(0.8, 5);
    expect(clipGradNorm(g, 10)).toBeCloseTo(1, 5);
    expect(g.get('a')![0]).toBeCloseTo(0.6, 5);
  });

  it('should make two half-batches accumulate to the full-batch gradient', async () => {
    const cfg = parseEncoderConfig({ model_type: 'bert', vocab_size: 30, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 16, num_labels: 3, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 });
    const m = EncoderModel.fromConfig(cfg, { seed: 2 });
    const ids = [1, 2, 3, 4, 5, 6, 7, 8];
    const labels = [0, 1, 2, 0, 1, 2, 2, 1];
    const full = await m.lossAndGrads({ batchSize: 2, seqLen: 4, inputIds: ids, labels });
    const fullGrads = new Map([...full.grads].map(([k, v]) => [k, Float32Array.from(v)]));
    const acc = new GradAccumulator();
    for (const half of [0, 1]) {
      const r = await m.lossAndGrads({ batchSize: 1, seqLen: 4, inputIds: ids.slice(half * 4, half * 4 + 4), labels: labels.slice(half * 4, half * 4 + 4) });
      acc.add(r.grads);
    }
    const sum = acc.finish(0.5);
    for (const [k, v] of fullGrads) v.forEach((x, i) => expect(Math.abs(sum.get(k)![i]! - x), k).toBeLessThan(1e-6 + 1e-4 * Math.abs(x)));
  });
});

describe('trainStep', () => {
  it('should lower the loss on a repeated batch', async () => {
    const cfg = parseEncoderConfig({ model_type: 'roberta', vocab_size: 30, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 16, num_labels: 3 });
    const m = EncoderModel.fromConfig(cfg, { seed: 5 });
    const opt = new AdamW({ lr: 1e-2 });
    const batch = { batchSize: 1, seqLen: 6, inputIds: [0, 5, 6, 7, 2, 1], attentionMask: [1, 1, 1, 1, 1, 0], labels: [-100, 0, 1, 2, -100, -100] };
    const first = await trainStep(m, opt, batch);
    let last = first;
    for (let i = 0; i < 30; i++) last = await trainStep(m, opt, batch);
    expect(first.gradNorm).toBeGreaterThan(0);
    expect(last.loss).toBeLessThan(0.5 * first.loss);
  });
});
