// Training several steps per run (CUDA). onnxruntime-node keeps no CUDA memory between runs (its
// device outputs are WebGPU buffers only), so the weights and AdamW's moments would cross the bus
// every step; instead the training step with its AdamW update (../optim/adamw-graph.ts) becomes
// the body of an ONNX Loop, the weights and moments its loop-carried values, and one run trains
// up to `maxSteps` batches stacked along a new first axis: the state crosses the bus once per run
// each way, the batches go in together, and the losses and gradient norms come out stacked. The
// host copies (the model's params, the optimizer's moments) are up to date after every run. The
// training loop ends a run where it must look at them (an epoch's end, a validation, a
// checkpoint); progress events and cancellation come between runs.
import type { GraphData, ModelData, NodeData, ValueInfo } from '../onnx/model.js';
import { adamwCarried, adamwNames, adamwScalarInput, GRAD_NORM } from '../optim/adamw-graph.js';
import type { AdamWState } from '../optim/adamw.js';
import type { HostTensor, Session, TypedData } from '../runtime/session.js';
import { fixedWeightFeeds, scalarFeeds, trainableStateFeeds, writeBack, type StepScalars, type WeightSpec } from './update-state.js';

/** Scalars of the update that change every step (the schedule's rate, the bias corrections). */
const PER_STEP_SCALARS = (['step_size', 'inv', 'decay'] as const).map(adamwScalarInput);

const ITERATION = 'loop.iteration';
const COND = 'loop.cond';
const TRIP_COUNT = 'loop.steps';
const stacked = (name: string): string => `steps:${name}`;
const initial = (name: string): string => `initial:${name}`;
const final = (name: string): string => `final:${name}`;

/**
 * The model that runs `step` (a training step's ModelData) `loop.steps` times: inputs
 * steps:<name> ([K, ...]) for every name of `perStep`, initial:<name> for every carried input,
 * and `step`'s other inputs unchanged (the body reads them from the enclosing graph); outputs
 * final:<name> for every carried input and steps:<name> ([K, ...]) for every name of `scanned`.
 */
export function loopModel(step: ModelData, opts: { perStep: readonly string[]; carried: readonly { input: string; output: string }[]; scanned: readonly string[] }): ModelData {
  const inputs = new Map(step.inputs.map((v) => [v.name, v]));
  const outputs = new Map(step.outputs.map((v) => [v.name, v]));
  const find = (map: Map<string, ValueInfo>, name: string): ValueInfo => {
    const v = map.get(name);
    if (!v) throw new Error(`loopModel: the step has no value '${name}'`);
    return v;
  };
  const perStep = new Set(opts.perStep);
  const carried = new Set(opts.carried.map((c) => c.input));
  const body: GraphData = {
    graphName: `${step.graphName}-step`,
    nodes: [
      ...opts.perStep.map((name): NodeData => ({ opType: 'Gather', inputs: [stacked(name), ITERATION], outputs: [name], attributes: { axis: { kind: 'int', value: 0 } } })),
      { opType: 'Identity', inputs: [`${COND}_in`], outputs: [`${COND}_out`] },
      ...step.nodes,
    ],
    initializers: step.initializers,
    inputs: [{ name: ITERATION, dtype: 'int64', shape: [] }, { name: `${COND}_in`, dtype: 'bool', shape: [] }, ...opts.carried.map((c) => find(inputs, c.input))],
    outputs: [{ name: `${COND}_out`, dtype: 'bool', shape: [] }, ...opts.carried.map((c) => find(outputs, c.output)), ...opts.scanned.map((n) => find(outputs, n))],
  };
  const loop: NodeData = {
    opType: 'Loop',
    inputs: [TRIP_COUNT, COND, ...opts.carried.map((c) => initial(c.input))],
    outputs: [...opts.carried.map((c) => final(c.input)), ...opts.scanned.map(stacked)],
    attributes: { body: { kind: 'graph', value: body } },
  };
  return {
    graphName: `${step.graphName}-looped`,
    nodes: [loop],
    initializers: [{ name: COND, dtype: 'bool', dims: [], raw: Uint8Array.of(1) }],
    inputs: [
      { name: TRIP_COUNT, dtype: 'int64', shape: [] },
      ...opts.perStep.map((name) => ({ ...find(inputs, name), name: stacked(name), shape: ['loop_steps', ...find(inputs, name).shape] })),
      ...opts.carried.map((c) => ({ ...find(inputs, c.input), name: initial(c.input) })),
      ...step.inputs.filter((v) => !perStep.has(v.name) && !carried.has(v.name)),
    ],
    outputs: [...opts.carried.map((c) => ({ ...find(outputs, c.output), name: final(c.input) })), ...opts.scanned.map((n) => ({ ...find(outputs, n), name: stacked(n), shape: ['loop_steps', ...find(outputs, n).shape] }))],
    opset: step.opset,
    ...(step.irVersion !== undefined ? { irVersion: step.irVersion } : {}),
  };
}

