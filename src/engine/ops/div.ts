import type { Tensor } from '../graph/graph.js';
import { binary } from './elementwise.js';
import { mul } from './mul.js';
import { neg } from './neg.js';
import type { GradRule, TensorLike } from './util.js';

export const div = (a: TensorLike, b: TensorLike): Tensor => binary('Div', a, b);
// d(a/b) = g/b, -g*a/b² = -(g/b)*out/... written as -(g/b)*(a/b) to reuse the output
export const divGrad: GradRule = (g, { inputs: [, b], outputs: [y] }) => {
  const gb = div(g, b!);
  return [gb, neg(mul(gb, y!))];
};
