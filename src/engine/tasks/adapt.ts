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
import { addLora, mergeLora } from '../models/lora/index.js';
import { AdamW, scheduledLr } from '../optim/index.js';
import type { Device } from '../runtime/session.js';
import { loadTokenizer } from '../tokenizers/index.js';

export interface AdaptGeneratorSpec {
  /** The decoder to adapt (config.json, model.safetensors, tokenizer.json). */
  modelDir: string;
  texts: string[];
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
}

export async function adaptGenerator(spec: AdaptGeneratorSpec, onProgress?: (p: AdaptProgress) => void, signal?: AbortSignal): Promise<AdaptResult> {
  const loaded = await loadModel(spec.modelDir, { ...(spec.device ? { device: spec.device } : {}), ...(spec.intraOpThreads ? { intraOpThreads: spec.intraOpThreads } : {}) });
  if (loaded.kind !== 'decoder') throw new Error(`${loaded.modelType} is not a causal language model; adaptation needs gpt2 or llama`);
  const model = loaded.model;
  try {
    const tokenizer = loadTokenizer(spec.modelDir);
    const eos = tokenizer.special.eos;
    // One stream of every note, each ended by EOS, cut into windows of T tokens.
    const stream = spec.texts.flatMap((text) => [...tokenizer.encode(text).ids, ...(eos !== null ? [eos] : [])]);
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
    await model.save(spec.outputDir);
    for (const file of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
      const from = path.join(spec.modelDir, file);
      if (fs.existsSync(from)) fs.copyFileSync(from, path.join(spec.outputDir, file));
    }
    const trainableParameters = trainable.reduce((n, name) => n + (model.params.get(name)?.length ?? 0), 0);
    return { steps: losses.length, losses, tokens: stream.length, trainableParameters };
  } finally {
    model.dispose();
  }
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
