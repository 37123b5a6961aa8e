// Training loop for token classification (NER): seeded data order, AdamW with a warm-up
// schedule, gradient clipping and accumulation, resumable checkpoints, NaN detection, progress
// events, and (with a validate hook) per-epoch validation, best weights kept, early stopping. Plain data in and out, so it runs the same in a worker thread.
import type { EncoderBatch, EncoderModel } from '../models/bert/model.js';
import { AdamW, GradAccumulator } from '../optim/adamw.js';
import { scheduledLr } from '../optim/schedule.js';
import type { ScheduleKind } from '../optim/schedule.js';
import { latestCheckpoint, loadBestWeights, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import type { TrainerState } from './checkpoint.js';
import { Rng } from './rng.js';

/** One tokenized example: token ids and one label id per token (-100 = ignored). */
export interface TokenClassificationExample {
  inputIds: number[];
  labels: number[];
}

export interface TrainConfig {
  /** Examples per micro-batch (default 16). */
  batchSize?: number;
  /** Micro-batches per optimizer step (default 1). */
  gradAccumSteps?: number;
  /** Passes over the data (default 1); `maxSteps` caps the optimizer steps. */
  epochs?: number;
  maxSteps?: number;
  /** Longer examples are truncated to this many tokens (default: the model's maximum). */
  maxSeqLen?: number;
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** Clip the global gradient norm to this (default 1.0; 0 disables). */
  maxGradNorm?: number;
  schedule?: ScheduleKind;
  warmupSteps?: number;
  /** Warm-up as a share of all steps; used when warmupSteps is not given. */
  warmupRatio?: number;
  /** Seeds the data order (default 0). */
  seed?: number;
  /** Where checkpoints go; without it none are written. */
  checkpointDir?: string;
  /** Write a checkpoint every this many optimizer steps (default: only at the end, and after every validation). */
  checkpointEverySteps?: number;
  /** Stop after this many validations in a row without a better score (needs hooks.validate; default: never). */
  earlyStoppingPatience?: number;
}

export interface TrainProgress {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** 0–100. */
  percent: number;
}

export interface TrainResult {
  steps: number;
  losses: number[];
  checkpoint: string | null;
  /** hooks.validate's score after every epoch (and after the last step). */
  validations: Validation[];
  /** The step whose weights the model holds at the end: the best validation's, or null without validation. */
  bestStep: number | null;
  stoppedEarly: boolean;
}

export interface Validation {
  step: number;
  epoch: number;
  score: number;
}

export class NonFiniteLossError extends Error {
  constructor(
    readonly step: number,
    readonly loss: number,
    readonly lastCheckpoint: string | null,
  ) {
    super(
      `loss became ${loss} at step ${step}; training stopped. ${lastCheckpoint ? `The last good checkpoint is ${lastCheckpoint}` : 'No checkpoint was written yet'} (HINT: lower the learning rate or enable gradient clipping).`,
    );
    this.name = 'NonFiniteLossError';
  }
}

/**
 * One optimizer step on one batch: loss and gradients (dropout on), global-norm clipping,
 * AdamW in place. The building block of the loop, for callers that drive their own.
 */
export async function trainStep(
  model: EncoderModel,
  opt: AdamW,
  batch: EncoderBatch,
  opts: { lr?: number; maxGradNorm?: number } = {},
): Promise<{ loss: number; gradNorm: number }> {
  const { loss, grads } = await model.lossAndGrads(batch);
  if (!Number.isFinite(loss)) throw new NonFiniteLossError(opt.state.step + 1, loss, null);
  const { gradNorm } = opt.step(model.params, grads, { maxGradNorm: opts.maxGradNorm ?? 1, ...(opts.lr !== undefined ? { lr: opts.lr } : {}) });
  return { loss, gradNorm };
}

/** Pad examples to the longest in the batch: attention 0 and label -100 on padding. */
export function collate(examples: TokenClassificationExample[], padTokenId: number, maxSeqLen: number): EncoderBatch {
  const T = Math.min(maxSeqLen, Math.max(...examples.map((e) => e.inputIds.length)));
  const B = examples.length;
  const inputIds = new Int32Array(B * T).fill(padTokenId);
  const attentionMask = new Int32Array(B * T);
  const labels = new Int32Array(B * T).fill(-100);
  examples.forEach((e, b) => {
    if (e.labels.length !== e.inputIds.length) throw new Error(`example ${b}: ${e.inputIds.length} tokens but ${e.labels.length} labels`);
    const n = Math.min(T, e.inputIds.length);
    for (let t = 0; t < n; t++) {
      inputIds[b * T + t] = e.inputIds[t]!;
      attentionMask[b * T + t] = 1;
      labels[b * T + t] = e.labels[t]!;
    }
  });
  return { batchSize: B, seqLen: T, inputIds, attentionMask, labels };
}

function resolved(cfg: TrainConfig) {
  return {
    batchSize: cfg.batchSize ?? 16,
    gradAccumSteps: cfg.gradAccumSteps ?? 1,
    epochs: cfg.epochs ?? 1,
    lr: cfg.lr ?? 5e-5,
    betas: cfg.betas ?? ([0.9, 0.999] as [number, number]),
    eps: cfg.eps ?? 1e-8,
    weightDecay: cfg.weightDecay ?? 0.01,
    maxGradNorm: cfg.maxGradNorm ?? 1.0,
    schedule: cfg.schedule ?? ('linear' as ScheduleKind),
    warmupSteps: cfg.warmupSteps ?? 0,
    seed: cfg.seed ?? 0,
  };
}

/**
 * Train `model` in place. With `resume: true` and a checkpoint in `checkpointDir`, continues
 * exactly where that checkpoint left off (weights, optimizer moments, step, data order, RNG).
 */
export async function trainTokenClassification(
  model: EncoderModel,
  data: TokenClassificationExample[],
  config: TrainConfig,
  hooks: {
    onProgress?: (p: TrainProgress) => void;
    resume?: boolean;
    signal?: AbortSignal;
    /** Scores the model as it stands (higher is better); called after every epoch and after the last step. */
    validate?: (at: { step: number; epoch: number }) => Promise<number>;
  } = {},
): Promise<TrainResult> {
  if (model.head !== 'token-classification') throw new Error(`trainTokenClassification needs a token-classification model, got head '${model.head}'`);
  if (!data.length) throw new Error('trainTokenClassification: no training examples');
  const c = resolved(config);
  const maxPositions = model.config.modelType === 'roberta' ? model.config.maxPositions - model.config.padTokenId - 1 : model.config.maxPositions;
  const maxSeqLen = Math.min(config.maxSeqLen ?? maxPositions, maxPositions);
  const batchesPerEpoch = Math.ceil(data.length / c.batchSize);
  const stepsPerEpoch = Math.ceil(batchesPerEpoch / c.gradAccumSteps);
  const totalSteps = Math.min(config.maxSteps ?? Infinity, stepsPerEpoch * c.epochs);
  const patience = hooks.validate ? (config.earlyStoppingPatience ?? 0) : 0;
  const configKey = JSON.stringify({ ...c, n: data.length, maxSeqLen, totalSteps, ...(hooks.validate ? { validate: true, patience } : {}) });

  const opt = new AdamW({ lr: c.lr, betas: c.betas, eps: c.eps, weightDecay: c.weightDecay });
  const rng = new Rng(c.seed + 1);
  model.dropoutRng.state = new Rng(c.seed + 2).state; // dropout masks follow the run's seed (a resume restores them)
  let state: TrainerState = { version: 1, step: 0, epoch: 0, batchInEpoch: 0, order: rng.permutation(data.length), rngState: rng.state, dropoutRngState: model.dropoutRng.state, losses: [], configKey };
  let lastCheckpoint: string | null = null;
  /** A copy of the weights at the best validation so far. */
  let best: Map<string, Float32Array> | null = null;
  const snapshot = (): Map<string, Float32Array> => new Map([...model.params].map(([name, w]) => [name, w.slice()]));
  if (hooks.resume && config.checkpointDir) {
    const dir = await latestCheckpoint(config.checkpointDir);
    if (dir) {
      state = await loadCheckpoint(dir, model, opt);
      if (state.configKey !== configKey) throw new Error(`${dir}: checkpoint was written by a different training configuration; refusing to resume`);
      rng.state = state.rngState;
      lastCheckpoint = dir;
      if (state.bestStep !== undefined) best = state.bestStep === state.step ? snapshot() : await loadBestWeights(dir, model);
    }
  }
  const validations = (state.validations ??= []);

  const acc = new GradAccumulator();
  const schedule = { kind: c.schedule, warmupSteps: config.warmupSteps ?? Math.round((config.warmupRatio ?? 0) * totalSteps), totalSteps };
  while (state.step < totalSteps && !state.stoppedEarly) {
    hooks.signal?.throwIfAborted();
    acc.reset();
    let lossSum = 0;
    let micro = 0;
    let single: Map<string, Float32Array> | null = null;
    while (micro < c.gradAccumSteps && state.batchInEpoch < batchesPerEpoch) {
      const idx = state.order.slice(state.batchInEpoch * c.batchSize, (state.batchInEpoch + 1) * c.batchSize);
      const batch = collate(idx.map((i) => data[i]!), model.config.padTokenId, maxSeqLen);
      const { loss, grads } = await model.lossAndGrads(batch);
      if (!Number.isFinite(loss)) throw new NonFiniteLossError(state.step + 1, loss, lastCheckpoint);
      if (c.gradAccumSteps === 1) single = grads; // no copy: the model's reused gradient buffers
      else acc.add(grads);
      lossSum += loss;
      micro++;
      state.batchInEpoch++;
    }
    const grads = single ?? acc.finish(1 / micro);
    const lr = scheduledLr(c.lr, state.step, schedule);
    const { gradNorm } = opt.step(model.params, grads, { lr, maxGradNorm: c.maxGradNorm });
    state.step++;
    const loss = lossSum / micro;
    state.losses.push(loss);
    if (state.batchInEpoch >= batchesPerEpoch) {
      state.epoch++;
      state.batchInEpoch = 0;
      state.order = rng.permutation(data.length);
    }
    state.rngState = rng.state;
    state.dropoutRngState = model.dropoutRng.state;
    const validated = hooks.validate && (state.batchInEpoch === 0 || state.step === totalSteps);
    if (validated) {
      const score = await hooks.validate!({ step: state.step, epoch: state.epoch });
      validations.push({ step: state.step, epoch: state.epoch, score });
      if (state.bestStep === undefined || score > state.bestScore!) {
        state.bestStep = state.step;
        state.bestScore = score;
        state.sinceBest = 0;
        best = snapshot();
      } else {
        state.sinceBest = (state.sinceBest ?? 0) + 1;
        if (patience && state.sinceBest >= patience) state.stoppedEarly = true;
      }
    }
    hooks.onProgress?.({ step: state.step, totalSteps, epoch: state.epoch, loss, lr, gradNorm, percent: (100 * state.step) / totalSteps });
    const every = config.checkpointEverySteps;
    if (config.checkpointDir && ((every && state.step % every === 0) || state.step === totalSteps || validated)) {
      // the best weights go into the checkpoint too once the model has moved on from them
      lastCheckpoint = await saveCheckpoint(config.checkpointDir, model, opt, state, 1, state.bestStep !== undefined && state.bestStep !== state.step ? best : null);
    }
  }
  if (best && state.bestStep !== state.step) for (const [name, w] of best) model.params.get(name)!.set(w);
  return { steps: state.step, losses: state.losses, checkpoint: lastCheckpoint, validations, bestStep: state.bestStep ?? null, stoppedEarly: Boolean(state.stoppedEarly) };
}
