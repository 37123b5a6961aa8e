import type { Tensor } from '../graph/graph.js';
import { normAxis } from './util.js';
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
