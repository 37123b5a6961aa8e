import type { Tensor } from '../graph/graph.js';
import { unary } from './elementwise.js';
import { mul } from './mul.js';
import type { GradRule } from './util.js';

export const exp = (x: Tensor): Tensor => unary('Exp', x);
// d exp(x) = g*exp(x): reuse the output
export const expGrad: GradRule = (g, { outputs: [y] }) => [mul(g, y!)];
