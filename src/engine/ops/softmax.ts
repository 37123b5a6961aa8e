import type { Tensor } from '../graph/graph.js';
import { mul } from './mul.js';
import { reduceSum } from './reduce.js';
import { sub } from './sub.js';
import type { GradRule } from './util.js';
import { assertFloat, normAxis } from './util.js';

/**
 * softmax along `axis`. A fused op rather than exp(x - max) / sum built from primitives,
 * for memory: the backward needs only the output y (not x, exp(x) and the sum), and the
 * forward is one ONNX kernel instead of five passes over [B,H,T,T] attention scores.
 */
export function softmax(x: Tensor, axis = -1): Tensor {
  assertFloat('softmax', x);
  const a = normAxis(axis, x.rank);
  return x.graph.apply('Softmax', [x], [{ dtype: x.dtype, shape: x.shape }], { axis: a })[0]!;
}
// dx = y * (g - Σ_axis g*y)
export const softmaxGrad: GradRule = (g, { outputs: [y], attrs }) => [mul(y!, sub(g, reduceSum(mul(g, y!), [attrs.axis as number], true)))];
