import type { Tensor } from '../graph/graph.js';
import { broadcastShape, lift } from './util.js';
import type { GradRule, TensorLike } from './util.js';

/** cond ? a : b, broadcasting all three. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (cond.dtype !== 'bool') throw new Error(`where: condition must be bool, got ${cond}`);
  const [x, y] = lift(a, b);
  return cond.graph.apply('Where', [cond, x, y], [{ dtype: x.dtype, shape: broadcastShape(cond.shape, x.shape, y.shape) }])[0]!;
}
// The gradient goes to whichever branch was chosen, element by element.
export const whereGrad: GradRule = (g, { inputs: [c] }) => {
  const z = g.graph.scalar(0, g.dtype);
  return [null, where(c!, g, z), where(c!, z, g)];
};
