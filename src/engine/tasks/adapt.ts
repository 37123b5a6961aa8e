/**
 * Domain adaptation of a generator (step 2 of the method): plain causal language modelling on the
 * real notes' text, either the whole model or a LoRA adapter (r 8, alpha 32 in the paper), then
 * the adapter merged so the result is an ordinary Hugging Face folder that generation loads.
 *
 * Letters: B rows per batch, T tokens per row.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadModel } from '../models/registry.js';
import type { CausalBatch, CausalLMModel } from '../models/causal-lm.js';
import { addLora, mergeLora } from '../models/lora/index.js';
import type { Device } from '../runtime/session.js';
import { loadTokenizer, type TextTokenizer } from '../tokenizers/index.js';
import { trainLoop, type BatchSource, type TrainConfig, type TrainHooks, type TrainProgress, type Trainable } from '../train/index.js';

export interface AdaptGeneratorSpec {
  /** The decoder to adapt (config.json, model.safetensors, tokenizer.json). */
  modelDir: string;
  texts: string[];
  /**
   * Held-out texts: their perplexity is measured after every epoch (and every validateEverySteps),
   * the best weights are the ones saved, and training stops after earlyStoppingPatience
   * validations without a better one.
   */
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
  validateEverySteps?: number;
  earlyStoppingPatience?: number;
  /** Checkpoints go here (every checkpointEverySteps steps and after every validation); with `resume`, a run continues from the latest. */
  checkpointDir?: string;
  checkpointEverySteps?: number;
  resume?: boolean;
  device?: Device;
  intraOpThreads?: number;
}

/** Mean next-token cross-entropy (nats) on held-out text, exp() of it, and the tokens it was measured on. */
export interface HeldOutLoss {
  loss: number;
  perplexity: number;
  tokens: number;
}

/** Training progress; `validation` comes with the steps that measured the held-out text. */
export type AdaptProgress = TrainProgress & { validation?: HeldOutLoss };

/**
 * The loop hooks causal-LM adaptation and pre-training (causal and masked) share: validation by
 * `measure` (score = −its loss; none without it), every measurement kept by step, and each attached
 * to the progress report of the step it was made at.
 */
export function heldOutHooks<M>(
  measure: (() => Promise<M>) | null,
  lossOf: (m: M) => number,
  spec: Pick<AdaptGeneratorSpec, 'resume'>,
  onProgress?: (p: TrainProgress & { validation?: M }) => void,
  signal?: AbortSignal,
): { hooks: TrainHooks; measured: Map<number, M> } {
  const measured = new Map<number, M>();
  let pending: M | null = null;
  const hooks: TrainHooks = {
    onProgress: (p) => {
      onProgress?.(pending ? { ...p, validation: pending } : p);
      pending = null;
    },
    ...(spec.resume ? { resume: true } : {}),
    ...(signal ? { signal } : {}),
    ...(measure
      ? {
          validate: async ({ step }) => {
            pending = await measure();
            measured.set(step, pending);
            return -lossOf(pending);
          },
        }
      : {}),
  };
  return { hooks, measured };
}

/** The loop settings causal-LM adaptation and pre-training (causal and masked) share: linear warm-up and decay, weight decay 0.01, checkpoints every 50 steps by default. */
export function languageModelTrainConfig(
  spec: Pick<AdaptGeneratorSpec, 'epochs' | 'maxSteps' | 'lr' | 'warmupSteps' | 'seed' | 'validateEverySteps' | 'earlyStoppingPatience' | 'checkpointDir' | 'checkpointEverySteps'>,
  batchSize: number,
): TrainConfig {
  return {
    batchSize,
    epochs: spec.epochs,
    ...(spec.maxSteps ? { maxSteps: spec.maxSteps } : {}),
    lr: spec.lr,
    warmupSteps: spec.warmupSteps,
    schedule: 'linear',
    weightDecay: 0.01,
    seed: spec.seed,
    ...(spec.validateEverySteps ? { validateEverySteps: spec.validateEverySteps } : {}),
    ...(spec.earlyStoppingPatience ? { earlyStoppingPatience: spec.earlyStoppingPatience } : {}),
    ...(spec.checkpointDir ? { checkpointDir: spec.checkpointDir, checkpointEverySteps: spec.checkpointEverySteps ?? 50 } : {}),
  };
}

export interface AdaptResult {
  steps: number;
  losses: number[];
  tokens: number;
  trainableParameters: number;
  /** The held-out loss of the saved weights; null without held-out texts. */
  heldOut: HeldOutLoss | null;
  /** Every held-out measurement, by step; the step whose weights were saved; whether early stopping ended the run. */
  validations: Array<{ step: number } & HeldOutLoss>;
  bestStep: number | null;
  stoppedEarly: boolean;
}

