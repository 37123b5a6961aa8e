import type { Tensor } from '../graph/graph.js';
import { unary } from './elementwise.js';
import type { GradRule } from './util.js';

export const neg = (x: Tensor): Tensor => unary('Neg', x);
export const negGrad: GradRule = (g) => [neg(g)];
