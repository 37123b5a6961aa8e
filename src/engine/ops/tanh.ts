import type { Tensor } from '../graph/graph.js';
import { unary } from './elementwise.js';
import { mul } from './mul.js';
import { sub } from './sub.js';
import type { GradRule } from './util.js';

export const tanh = (x: Tensor): Tensor => unary('Tanh', x);
// d tanh(x) = g (1 - tanh(x)²)
export const tanhGrad: GradRule = (g, { outputs: [y] }) => [mul(g, sub(1, mul(y!, y!)))];
