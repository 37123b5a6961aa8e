// What the two on-device trainings (./resident.ts, ./looped.ts) share on the host side: the feeds
// of the update's scalars, the feeds of a training step's state, and writing the device's state
// back into the host copies (the model's params, the optimizer's moments).
import { ADAMW_SCALARS, adamwNames, adamwScalarInput } from '../optim/adamw-graph.js';
import type { AdamWScalarName } from '../optim/adamw-graph.js';
import type { AdamWState } from '../optim/adamw.js';
import type { AdamWScalars } from '../optim/simd.js';
import type { HostTensor } from '../runtime/session.js';

export type StepScalars = Omit<AdamWScalars, 'gradScale'>;

/** The update's scalar inputs for one step: AdamW.advance's `scalars`, clipping at `maxGradNorm` (0: none). */
export function scalarFeeds(scalars: StepScalars, maxGradNorm: number): Record<string, HostTensor> {
  const values: Record<AdamWScalarName, number> = {
    b1: scalars.b1,
    c1: 1 - scalars.b1,
    b2: scalars.b2,
    c2: 1 - scalars.b2,
    eps: scalars.eps,
    step_size: scalars.stepSize,
    inv: scalars.inv,
    decay: scalars.decay,
    max_norm: maxGradNorm > 0 ? maxGradNorm : Infinity,
  };
  return Object.fromEntries(ADAMW_SCALARS.map((k) => [adamwScalarInput(k), { data: Float32Array.of(values[k]), shape: [] }]));
}

/** A weight's name and shape. */
export interface WeightSpec {
  name: string;
  shape: readonly number[];
}

/** The weights of `fixed` (those that do not train) that `inputNames` takes: the others are constants of the session. */
export function fixedWeightFeeds(fixed: readonly WeightSpec[], params: ReadonlyMap<string, Float32Array>, inputNames: readonly string[]): Record<string, HostTensor> {
  const taken = new Set(inputNames);
  return Object.fromEntries(fixed.filter((s) => taken.has(s.name)).map((s) => [s.name, { data: params.get(s.name)!, shape: [...s.shape] }]));
}

/** The host copies of the trainable weights' state: <name>, adamw.m:<name> and adamw.v:<name> (zeros for moments absent from `moments`). */
export function trainableStateFeeds(trainable: readonly WeightSpec[], params: ReadonlyMap<string, Float32Array>, moments: AdamWState): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {};
  for (const s of trainable) {
    const n = adamwNames(s.name);
    const shape = [...s.shape];
    const size = params.get(s.name)!.length;
    feeds[s.name] = { data: params.get(s.name)!, shape };
    feeds[n.m] = { data: moments.m.get(s.name) ?? new Float32Array(size), shape };
    feeds[n.v] = { data: moments.v.get(s.name) ?? new Float32Array(size), shape };
  }
  return feeds;
}

/** Write one parameter's state from the device into the host copies. */
export function writeBack(name: string, values: { p: Float32Array; m: Float32Array; v: Float32Array }, params: Map<string, Float32Array>, moments: AdamWState): void {
  params.get(name)!.set(values.p);
  for (const [map, x] of [[moments.m, values.m], [moments.v, values.v]] as const) {
    const host = map.get(name);
    if (host?.length === x.length) host.set(x);
    else map.set(name, x);
  }
}