/** Stack equal-shaped host tensors along a new first axis. */
function stack(ts: readonly HostTensor[]): HostTensor {
  const first = ts[0]!;
  const n = first.data.length;
  const data = new (first.data.constructor as new (n: number) => TypedData)(n * ts.length);
  ts.forEach((t, i) => (data as Float32Array).set(t.data as Float32Array, i * n));
  return { data, shape: [ts.length, ...first.shape], ...(first.dtype ? { dtype: first.dtype } : {}) };
}

const sameShape = (a: HostTensor, b: HostTensor): boolean => a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);

export class LoopedTraining<B> {
  readonly kind = 'looped';

  /**
   * `session` runs loopModel of a training step with appendAdamW's update over `trainable`, its
   * step inputs `perStep` stacked; `fixed` are the weights that do not train; `batchFeeds` gives
   * a step's other inputs; one run takes at most `maxSteps` batches.
   */
  constructor(
    private readonly session: Session,
    private readonly perStep: readonly string[],
    private readonly trainable: readonly WeightSpec[],
    private readonly fixed: readonly WeightSpec[],
    private readonly params: Map<string, Float32Array>,
    private readonly batchFeeds: (batch: B) => Record<string, HostTensor>,
    readonly maxSteps: number,
  ) {}

  /**
   * Train on `batches` in order, batch i with `scalars[i]` (AdamW.advance's), clipping at
   * `maxGradNorm` (0: none), starting from the host's weights and `moments` (zeros where absent).
   * Consecutive batches of the same shapes go into one run. Returns each step's loss and gradient
   * norm (NaN when not clipping). A run whose losses are not all finite ends it there, without
   * touching the host copies; the losses returned then end with that run's.
   */
  async steps(batches: readonly B[], scalars: readonly StepScalars[], maxGradNorm: number, moments: AdamWState): Promise<{ loss: number; gradNorm: number }[]> {
    if (batches.length !== scalars.length) throw new Error(`LoopedTraining: ${batches.length} batches but ${scalars.length} sets of scalars`);
    // each batch's own inputs, copied: batchFeeds may reuse its buffers (dropout masks) on the next call
    const feeds = batches.map((b, i) => {
      const f = { ...this.batchFeeds(b), ...scalarFeeds(scalars[i]!, maxGradNorm) };
      return Object.fromEntries(this.perStep.map((n) => [n, { ...f[n]!, data: f[n]!.data.slice() }])) as Record<string, HostTensor>;
    });
    const fixed = { ...scalarFeeds(scalars[0]!, maxGradNorm), ...fixedWeightFeeds(this.fixed, this.params, this.session.inputNames) };
    const out: { loss: number; gradNorm: number }[] = [];
    for (let start = 0; start < feeds.length; ) {
      let end = start + 1;
      while (end < feeds.length && end - start < this.maxSteps && this.perStep.every((n) => sameShape(feeds[end]![n]!, feeds[start]![n]!))) end++;
      const group = feeds.slice(start, end);
      const run: Record<string, HostTensor> = { ...fixed, [TRIP_COUNT]: { data: BigInt64Array.of(BigInt(group.length)), shape: [] } };
      for (const n of this.perStep) run[stacked(n)] = stack(group.map((f) => f[n]!));
      for (const [name, t] of Object.entries(trainableStateFeeds(this.trainable, this.params, moments))) run[initial(name)] = t;
      const result = await this.session.run(run);
      const losses = result[stacked('loss')]!.data as Float32Array;
      const norms = result[stacked(GRAD_NORM)]!.data as Float32Array;
      for (let i = 0; i < group.length; i++) out.push({ loss: losses[i]!, gradNorm: maxGradNorm > 0 ? norms[i]! : NaN });
      if (!losses.every(Number.isFinite)) return out;
      for (const s of this.trainable) {
        const n = adamwNames(s.name);
        const [p, m, v] = [s.name, n.m, n.v].map((x) => result[final(x)]!.data as Float32Array);
        writeBack(s.name, { p: p!, m: m!, v: v! }, this.params, moments);
      }
      start = end;
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/**
 * The looped model of `step` (a training step's ModelData with appendAdamW's update over
 * `trainable`): the batch inputs and the per-step scalars are stacked, the trainable weights and
 * their moments carried, the loss and gradient norm scanned. Returns it with its stacked inputs.
 */
export function loopTrainingStep(step: ModelData, trainable: readonly WeightSpec[], weights: ReadonlySet<string>): { model: ModelData; perStep: string[] } {
  const carried = trainable.flatMap((s) => adamwCarried(s.name));
  const isCarried = new Set(carried.map((c) => c.input));
  // every input but the state and the weights that do not train; of the update's scalars, those that change per step
  const perStep = step.inputs.map((v) => v.name).filter((name) => !isCarried.has(name) && !weights.has(name) && (!name.startsWith('adamw.') || (PER_STEP_SCALARS as string[]).includes(name)));
  return { model: loopModel(step, { perStep, carried, scanned: ['loss', GRAD_NORM] }), perStep };
}
