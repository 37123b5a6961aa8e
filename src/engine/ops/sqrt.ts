import type { Tensor } from '../graph/graph.js';
import { div } from './div.js';
import { unary } from './elementwise.js';
import { mul } from './mul.js';
import type { GradRule } from './util.js';

export const sqrt = (x: Tensor): Tensor => unary('Sqrt', x);
// d sqrt(x) = g / (2 sqrt(x))
export const sqrtGrad: GradRule = (g, { outputs: [y] }) => [div(g, mul(y!, 2))];
