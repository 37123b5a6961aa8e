// Shared emission for elementwise ops (one ONNX node, numpy broadcasting).
import type { Tensor } from '../graph/graph.js';
import { assertFloat, broadcastShape, lift } from './util.js';
import type { TensorLike } from './util.js';

export function binary(op: string, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift(a, b);
  return x.graph.apply(op, [x, y], [{ dtype: x.dtype, shape: broadcastShape(x.shape, y.shape) }])[0]!;
}

export function unary(op: string, x: Tensor, attrs: Record<string, unknown> = {}): Tensor {
  assertFloat(op, x);
  return x.graph.apply(op, [x], [{ dtype: x.dtype, shape: x.shape }], attrs)[0]!;
}
