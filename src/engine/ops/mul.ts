import type { Tensor } from '../graph/graph.js';
import { binary } from './elementwise.js';
import type { GradRule, TensorLike } from './util.js';

export const mul = (a: TensorLike, b: TensorLike): Tensor => binary('Mul', a, b);
export const mulGrad: GradRule = (g, { inputs: [a, b] }) => [mul(g, b!), mul(g, a!)];
