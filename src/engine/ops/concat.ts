import type { Tensor } from '../graph/graph.js';
import { normAxis, zerosLike } from './util.js';
import type { GradRule } from './util.js';
import { slice } from './slice.js';

export function concat(xs: Tensor[], axis: number): Tensor {
  const a = normAxis(axis, xs[0]!.rank);
  const out = [...xs[0]!.shape];
  const sizes = xs.map((x) => x.shape[a]!);
  out[a] = sizes.every((s) => typeof s === 'number') ? (sizes as number[]).reduce((p, q) => p + q, 0) : sizes.join('+');
  return xs[0]!.graph.apply('Concat', xs, [{ dtype: xs[0]!.dtype, shape: out }], { axis: a })[0]!;
}
// Each input gets its slice of the gradient.
export const concatGrad: GradRule = (g, { inputs, attrs }) => {
  const a = attrs.axis as number;
  let off = 0;
  return inputs.map((x) => {
    const n = x.shape[a];
    if (typeof n !== 'number') throw new Error(`Concat backward needs fixed sizes on axis ${a}; ${x} has '${n}'`);
    const s = slice(g, a, off, off + n);
    off += n;
    return s;
  });
};

/**
 * Split along one axis into pieces of fixed `sizes` (one ONNX Split). The backward concatenates
 * the pieces' gradients (zeros for a piece nothing used): one pass, where slices would pad
 * each gradient to the full extent and add them up.
 */
export function split(x: Tensor, axis: number, sizes: number[]): Tensor[] {
  const a = normAxis(axis, x.rank);
  const dim = x.shape[a];
  if (typeof dim === 'number' && sizes.reduce((p, q) => p + q, 0) !== dim) throw new Error(`split: sizes [${sizes}] do not add up to axis ${a} of ${x}`);
  const outs = sizes.map((n) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === a ? n : d)) }));
  return x.graph.apply('Split', [x], outs, { axis: a, sizes }, (gr) => gr.emit('Split', [x, gr.ints(sizes)], sizes.length, { axis: a }));
}
export const splitGrad: GradRule = (_g, { outputs, attrs }, outGrads) =>
  [concat(outputs.map((o, i) => outGrads[i] ?? zerosLike(o)), attrs.axis as number)];
