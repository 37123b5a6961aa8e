import { describe, expect, it } from 'vitest';
import { EncoderModel, parseEncoderConfig } from '../../src/engine/models/bert/index.js';
import { AdamW, GradAccumulator, globalNorm, lrMultiplier } from '../../src/engine/optim/index.js';
import { adamwScalar } from '../../src/engine/optim/adamw.js';
import { Arena, CHUNK, adamwSimd } from '../../src/engine/optim/simd.js';
import { trainLoop } from '../../src/engine/train/index.js';

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
  it('should clip to the global norm inside the step, report the norm before, and leave the gradients alone', () => {
    const g = new Map([['a', Float32Array.from([3])], ['b', Float32Array.from([4])]]);
    expect(globalNorm(g.values())).toBeCloseTo(5, 6);
    const clipped = new AdamW({ lr: 0.1, weightDecay: 0 });
    const p = new Map([['a', Float32Array.of(0)], ['b', Float32Array.of(0)]]);
    expect(clipped.step(p, g, { maxGradNorm: 1 }).gradNorm).toBeCloseTo(5, 5);
    clipped.step(p, g, { maxGradNorm: 1 });
    expect([...g.values()].map((x) => x[0])).toEqual([3, 4]);
    // the same two steps with gradients pre-scaled to norm 1 (coefficient 1 / (5 + 1e-6))
    const scaled = new AdamW({ lr: 0.1, weightDecay: 0 });
    const q = new Map([['a', Float32Array.of(0)], ['b', Float32Array.of(0)]]);
    const pre = new Map([...g].map(([k, v]) => [k, Float32Array.from(v, (x) => x / (5 + 1e-6))]));
    scaled.step(q, pre);
    expect(scaled.step(q, pre).gradNorm).toBeNaN();
    for (const k of ['a', 'b']) expect(p.get(k)![0]).toBeCloseTo(q.get(k)![0]!, 6);
    // a norm under the maximum leaves the update as it is
    const [loose, plain] = [new AdamW({ lr: 0.1 }), new AdamW({ lr: 0.1 })];
    const [r, u] = [0, 1].map(() => new Map([['a', Float32Array.of(1)], ['b', Float32Array.of(1)]]));
    loose.step(r!, pre, { maxGradNorm: 10 });
    plain.step(u!, pre);
    expect([...r!.values()].map((x) => x[0])).toEqual([...u!.values()].map((x) => x[0]));
  });

  it('should give the same update from the TypeScript fallback (tensors too large for wasm memory) as from SIMD', () => {
    const n = CHUNK + 5;
    const rand = (k: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + k) * (k + 1));
    const [slot] = Arena.allocate([n]);
    const m = rand(1).map((x) => x * 0.01);
    const v = rand(2).map((x) => x * x * 1e-4);
    slot!.m.set(m);
    slot!.v.set(v);
    const [p1, p2, g] = [rand(3), rand(3), rand(4)];
    const scalars = { b1: 0.9, b2: 0.999, decay: 1 - 1e-3 * 0.01, stepSize: 1e-3 / (1 - 0.9 ** 3), inv: 1 / Math.sqrt(1 - 0.999 ** 3), eps: 1e-8, gradScale: 0.5 };
    adamwSimd(slot!, p1, g, scalars);
    adamwScalar(p2, g, m, v, scalars);
    for (let i = 0; i < n; i++) expect(Math.abs(p1[i]! - p2[i]!)).toBeLessThan(1e-6 * (1 + Math.abs(p2[i]!)));
    for (let i = 0; i < n; i++) expect(Math.abs(slot!.m[i]! - m[i]!)).toBeLessThan(1e-6 * (1 + Math.abs(m[i]!)));
  });

  it('should update long tensors (several SIMD chunks, a ragged tail) as the f64 formula does, and adopt moments set from a checkpoint', () => {
    const n = 2 * CHUNK + 7;
    const rand = (seed: number): Float32Array => {
      let s = seed;
      return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1);
    };
    const p0 = rand(1);
    const grads = [rand(2), rand(3)];
    const opt = new AdamW({ lr: 1e-2, weightDecay: 0.1 });
    const p = new Map([['w', Float32Array.from(p0)]]);
    for (const g of grads) opt.step(p, new Map([['w', g]]));
    // reference in f64
    const want = Float64Array.from(p0);
    const m = new Float64Array(n);
    const v = new Float64Array(n);
    grads.forEach((g, k) => {
      const t = k + 1;
      for (let i = 0; i < n; i++) {
        want[i]! *= 1 - 1e-2 * 0.1;
        m[i] = 0.9 * m[i]! + 0.1 * g[i]!;
        v[i] = 0.999 * v[i]! + 0.001 * g[i]! * g[i]!;
        want[i]! -= (1e-2 / (1 - 0.9 ** t)) * m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(1 - 0.999 ** t) + 1e-8);
      }
    });
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(p.get('w')![i]! - want[i]!));
    expect(worst).toBeLessThan(1e-6);
    expect(opt.state.m.get('w')!.length).toBe(n);
    expect(Math.abs(opt.state.m.get('w')![n - 1]! - m[n - 1]!)).toBeLessThan(1e-7);

    // moments replaced from outside (as loadCheckpoint does) are copied in and used
    const resumed = new AdamW({ lr: 1e-2, weightDecay: 0.1 });
    resumed.state = { step: 2, m: new Map([['w', Float32Array.from(opt.state.m.get('w')!)]]), v: new Map([['w', Float32Array.from(opt.state.v.get('w')!)]]) };
    const a = new Map([['w', Float32Array.from(p.get('w')!)]]);
    const g3 = new Map([['w', rand(4)]]);
    resumed.step(a, g3);
    opt.step(p, g3);
    expect(a.get('w')).toEqual(p.get('w'));
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

describe('trainLoop on one repeated batch', () => {
  it('should lower the loss', async () => {
    const cfg = parseEncoderConfig({ model_type: 'roberta', vocab_size: 30, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 16, num_labels: 3 });
    const m = EncoderModel.fromConfig(cfg, { seed: 5 });
    const batch = { batchSize: 1, seqLen: 6, inputIds: [0, 5, 6, 7, 2, 1], attentionMask: [1, 1, 1, 1, 1, 0], labels: [-100, 0, 1, 2, -100, -100] };
    const seen: number[] = [];
    const res = await trainLoop(m, { size: 1, batch: () => batch }, { batchSize: 1, epochs: 31, lr: 1e-2, schedule: 'constant' }, { onProgress: (p) => seen.push(p.gradNorm) });
    expect(seen[0]).toBeGreaterThan(0);
    expect(res.losses.at(-1)!).toBeLessThan(0.5 * res.losses[0]!);
  });
});
