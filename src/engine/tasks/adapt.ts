/**
 * Domain adaptation of a generator (step 2 of the method): plain causal language modelling on the
 * real notes' text, either the whole model or a LoRA adapter (r 8, alpha 32 in the paper), then
 * the adapter merged so the result is an ordinary Hugging Face folder that generation loads.
 *
 * Letters: B rows per batch, T tokens per row.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Rng } from '../generation/index.js';
import { loadModel } from '../models/registry.js';
import type { CausalLMModel } from '../models/causal-lm.js';
import { addLora, mergeLora } from '../models/lora/index.js';
import { AdamW, scheduledLr } from '../optim/index.js';
import type { Device } from '../runtime/session.js';
import { loadTokenizer } from '../tokenizers/index.js';

export interface AdaptGeneratorSpec {
  /** The decoder to adapt (config.json, model.safetensors, tokenizer.json). */
  modelDir: string;
  texts: string[];
  /** Held-out texts: their perplexity under the trained model is measured at the end. */
  heldOutTexts?: string[];
  /** Receives the adapted model (LoRA merged) and its tokenizer files. */
  outputDir: string;
  /** null trains every weight. */
  lora: { r: number; alpha: number; targetModules: string[] | null } | null;
  /** T: the token stream is cut into windows of this many tokens. */
  seqLen: number;
  batchSize: number;
  epochs: number;
  maxSteps: number | null;
  lr: number;
  warmupSteps: number;
  seed: number;
  device?: Device;
  intraOpThreads?: number;
}

export interface AdaptProgress {
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
  percent: number;
}

export interface AdaptResult {
  steps: number;
  losses: number[];
  tokens: number;
  trainableParameters: number;
  /** Mean next-token cross-entropy on the held-out texts (nats), exp() of it, and their tokens; null without held-out texts. */
  heldOut: { loss: number; perplexity: number; tokens: number } | null;
}

export async function adaptGenerator(spec: AdaptGeneratorSpec, onProgress?: (p: AdaptProgress) => void, signal?: AbortSignal): Promise<AdaptResult> {
  const loaded = await loadModel(spec.modelDir, { ...(spec.device ? { device: spec.device } : {}), ...(spec.intraOpThreads ? { intraOpThreads: spec.intraOpThreads } : {}) });
  if (loaded.kind !== 'decoder') throw new Error(`${loaded.modelType} is not a causal language model; adaptation needs gpt2 or llama`);
  const model = loaded.model;
  try {
    const tokenizer = loadTokenizer(spec.modelDir);
    const eos = tokenizer.special.eos;
    // One stream of every note, each ended by EOS, cut into windows of T tokens.
    const streamOf = (texts: string[]) => texts.flatMap((text) => [...tokenizer.encode(text).ids, ...(eos !== null ? [eos] : [])]);
    const stream = streamOf(spec.texts);
    const T = Math.min(spec.seqLen, model.config.maxPositionEmbeddings);
    const windows = Math.floor(stream.length / T);
    if (windows < 1) throw new Error(`the texts hold ${stream.length} tokens, fewer than one window of ${T}; lower seqLen or add text`);
    if (spec.lora) addLora(model, { r: spec.lora.r, alpha: spec.lora.alpha, seed: spec.seed, ...(spec.lora.targetModules ? { targetModules: spec.lora.targetModules } : {}) });
    const trainable = model.trainableNames();
    const B = Math.min(spec.batchSize, windows);
    const stepsPerEpoch = Math.floor(windows / B);
    const totalSteps = Math.min(spec.maxSteps ?? Infinity, stepsPerEpoch * spec.epochs);
    const opt = new AdamW({ lr: spec.lr, weightDecay: 0.01 });
    const rng = Rng.fromSeed(spec.seed);
    const losses: number[] = [];
    let order: number[] = [];
    for (let step = 0; step < totalSteps; step++) {
      if (signal?.aborted) throw new Error('adaptation cancelled');
      if (step % stepsPerEpoch === 0) order = shuffled(windows, rng);
      const first = (step % stepsPerEpoch) * B;
      const inputIds: number[] = [];
      for (let b = 0; b < B; b++) {
        const w = order[first + b]!;
        for (let t = 0; t < T; t++) inputIds.push(stream[w * T + t]!);
      }
      // Labels are the inputs: the model shifts them by one, as Hugging Face's causal LMs do.
      const { loss, grads } = await model.lossAndGrads({ batchSize: B, seqLen: T, inputIds, labels: inputIds });
      if (!Number.isFinite(loss)) throw new Error(`loss became ${loss} at step ${step + 1}; lower the learning rate`);
      const lr = scheduledLr(spec.lr, step, { kind: 'linear', warmupSteps: spec.warmupSteps, totalSteps });
      opt.step(model.params, grads, { lr, maxGradNorm: 1 });
      losses.push(loss);
      onProgress?.({ step: step + 1, totalSteps, loss, lr, percent: (100 * (step + 1)) / totalSteps });
    }
    if (spec.lora) mergeLora(model);
    const heldOut = spec.heldOutTexts?.length ? await heldOutLoss(model, streamOf(spec.heldOutTexts), T, B) : null;
    await model.save(spec.outputDir);
    for (const file of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
      const from = path.join(spec.modelDir, file);
      if (fs.existsSync(from)) fs.copyFileSync(from, path.join(spec.outputDir, file));
    }
    const trainableParameters = trainable.reduce((n, name) => n + (model.params.get(name)?.length ?? 0), 0);
    return { steps: losses.length, losses, tokens: stream.length, trainableParameters, heldOut };
  } finally {
    model.dispose();
  }
}

/** Mean next-token cross-entropy over the stream cut into windows of T (the last partial window too). */
async function heldOutLoss(model: CausalLMModel, stream: number[], T: number, B: number) {
  const V = model.config.vocabSize;
  let total = 0;
  let count = 0;
  const rows: number[][] = [];
  for (let at = 0; at + 1 < stream.length; at += T) rows.push(stream.slice(at, at + T));
  for (let r = 0; r < rows.length; r += B) {
    const batch = rows.slice(r, r + B);
    const width = Math.max(...batch.map((row) => row.length));
    const inputIds = batch.flatMap((row) => [...row, ...new Array(width - row.length).fill(0)]);
    const logits = await model.forward({ batchSize: batch.length, seqLen: width, inputIds });
    batch.forEach((row, b) => {
      for (let t = 0; t + 1 < row.length; t++) {
        const base = (b * width + t) * V;
        let max = -Infinity;
        for (let v = 0; v < V; v++) max = Math.max(max, logits[base + v]!);
        let sum = 0;
        for (let v = 0; v < V; v++) sum += Math.exp(logits[base + v]! - max);
        total += Math.log(sum) + max - logits[base + row[t + 1]!]!;
        count++;
      }
    });
  }
  const loss = count ? total / count : 0;
  return { loss, perplexity: Math.exp(loss), tokens: count };
}

/** 0…n−1 in a seeded random order (Fisher–Yates). */
function shuffled(n: number, rng: Rng): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}
