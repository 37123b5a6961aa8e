// The engine benchmark's workloads, shared by `bench:engine` (against PyTorch) and `check:device`
// (the engine alone on a device). Shapes: encoder hidden 256 × 4 layers at 16×128 (token
// classification, and masked-LM pre-training); decoder GPT-2 384 × 6 layers at 16×128; greedy
// generation with a KV cache; BERT-base at 8×128.
import { generate } from '../engine/generation/index.js';
import { parseDecoderConfig, type Gpt2Config } from '../engine/io/config.js';
import { parseEncoderConfig } from '../engine/models/bert/config.js';
import { EncoderModel } from '../engine/models/bert/model.js';
import { CausalLMModel } from '../engine/models/causal-lm.js';
import { gpt2 } from '../engine/models/gpt2/index.js';
import { AdamW } from '../engine/optim/adamw.js';
import { Rng } from '../engine/runtime/rng.js';
import type { Device } from '../engine/runtime/session.js';
import type { Trainable } from '../engine/train/loop.js';
import { MaskedLmBatches, packWindows } from '../engine/train/mlm.js';
import type { DeviceTraining } from '../engine/train/device-training.js';

/** What every workload's model is built with. */
export interface EngineOptions {
  seed: number;
  intraOpThreads: number;
  device: Device;
}

/** Benchmark sections, in the order they run. */
export const SECTIONS = ['encoder', 'mlm', 'decoder', 'generate', 'bert-base'] as const;

export const PROMPT = 32;
export const NEW = 64;

/** Tokens per call: training, batch tokens per step; generation, new tokens. */
export const TOKENS: Record<string, number> = {
  'encoder.train': 16 * 128,
  'encoder.forward': 16 * 128,
  'encoder.mlm': 16 * 128,
  'decoder.train': 16 * 128,
  'generate.b1': NEW,
  'generate.b16': 16 * NEW,
  'bert-base.train': 8 * 128,
};

export const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export function randomIds(n: number, V: number, seed: number): Int32Array {
  let s = seed >>> 0 || 1;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) % V;
  }
  return out;
}

/**
 * One timed call per `run`, which may take several steps (a looped training run): it returns how
 * many (default 1) and a call's time counts per step. `detail` explains the last `calls` measured
 * calls (default 5; e.g. forward+backward vs AdamW).
 */
export interface Workload {
  run: () => Promise<number | void>;
  detail?: (calls?: number) => string;
  /** Frees what the workload holds besides its model. */
  release?: () => Promise<void>;
}
export type Workloads = { names: string[]; get: (name: string) => Workload; release: () => Promise<void> };

/** The workloads `w` on `model`; release frees each workload's own state, then the model. */
function named(w: Record<string, Workload>, model: { dispose(): Promise<void> }): Workloads {
  return {
    names: Object.keys(w),
    get: (k) => w[k]!,
    release: async () => {
      for (const x of Object.values(w)) await x.release?.();
      await model.dispose();
    },
  };
}

type EncoderDims = { C: number; L: number; H: number; F: number; B: number };

/** A BERT of these dims with bert-base-uncased's vocabulary, dropout 0. */
function bertConfig(dims: EncoderDims, extra: Record<string, unknown>) {
  return parseEncoderConfig({
    model_type: 'bert', vocab_size: 30522, hidden_size: dims.C, num_hidden_layers: dims.L, num_attention_heads: dims.H,
    intermediate_size: dims.F, max_position_embeddings: 512, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, ...extra,
  });
}

export function encoderWorkloads(engine: EngineOptions, name: string, dims: EncoderDims, forward = true): Workloads {
  const labels = 43;
  const config = bertConfig(dims, { id2label: Object.fromEntries(Array.from({ length: labels }, (_, i) => [i, `L${i}`])) });
  const model = EncoderModel.fromConfig(config, engine);
  const T = 128;
  const n = dims.B * T;
  const batch = { batchSize: dims.B, seqLen: T, inputIds: randomIds(n, 30522, 1), labels: randomIds(n, labels, 2) };
  const w: Record<string, Workload> = { [`${name}.train`]: trainWorkload(model, () => batch) };
  if (forward) w[`${name}.forward`] = { run: async () => void (await model.forward(batch)) };
  return named(w, model);
}

/**
 * Masked-LM pre-training of the same encoder, as pretrainEncoder trains it: the masked-LM head
 * (decoder tied to the word embeddings), windows [CLS] … [SEP] masked afresh every step by
 * MaskedLmBatches (15%, 80/10/10), the loss over the masked positions only.
 */
function mlmWorkloads(engine: EngineOptions, dims: EncoderDims): Workloads {
  const V = 30522;
  const T = 128;
  const model = EncoderModel.fromConfig(bertConfig(dims, {}), { ...engine, head: 'masked-lm' });
  // bert-base-uncased's special ids; the text draws from 1000 up, past them and the [unused] ones
  const tokens = { first: 101, last: 102, mask: 103, pad: 0, vocabSize: V, special: [100] };
  const text = Array.from(randomIds(dims.B * (T - 2), V - 1000, 9), (id) => id + 1000);
  const source = new MaskedLmBatches(packWindows([text], T, tokens), tokens);
  const all = Array.from({ length: source.size }, (_, i) => i);
  const rng = Rng.fromSeed(engine.seed, 'mask');
  const w: Record<string, Workload> = { 'encoder.mlm': trainWorkload(model, () => source.batch(all, rng)) };
  return named(w, model);
}