export async function adaptGenerator(spec: AdaptGeneratorSpec, onProgress?: (p: AdaptProgress) => void, signal?: AbortSignal): Promise<AdaptResult> {
  const loaded = await loadModel(spec.modelDir, { ...(spec.device ? { device: spec.device } : {}), ...(spec.intraOpThreads ? { intraOpThreads: spec.intraOpThreads } : {}) });
  if (loaded.kind !== 'decoder') {
    await loaded.model.dispose();
    throw new Error(`${loaded.modelType} is not a causal language model; adaptation needs gpt2 or llama`);
  }
  const model = loaded.model;
  try {
    const tokenizer = loadTokenizer(spec.modelDir);
    const streamOf = (texts: string[]) => noteStream(tokenizer, texts);
    const stream = streamOf(spec.texts);
    const T = Math.min(spec.seqLen, model.config.maxPositionEmbeddings);
    const windows = Math.floor(stream.length / T);
    if (windows < 1) throw new Error(`the texts hold ${stream.length} tokens, fewer than one window of ${T}; lower seqLen or add text`);
    if (spec.lora) addLora(model, { r: spec.lora.r, alpha: spec.lora.alpha, seed: spec.seed, ...(spec.lora.targetModules ? { targetModules: spec.lora.targetModules } : {}) });
    const B = Math.min(spec.batchSize, windows);
    const heldOutStream = spec.heldOutTexts?.length ? streamOf(spec.heldOutTexts) : null;
    const { hooks, measured } = heldOutHooks(heldOutStream ? () => heldOutLoss(model, heldOutStream, T, B) : null, (m) => m.loss, spec, onProgress, signal);
    const result = await trainLoop(decoderTrainable(model), causalWindows(stream, T), languageModelTrainConfig(spec, B), hooks);
    const trainableParameters = model.trainableSpecs().reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
    if (spec.lora) mergeLora(model);
    // the saved weights' held-out loss: measured when they were validated (a resumed run measures again)
    const heldOut = heldOutStream ? (measured.get(result.bestStep ?? -1) ?? (await heldOutLoss(model, heldOutStream, T, B))) : null;
    await model.save(spec.outputDir);
    for (const file of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
      const from = path.join(spec.modelDir, file);
      if (fs.existsSync(from)) fs.copyFileSync(from, path.join(spec.outputDir, file));
    }
    const validations = result.validations.map((v) => ({ step: v.step, ...(measured.get(v.step) ?? { loss: -v.score, perplexity: Math.exp(-v.score), tokens: heldOut?.tokens ?? 0 }) }));
    return { steps: result.steps, losses: result.losses, tokens: stream.length, trainableParameters, heldOut, validations, bestStep: result.bestStep, stoppedEarly: result.stoppedEarly };
  } finally {
    await model.dispose();
  }
}

/** One stream of every note, each ended by EOS: what adaptation cuts into windows of T tokens. */
function noteStream(tokenizer: TextTokenizer, texts: string[]): number[] {
  const eos = tokenizer.special.eos;
  return texts.flatMap((text) => [...tokenizer.encode(text).ids, ...(eos !== null ? [eos] : [])]);
}

/**
 * The held-out loss of a saved decoder on texts, measured as adaptation validates: the notes as one
 * EOS-separated stream in windows of T = min(seqLen, the model's positions), B windows per forward.
 */
export async function measureHeldOut(modelDir: string, texts: string[], options: { seqLen: number; batchSize: number; device?: Device; intraOpThreads?: number }): Promise<HeldOutLoss> {
  const loaded = await loadModel(modelDir, { frozen: true, ...(options.device ? { device: options.device } : {}), ...(options.intraOpThreads ? { intraOpThreads: options.intraOpThreads } : {}) });
  if (loaded.kind !== 'decoder') {
    await loaded.model.dispose();
    throw new Error(`${loaded.modelType} is not a causal language model; perplexity needs gpt2 or llama`);
  }
  try {
    const T = Math.min(options.seqLen, loaded.model.config.maxPositionEmbeddings);
    return await heldOutLoss(loaded.model, noteStream(loadTokenizer(modelDir), texts), T, options.batchSize);
  } finally {
    await loaded.model.dispose();
  }
}

/** A decoder as the training loop sees it: its trainable weights (all, or only a LoRA adapter's). */
export function decoderTrainable(model: CausalLMModel): Trainable<CausalBatch> {
  return { specs: model.trainableSpecs(), params: model.params, lossAndGrads: (batch) => model.lossAndGrads(batch), deviceTraining: () => model.deviceTraining() };
}

/** A token stream cut into windows of T tokens: causal-LM examples whose labels are their inputs (the model shifts them). */
export function causalWindows(stream: readonly number[], T: number): BatchSource<CausalBatch> {
  return {
    size: Math.floor(stream.length / T),
    batch: (indices) => {
      const inputIds = new Array<number>(indices.length * T);
      indices.forEach((w, b) => {
        for (let t = 0; t < T; t++) inputIds[b * T + t] = stream[w * T + t]!;
      });
      return { batchSize: indices.length, seqLen: T, inputIds, labels: inputIds };
    },
  };
}

/** Mean next-token cross-entropy over the stream cut into windows of T (the last partial window too). */
async function heldOutLoss(model: CausalLMModel, stream: number[], T: number, B: number): Promise<HeldOutLoss> {
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
