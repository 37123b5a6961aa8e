import type { Tensor } from '../graph/graph.js';
import { unary } from './elementwise.js';
import { exp } from './exp.js';
import { mul } from './mul.js';
import { neg } from './neg.js';
import type { GradRule } from './util.js';

// Note: onnxruntime's CPU provider has no float64 Erf kernel; Erf is float32 only there.
export const erf = (x: Tensor): Tensor => unary('Erf', x);
// d erf(x) = g * 2/sqrt(pi) * exp(-x²)
export const erfGrad: GradRule = (g, { inputs: [x] }) => [mul(g, mul(exp(neg(mul(x!, x!))), 2 / Math.sqrt(Math.PI)))];
