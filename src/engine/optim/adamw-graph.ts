// AdamW as ONNX nodes appended to a training graph, for the GPUs (../train/device-training.ts):
// the run takes the weights and moments and gives back the updated ones, so they can stay on the
// device (WebGPU) or be carried through several steps of one run (CUDA), while the batch goes in
// and the loss and gradient norm come out. The same
// update as ./adamw.ts (torch.optim.AdamW with clip_grad_norm_), in f32 throughout: the host
// sums the squared gradients in f64, so the norm, and with it the clipped step, can differ at the
// rounding level. On the CPU the host update stays: as ONNX ops it is ~12 elementwise passes
// against ./simd.ts's one (a training step 0.89–0.97× as fast, bench:device-training).
import type { Graph } from '../graph/graph.js';

/** The scalar inputs of the update, fed each step (they change with the schedule and the step count). */
export const ADAMW_SCALARS = ['b1', 'c1', 'b2', 'c2', 'eps', 'step_size', 'inv', 'decay', 'max_norm'] as const;
export type AdamWScalarName = (typeof ADAMW_SCALARS)[number];
export const adamwScalarInput = (s: AdamWScalarName): string => `adamw.${s}`;

/** Input and output names of one parameter's state. */
export const adamwNames = (param: string) => ({
  m: `adamw.m:${param}`,
  v: `adamw.v:${param}`,
  nextParam: `adamw.next:${param}`,
  nextM: `adamw.next_m:${param}`,
  nextV: `adamw.next_v:${param}`,
});
/** One parameter's state as a step's inputs and the outputs that replace them for the next step. */
export const adamwCarried = (param: string): { input: string; output: string }[] => {
  const n = adamwNames(param);
  return [
    { input: param, output: n.nextParam },
    { input: n.m, output: n.nextM },
    { input: n.v, output: n.nextV },
  ];
};
/** The global L2 norm of the gradients before clipping (float []). */
export const GRAD_NORM = 'adamw.grad_norm';

/**
 * Append the update of `params` (name, shape, and the graph value holding its gradient) to `g`.
 * Adds inputs adamw.m:<name>, adamw.v:<name> (same shape as the parameter) and the scalars of
 * ADAMW_SCALARS (float []); adds outputs adamw.next:<name>, adamw.next_m:<name>,
 * adamw.next_v:<name> and adamw.grad_norm. With
 *   scale = min(1, max_norm / (‖g‖ + 1e-6))        (max_norm = +∞: no clipping)
 *   m' = b1·m + c1·(scale·g);  v' = b2·v + c2·(scale·g)²
 *   p' = p·decay − step_size·m' / (√v'·inv + eps)
 * where the host gives c = 1 − b, step_size = lr / (1 − b1ᵗ), inv = 1 / √(1 − b2ᵗ), decay = 1 − lr·wd.
 */
export function appendAdamW(g: Graph, params: readonly { name: string; shape: readonly number[]; grad: string }[]): string[] {
  const s = Object.fromEntries(ADAMW_SCALARS.map((k) => [k, g.input(adamwScalarInput(k), 'float32', []).name])) as Record<AdamWScalarName, string>;
  const one = (opType: string, inputs: string[], attrs = {}): string => g.emit(opType, inputs, 1, attrs)[0]!;
  // each gradient's sum of squares as a [1], joined and summed: Sum has no WebGPU kernel, and on
  // the CPU it would stop the run there to wait for every gradient
  const squares = params.map((p) => one('ReduceSumSquare', [p.grad], { keepdims: 0 }));
  const joined = one('Concat', squares.map((x) => one('Unsqueeze', [x, g.ints([0]).name])), { axis: 0 });
  const norm = one('Sqrt', [one('ReduceSum', [joined], { keepdims: 0 })]);
  g.output(g.value(norm, 'float32', []), GRAD_NORM);
  const scale = one('Min', [g.scalar(1).name, one('Div', [s.max_norm, one('Add', [norm, g.scalar(1e-6).name])])]);
  const outputs = [GRAD_NORM];
  for (const p of params) {
    const n = adamwNames(p.name);
    const m = g.input(n.m, 'float32', [...p.shape]).name;
    const v = g.input(n.v, 'float32', [...p.shape]).name;
    const grad = one('Mul', [p.grad, scale]);
    const m2 = one('Add', [one('Mul', [s.b1, m]), one('Mul', [s.c1, grad])]);
    const v2 = one('Add', [one('Mul', [s.b2, v]), one('Mul', [s.c2, one('Mul', [grad, grad])])]);
    const denom = one('Add', [one('Mul', [one('Sqrt', [v2]), s.inv]), s.eps]);
    const p2 = one('Sub', [one('Mul', [p.name, s.decay]), one('Div', [one('Mul', [s.step_size, m2]), denom])]);
    for (const [value, name] of [[p2, n.nextParam], [m2, n.nextM], [v2, n.nextV]] as const) g.output(g.value(value, 'float32', [...p.shape]), name);
    outputs.push(n.nextParam, n.nextM, n.nextV);
  }
  return outputs;
}
