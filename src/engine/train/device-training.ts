// Training beyond the host's AdamW: the update in the training graph (../optim/adamw-graph.ts)
// and the weights and moments kept where the device works. Which way depends on what
// onnxruntime-node can do with the device's memory: WebGPU tensors stay on the device between
// runs (./resident.ts); CUDA memory does not, so several steps run in one (./looped.ts). The
// CPU keeps the host's AdamW (one SIMD pass, twice as fast as the update as ONNX ops).
import type { Graph } from '../graph/graph.js';
import { weightConstants } from '../models/frozen.js';
import { encodeModel } from '../onnx/model.js';
import { appendAdamW } from '../optim/adamw-graph.js';
import { Session } from '../runtime/session.js';
import type { Device, HostTensor, SessionOptions } from '../runtime/session.js';
import { LoopedTraining, loopTrainingStep } from './looped.js';
import { ResidentTraining, residentDeviceOutputs } from './resident.js';
import type { WeightSpec } from './update-state.js';

export type DeviceTrainingKind = 'resident' | 'looped';
export type DeviceTraining<B> = ResidentTraining<B> | LoopedTraining<B>;

/**
 * Steps one looped run takes at most: the weights and moments cross the bus once per run each
 * way, so their cost per step falls as 1/LOOPED_STEPS (BERT-base: 1.3 GiB each way, ~80 MiB a
 * step at 16), while the batches of one run and their dropout masks are held at once.
 */
export const LOOPED_STEPS = 16;

/** How training on `device` keeps its state, or null for the host's AdamW. */
export function deviceTrainingKind(device: Device): DeviceTrainingKind | null {
  return device === 'webgpu' ? 'resident' : device === 'cuda' ? 'looped' : null;
}

/** A model's training step, for createDeviceTraining. */
export interface TrainingStep<B> {
  /** The model's training graph, a copy of its own (the update is appended to it), with output 'loss'. */
  graph: Graph;
  /** The weights that train, each with the graph value of its gradient. */
  trainable: readonly (WeightSpec & { grad: string })[];
  /** The graph's other weights (a LoRA adapter's base): constants of the session where they fit. */
  fixed: readonly WeightSpec[];
  params: Map<string, Float32Array>;
  /** A step's other inputs for a batch (ids, labels, masks, dropout masks); its buffers may be reused by the next call. */
  batchFeeds: (batch: B) => Record<string, HostTensor>;
  /** The session's device, threads and name (its placement reports say which training this is). */
  session: SessionOptions;
}

/** The training of `step` that keeps its state as `kind` says (any kind runs on any device: tests run both on the CPU). */
export async function createDeviceTraining<B>(kind: DeviceTrainingKind, step: TrainingStep<B>): Promise<DeviceTraining<B>> {
  const outputs = appendAdamW(step.graph, step.trainable);
  const constants = weightConstants(true, new Map(step.fixed.map((s) => [s.name, step.params.get(s.name)!])));
  const model = step.graph.toModel(['loss', ...outputs], { keepAllInputs: false, constants });
  const options: SessionOptions = { ...step.session, memoryPattern: false };
  if (kind === 'resident') {
    const names = step.trainable.map((s) => s.name);
    const session = await Session.create(encodeModel(model), { ...options, name: `${step.session.name} with AdamW, weights on the device`, deviceOutputs: residentDeviceOutputs(names) });
    return new ResidentTraining(session, step.trainable, step.fixed, step.params, step.batchFeeds);
  }
  const looped = loopTrainingStep(model, step.trainable, new Set(step.params.keys()));
  const session = await Session.create(encodeModel(looped.model), { ...options, name: `${step.session.name} with AdamW, up to ${LOOPED_STEPS} steps per run` });
  return new LoopedTraining(session, looped.perStep, step.trainable, step.fixed, step.params, step.batchFeeds, LOOPED_STEPS);
}