/**
 * Training steps on the next batch, as the training loop takes them: where the device keeps
 * tensors between runs (WebGPU), one run with AdamW in the graph and the weights and moments on
 * the device; on CUDA one looped run of its most steps (train/looped.ts); on the CPU loss and
 * gradients, then the host's AdamW, timing the two halves.
 */
function trainWorkload<Batch>(model: Trainable<Batch>, nextBatch: () => Batch): Workload {
  const opt = new AdamW({ lr: 1e-4 });
  const lgs: number[] = [];
  const oss: number[] = [];
  let onDevice: Promise<DeviceTraining<Batch> | null> | undefined;
  /** Steps per looped run, once one ran. */
  let looped = 0;
  return {
    run: async () => {
      const batch = nextBatch();
      onDevice ??= model.deviceTraining?.() ?? Promise.resolve(null);
      const training = await onDevice;
      if (training?.kind === 'resident') {
        await training.step(batch, opt.advance(), 0, opt.state);
        return 1;
      }
      if (training?.kind === 'looped') {
        const k = (looped = training.maxSteps);
        await training.steps(new Array<Batch>(k).fill(batch), Array.from({ length: k }, () => opt.advance()), 0, opt.state);
        return k;
      }
      let t = performance.now();
      const { grads } = await model.lossAndGrads(batch);
      lgs.push(performance.now() - t);
      t = performance.now();
      opt.step(model.params, grads);
      oss.push(performance.now() - t);
      return 1;
    },
    detail: (calls = 5) => {
      if (lgs.length) return `forward+backward ${median(lgs.slice(-calls)).toFixed(0)} ms, AdamW ${median(oss.slice(-calls)).toFixed(0)} ms`;
      return looped ? `AdamW in the graph, ${looped} steps per run, the time per step` : 'AdamW in the graph, weights and moments on the device';
    },
    release: async () => void (await (await onDevice)?.dispose()),
  };
}

function decoderConfig(): Gpt2Config {
  return parseDecoderConfig({ model_type: 'gpt2', vocab_size: 8000, n_embd: 384, n_layer: 6, n_head: 6, n_inner: 1536, n_positions: 1024 }) as Gpt2Config;
}

function decoderWorkloads(engine: EngineOptions): Workloads {
  const model = CausalLMModel.fromConfig(gpt2, decoderConfig(), engine);
  const B = 16;
  const T = 128;
  const ids = randomIds(B * T, 8000, 3);
  const batch = { batchSize: B, seqLen: T, inputIds: ids, labels: ids };
  const w: Record<string, Workload> = { 'decoder.train': trainWorkload(model, () => batch) };
  return named(w, model);
}

function generateWorkloads(engine: EngineOptions): Workloads {
  // frozen, as the generation task loads its model: the weights are constants of the session
  const model = CausalLMModel.fromConfig(gpt2, decoderConfig(), { ...engine, frozen: true });
  const w: Record<string, Workload> = {};
  for (const B of [1, 16]) {
    const ids = randomIds(B * PROMPT, 8000, 4 + B);
    const prompts = Array.from({ length: B }, (_, b) => Array.from(ids.subarray(b * PROMPT, (b + 1) * PROMPT)));
    w[`generate.b${B}`] = { run: async () => void (await generate(model, prompts, { maxNewTokens: NEW })) };
  }
  return named(w, model);
}

const ENCODER: EncoderDims = { C: 256, L: 4, H: 4, F: 1024, B: 16 };

export function workloads(section: string, engine: EngineOptions): Workloads {
  switch (section) {
    case 'encoder':
      return encoderWorkloads(engine, 'encoder', ENCODER);
    case 'mlm':
      return mlmWorkloads(engine, ENCODER);
    case 'decoder':
      return decoderWorkloads(engine);
    case 'generate':
      return generateWorkloads(engine);
    case 'bert-base':
      return encoderWorkloads(engine, 'bert-base', { C: 768, L: 12, H: 12, F: 3072, B: 8 }, false);
    default:
      throw new Error(`unknown section ${section}; sections: ${SECTIONS.join(', ')}`);
  }
}

/** A timed workload: median ms over `iters` calls after `warmup`, and what that is in tokens/s. */
export interface Timing {
  name: string;
  ms: number[];
  medianMs: number;
  tokensPerSecond: number;
  detail?: string;
}

/** Times every workload of `sections` in this process (the engine alone; no PyTorch peer). */
export async function timeSections(sections: readonly string[], engine: EngineOptions, opts: { warmup: number; iters: number }, onTiming?: (t: Timing) => void): Promise<Timing[]> {
  const out: Timing[] = [];
  for (const section of sections) {
    const w = workloads(section, engine);
    try {
      for (const name of w.names) {
        for (let i = 0; i < opts.warmup; i++) await w.get(name).run();
        const ms: number[] = [];
        for (let i = 0; i < opts.iters; i++) {
          const t = performance.now();
          const steps = (await w.get(name).run()) ?? 1;
          ms.push((performance.now() - t) / steps);
        }
        const m = median(ms);
        const detail = w.get(name).detail?.(opts.iters);
        const timing: Timing = { name, ms, medianMs: m, tokensPerSecond: (TOKENS[name]! * 1000) / m, ...(detail ? { detail } : {}) };
        out.push(timing);
        onTiming?.(timing);
      }
    } finally {
      await w.release();
    }
  }
  return out;
}
