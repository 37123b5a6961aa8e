// The engine's one training loop, for every kind of training: token classification, causal LM
// (adaptation and pre-training of decoders) and masked LM (pre-training of encoders). A model is a
// Trainable (its weights, and loss and gradients for a batch); a BatchSource turns example indices
// into that model's batches. The loop owns everything else: seeded data order, AdamW with a
// warm-up schedule, gradient clipping and accumulation, non-finite-loss stops, cancellation,
// resumable checkpoints, progress, validation with the best weights kept, and early stopping.
// On a GPU the model may also offer training with AdamW in its graph (device-training.ts): the
// loop then takes a resident step (WebGPU) or a looped run of several steps (CUDA) where it would
// take loss, gradients and the host's update, with the same schedule, data order and bookkeeping.
// Plain data in and out, so it runs the same in a worker thread.
import { AdamW, GradAccumulator } from '../optim/adamw.js';
import { scheduledLr } from '../optim/schedule.js';
import type { ScheduleKind } from '../optim/schedule.js';
import { Rng } from '../runtime/rng.js';
import type { DeviceTraining } from './device-training.js';
import { latestCheckpoint, loadBestWeights, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import type { TrainerState } from './checkpoint.js';

/** What the loop trains. */
export interface Trainable<B> {
  /** The weights training changes, by name and shape: what a checkpoint stores and restores. */
  readonly specs: readonly { name: string; shape: readonly number[] }[];
  /** Weights by name (those in `specs` and any frozen ones). */
  readonly params: Map<string, Float32Array>;
  /** Mean loss of one batch and its gradient for every weight in `specs`, in training mode. */
  lossAndGrads(batch: B): Promise<{ loss: number; grads: Map<string, Float32Array> }>;
  /** The generator of dropout masks, when the model has dropout: checkpointed with the run. */
  readonly dropoutRng?: Rng;
  /**
   * Training with AdamW in the graph and the weights and moments where the model's device works
   * (device-training.ts), or null for the host's AdamW (the CPU). The loop uses it when a step is
   * one micro-batch (gradient accumulation sums gradients on the host).
   */
  deviceTraining?(): Promise<DeviceTraining<B> | null>;
}

/** The training examples of one epoch, served as batches. */
export interface BatchSource<B> {
  /** Examples per epoch. */
  readonly size: number;
  /** The batch of these examples. `rng` is the run's (checkpointed) for per-batch randomness such as masked-LM masking. */
  batch(indices: readonly number[], rng: Rng): B;
}

export interface TrainConfig {
  /** Examples per micro-batch (default 16). */
  batchSize?: number;
  /** Micro-batches per optimizer step (default 1). */
  gradAccumSteps?: number;
  /** Passes over the data (default 1); `maxSteps` caps the optimizer steps. */
  epochs?: number;
  maxSteps?: number;
  /** Longer examples are truncated to this many tokens (token classification; default: the model's maximum). */
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
  /** Seeds the data order and per-batch randomness (default 0). */
  seed?: number;
  /** Where checkpoints go; without it none are written. */
  checkpointDir?: string;
  /** Write a checkpoint every this many optimizer steps (default: only at the end, and after every validation). */
  checkpointEverySteps?: number;
  /** Validate every this many optimizer steps as well as after every epoch (needs hooks.validate). */
  validateEverySteps?: number;
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

export interface Validation {
  step: number;
  epoch: number;
  score: number;
}

export interface TrainResult {
  steps: number;
  losses: number[];
  checkpoint: string | null;
  /** hooks.validate's scores (after every epoch, every validateEverySteps, and after the last step). */
  validations: Validation[];
  /** The step whose weights the model holds at the end: the best validation's, or null without validation. */
  bestStep: number | null;
  stoppedEarly: boolean;
}

export interface TrainHooks {
  onProgress?: (p: TrainProgress) => void;
  /** Continue from the latest checkpoint in config.checkpointDir, if there is one. */
  resume?: boolean;
  signal?: AbortSignal;
  /** Scores the model as it stands (higher is better). */
  validate?: (at: { step: number; epoch: number }) => Promise<number>;
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

/** Optimizer steps a run of `config` over `examples` takes (before early stopping). */
export function plannedSteps(examples: number, config: TrainConfig): number {
  const c = resolved(config);
  const stepsPerEpoch = Math.ceil(Math.ceil(examples / c.batchSize) / c.gradAccumSteps);
  return Math.min(config.maxSteps ?? Infinity, stepsPerEpoch * c.epochs);
}

/**
 * Train `model` in place on `source`. With `hooks.resume` and a checkpoint in
 * `config.checkpointDir`, continues exactly where that checkpoint left off (weights, optimizer
 * moments, step, data order, RNGs, validations), so a resumed run equals an uninterrupted one.
 * With `hooks.validate`, the model ends on the best-scoring weights.
 */
export async function trainLoop<B>(model: Trainable<B>, source: BatchSource<B>, config: TrainConfig, hooks: TrainHooks = {}): Promise<TrainResult> {
  if (!source.size) throw new Error('training needs at least one example');
  const c = resolved(config);
  const batchesPerEpoch = Math.ceil(source.size / c.batchSize);
  const totalSteps = plannedSteps(source.size, config);
  const patience = hooks.validate ? (config.earlyStoppingPatience ?? 0) : 0;
  const validateEvery = hooks.validate ? (config.validateEverySteps ?? 0) : 0;
  const configKey = JSON.stringify({ ...c, n: source.size, maxSeqLen: config.maxSeqLen ?? null, totalSteps, ...(hooks.validate ? { validate: true, patience, validateEvery } : {}) });

  const opt = new AdamW({ lr: c.lr, betas: c.betas, eps: c.eps, weightDecay: c.weightDecay });
  const rng = Rng.fromSeed(c.seed, 'batches');
  // dropout masks follow the run's seed (a resume restores them)
  if (model.dropoutRng) model.dropoutRng.state = Rng.fromSeed(c.seed, 'dropout').state;
  let state: TrainerState = {
    version: 2,
    step: 0,
    epoch: 0,
    batchInEpoch: 0,
    order: rng.permutation(source.size),
    rngState: rng.state,
    dropoutRngState: model.dropoutRng?.state ?? null,
    losses: [],
    configKey,
  };
  let lastCheckpoint: string | null = null;
  /** A copy of the weights at the best validation so far. */
  let best: Map<string, Float32Array> | null = null;
  const snapshot = (): Map<string, Float32Array> => new Map(model.specs.map((s) => [s.name, model.params.get(s.name)!.slice()]));
  if (hooks.resume && config.checkpointDir) {
    const dir = await latestCheckpoint(config.checkpointDir);
    if (dir) {
      state = await loadCheckpoint(dir, model, opt);
      if (state.configKey !== configKey) throw new Error(`${dir}: checkpoint was written by a different training configuration; refusing to resume`);
      rng.state = state.rngState;
      if (model.dropoutRng && state.dropoutRngState) model.dropoutRng.state = state.dropoutRngState;
      lastCheckpoint = dir;
      if (state.bestStep !== undefined) best = state.bestStep === state.step ? snapshot() : await loadBestWeights(dir, model);
    }
  }
  const validations = (state.validations ??= []);

  const acc = new GradAccumulator();
  const schedule = { kind: c.schedule, warmupSteps: config.warmupSteps ?? Math.round((config.warmupRatio ?? 0) * totalSteps), totalSteps };
  const onDevice = c.gradAccumSteps === 1 && state.step < totalSteps ? ((await model.deviceTraining?.()) ?? null) : null;
  /** The step whose weights and moments the host copies hold (resident training keeps them on the device). */
  let pulledAt = state.step;
  const pull = async (): Promise<void> => {
    if (onDevice?.kind === 'resident' && pulledAt !== state.step) await onDevice.pull(opt.state);
    pulledAt = state.step;
  };
  /** Steps from here to the next point where the host must look at the run: an epoch's end, a validation, a checkpoint, the last step. */
  const untilBoundary = (): number => {
    const every = config.checkpointDir ? (config.checkpointEverySteps ?? 0) : 0;
    const to = (n: number): number => (n > 0 ? n - (state.step % n) : Infinity);
    return Math.min(batchesPerEpoch - state.batchInEpoch, totalSteps - state.step, to(validateEvery), to(every));
  };
  const batchAt = (k: number): B => source.batch(state.order.slice((state.batchInEpoch + k) * c.batchSize, (state.batchInEpoch + k + 1) * c.batchSize), rng);
  try {
    while (state.step < totalSteps && !state.stoppedEarly) {
      hooks.signal?.throwIfAborted();
      /** The optimizer steps this pass takes (several in one looped run, else one), each with the batches it consumed. */
      let steps: { loss: number; lr: number; gradNorm: number; batches: number }[];
      const lr = scheduledLr(c.lr, state.step, schedule);
      if (onDevice?.kind === 'looped') {
        const n = Math.min(onDevice.maxSteps, untilBoundary());
        const lrs = Array.from({ length: n }, (_, k) => scheduledLr(c.lr, state.step + k, schedule));
        const batches = Array.from({ length: n }, (_, k) => batchAt(k));
        const done = await onDevice.steps(batches, lrs.map((x) => opt.advance(x)), c.maxGradNorm, opt.state);
        steps = done.map((r, k) => ({ ...r, lr: lrs[k]!, batches: 1 }));
      } else if (onDevice?.kind === 'resident') {
        const r = await onDevice.step(batchAt(0), opt.advance(lr), c.maxGradNorm, opt.state);
        steps = [{ ...r, lr, batches: 1 }];
      } else {
        acc.reset();
        let lossSum = 0;
        let micro = 0;
        let single: Map<string, Float32Array> | null = null;
        while (micro < c.gradAccumSteps && state.batchInEpoch + micro < batchesPerEpoch) {
          const { loss, grads } = await model.lossAndGrads(batchAt(micro));
          if (!Number.isFinite(loss)) throw new NonFiniteLossError(state.step + 1, loss, lastCheckpoint);
          if (c.gradAccumSteps === 1) single = grads; // no copy: the model's reused gradient buffers
          else acc.add(grads);
          lossSum += loss;
          micro++;
        }
        const { gradNorm } = opt.step(model.params, single ?? acc.finish(1 / micro), { lr, maxGradNorm: c.maxGradNorm });
        steps = [{ loss: lossSum / micro, lr, gradNorm, batches: micro }];
      }
      for (const { loss, lr, gradNorm, batches } of steps) {
        // a looped run stops at its first non-finite loss, leaving the host copies as they were before it
        if (!Number.isFinite(loss)) throw new NonFiniteLossError(state.step + 1, loss, lastCheckpoint);
        state.step++;
        state.losses.push(loss);
        state.batchInEpoch += batches;
        if (state.batchInEpoch >= batchesPerEpoch) {
          state.epoch++;
          state.batchInEpoch = 0;
          state.order = rng.permutation(source.size);
        }
        state.rngState = rng.state;
        state.dropoutRngState = model.dropoutRng?.state ?? null;
        // (a looped pass ends where one of these can be true: untilBoundary)
        const validated = Boolean(hooks.validate) && (state.batchInEpoch === 0 || state.step === totalSteps || (validateEvery > 0 && state.step % validateEvery === 0));
        if (validated) {
          await pull();
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
        if (config.checkpointDir && ((every && state.step % every === 0) || state.step === totalSteps || validated || state.stoppedEarly)) {
          // the best weights go into the checkpoint too once the model has moved on from them
          await pull();
          lastCheckpoint = await saveCheckpoint(config.checkpointDir, model, opt, state, state.bestStep !== undefined && state.bestStep !== state.step ? best : null);
        }
      }
    }
    await pull();
  } finally {
    await onDevice?.dispose();
  }
  if (best && state.bestStep !== state.step) for (const [name, w] of best) model.params.get(name)!.set(w);
  return { steps: state.step, losses: state.losses, checkpoint: lastCheckpoint, validations, bestStep: state.bestStep ?? null, stoppedEarly: Boolean(state.stoppedEarly) };
}
