import type { Tensor } from '../graph/graph.js';
import type { GradRule } from './util.js';

export function transpose(x: Tensor, perm: number[]): Tensor {
  if (perm.length !== x.rank) throw new Error(`transpose: perm [${perm}] does not fit ${x}`);
  return x.graph.apply('Transpose', [x], [{ dtype: x.dtype, shape: perm.map((p) => x.shape[p]!) }], { perm })[0]!;
}
// The gradient goes through the inverse permutation.
export const transposeGrad: GradRule = (g, { attrs }) => {
  const perm = attrs.perm as number[];
  const inv = perm.map((_, i) => perm.indexOf(i));
  return [transpose(g, inv)];
};
