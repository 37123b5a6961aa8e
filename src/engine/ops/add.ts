import type { Tensor } from '../graph/graph.js';
import { binary } from './elementwise.js';
import type { GradRule, TensorLike } from './util.js';

export const add = (a: TensorLike, b: TensorLike): Tensor => binary('Add', a, b);
// d(a+b) = g, g (the driver sums broadcast dims back to each input's shape)
export const addGrad: GradRule = (g) => [g, g];
