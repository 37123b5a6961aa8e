import type { Shape, Tensor } from '../graph/graph.js';
import { broadcastShape, isStatic } from './util.js';
import type { GradRule } from './util.js';

/** Broadcast x to `shape` (numbers only; use broadcasting arithmetic for symbolic shapes). */
export function expand(x: Tensor, shape: Shape): Tensor {
  if (!isStatic(shape)) throw new Error(`expand: target shape [${shape}] must be fixed`);
  const out = broadcastShape(x.shape, shape);
  return x.graph.apply('Expand', [x], [{ dtype: x.dtype, shape: out }], {}, (gr) => gr.emit('Expand', [x, gr.ints(shape)]))[0]!;
}
// The driver sums the broadcast gradient back to x's shape.
export const expandGrad: GradRule = (g) => [g];
