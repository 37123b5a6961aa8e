// Timing of one full training step (forward + backward + AdamW) and of a forward pass for an
// encoder configuration; the default is the project's benchmark: hidden 256, 4 layers,
// 4 heads, FFN 1024, vocab 30522, batch 16×128 (PyTorch on the same machine: 262 ms / 77 ms).
import { EncoderModel } from '../models/bert/model.js';
import { parseEncoderConfig } from '../models/bert/config.js';
import { AdamW } from '../optim/adamw.js';
import type { Device } from '../runtime/session.js';
import { Rng } from './rng.js';

export interface EncoderBenchOptions {
  hiddenSize?: number;
  numLayers?: number;
  numHeads?: number;
  intermediateSize?: number;
  vocabSize?: number;
  numLabels?: number;
  batchSize?: number;
  seqLen?: number;
  warmup?: number;
  iterations?: number;
  device?: Device;
  intraOpThreads?: number;
  contribOps?: boolean;
  /** Hidden and attention dropout in the training step (default 0.1, BERT's). */
  dropout?: number;
}

export interface EncoderBenchResult {
  params: number;
  /** Median milliseconds. */
  forwardMs: number;
  lossAndGradsMs: number;
  optimizerMs: number;
  trainStepMs: number;
  tokensPerSecond: number;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchmarkEncoder(o: EncoderBenchOptions = {}): Promise<EncoderBenchResult> {
  const L = o.numLabels ?? 43;
  const config = parseEncoderConfig({
    model_type: 'bert',
    vocab_size: o.vocabSize ?? 30522,
    hidden_size: o.hiddenSize ?? 256,
    num_hidden_layers: o.numLayers ?? 4,
    num_attention_heads: o.numHeads ?? 4,
    intermediate_size: o.intermediateSize ?? 1024,
    max_position_embeddings: 512,
    hidden_dropout_prob: o.dropout ?? 0.1,
    attention_probs_dropout_prob: o.dropout ?? 0.1,
    id2label: Object.fromEntries(Array.from({ length: L }, (_, i) => [i, `L${i}`])),
  });
  const model = EncoderModel.fromConfig(config, { seed: 0, ...(o.device ? { device: o.device } : {}), ...(o.intraOpThreads ? { intraOpThreads: o.intraOpThreads } : {}), ...(o.contribOps !== undefined ? { contribOps: o.contribOps } : {}) });
  const B = o.batchSize ?? 16;
  const T = o.seqLen ?? 128;
  const rng = new Rng(1);
  const batch = {
    batchSize: B,
    seqLen: T,
    inputIds: Int32Array.from({ length: B * T }, () => Math.floor(rng.next() * config.vocabSize)),
    labels: Int32Array.from({ length: B * T }, () => Math.floor(rng.next() * L)),
  };
  const opt = new AdamW({ lr: 1e-4 });
  const fwd: number[] = [];
  const lg: number[] = [];
  const os: number[] = [];
  const n = (o.warmup ?? 2) + (o.iterations ?? 5);
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    await model.forward(batch);
    const f = performance.now() - t;
    t = performance.now();
    const { grads } = await model.lossAndGrads(batch);
    const g = performance.now() - t;
    t = performance.now();
    opt.step(model.params, grads);
    const s = performance.now() - t;
    if (i >= (o.warmup ?? 2)) {
      fwd.push(f);
      lg.push(g);
      os.push(s);
    }
  }
  await model.release();
  const params = [...model.params.values()].reduce((a, p) => a + p.length, 0);
  const step = median(lg.map((x, i) => x + os[i]!));
  return { params, forwardMs: median(fwd), lossAndGradsMs: median(lg), optimizerMs: median(os), trainStepMs: step, tokensPerSecond: (B * T * 1000) / step };
}
