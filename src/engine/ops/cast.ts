import type { DType, Tensor } from '../graph/graph.js';
import { isFloat } from '../graph/graph.js';
import { broadcastShape, lift } from './util.js';
import type { GradRule, TensorLike } from './util.js';
import { DataType } from '../onnx/model.js';

export function cast(x: Tensor, to: DType): Tensor {
  return x.graph.apply('Cast', [x], [{ dtype: to, shape: x.shape }], { to: DataType[to] })[0]!;
}
// Float-to-float casts pass the gradient back in the input's dtype; others have none.
export const castGrad: GradRule = (g, { inputs: [x] }) => [isFloat(x!.dtype) && isFloat(g.dtype) ? cast(g, x!.dtype) : null];

/* Comparisons: bool results, no gradient. */
function compare(op: string, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift(a, b);
  return x.graph.apply(op, [x, y], [{ dtype: 'bool', shape: broadcastShape(x.shape, y.shape) }])[0]!;
}
export const equal = (a: TensorLike, b: TensorLike): Tensor => compare('Equal', a, b);
export const less = (a: TensorLike, b: TensorLike): Tensor => compare('Less', a, b);
export const greater = (a: TensorLike, b: TensorLike): Tensor => compare('Greater', a, b);
export function not(x: Tensor): Tensor {
  return x.graph.apply('Not', [x], [{ dtype: 'bool', shape: x.shape }])[0]!;
}
