// Derived ops: built from primitives, so they need no gradient rule of their own.
import type { Tensor } from '../graph/graph.js';
import { add } from './add.js';
import { greater } from './cast.js';
import { div } from './div.js';
import { erf } from './erf.js';
import { exp } from './exp.js';
import { log } from './log.js';
import { mul } from './mul.js';
import { neg } from './neg.js';
import { reduceMax, reduceMean, reduceSum } from './reduce.js';
import { sqrt } from './sqrt.js';
import { stopGradient } from './stop_gradient.js';
import { sub } from './sub.js';
import { tanh } from './tanh.js';
import { where } from './where.js';

/** GELU from primitives (float64-capable only where Erf is); the model uses the fused `gelu`. */
export function geluErf(x: Tensor): Tensor {
  return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
}

/** GELU, tanh approximation, from primitives (reference for the fused `geluTanh`). */
export function geluTanhPrimitives(x: Tensor): Tensor {
  const inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
  return mul(mul(x, 0.5), add(tanh(inner), 1));
}

/** ReLU as where(x > 0, x, 0): the gradient at exactly 0 is 0, as torch (max(x, 0) would split it). */
export function relu(x: Tensor): Tensor {
  return where(greater(x, 0), x, 0);
}

export function sigmoid(x: Tensor): Tensor {
  return div(1, add(exp(neg(x)), 1));
}

/** SiLU / swish from primitives (reference for the fused `silu`). */
export function siluPrimitives(x: Tensor): Tensor {
  return mul(x, sigmoid(x));
}

/** log-softmax along the last axis; the max is a constant shift, so its gradient is blocked. */
export function logSoftmax(x: Tensor): Tensor {
  const s = sub(x, stopGradient(reduceMax(x, [-1], true)));
  return sub(s, log(reduceSum(exp(s), [-1], true)));
}

/** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) * w. */
export function rmsNorm(x: Tensor, w: Tensor, eps = 1e-6): Tensor {
  return mul(div(x, sqrt(add(reduceMean(mul(x, x), [-1], true), eps))), w);
}
