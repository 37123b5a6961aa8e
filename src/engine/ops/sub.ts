import type { Tensor } from '../graph/graph.js';
import { binary } from './elementwise.js';
import { neg } from './neg.js';
import type { GradRule, TensorLike } from './util.js';

export const sub = (a: TensorLike, b: TensorLike): Tensor => binary('Sub', a, b);
export const subGrad: GradRule = (g) => [g, neg(g)];
