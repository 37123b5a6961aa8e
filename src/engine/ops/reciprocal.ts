import type { Tensor } from '../graph/graph.js';
import { unary } from './elementwise.js';
import { mul } from './mul.js';
import { neg } from './neg.js';
import type { GradRule } from './util.js';

export const reciprocal = (x: Tensor): Tensor => unary('Reciprocal', x);
// d (1/x) = -g / x² = -g y²
export const reciprocalGrad: GradRule = (g, { outputs: [y] }) => [neg(mul(g, mul(y!, y!)))];
