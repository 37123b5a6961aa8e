import type { Tensor } from '../graph/graph.js';
import { binary } from './elementwise.js';
import { log } from './log.js';
import { mul } from './mul.js';
import { sub } from './sub.js';
import type { GradRule, TensorLike } from './util.js';

export const pow = (a: TensorLike, b: TensorLike): Tensor => binary('Pow', a, b);
// d(a^b) = g*b*a^(b-1), g*a^b*log(a). The exponent gradient is only taken when the
// exponent is itself computed (constants have no producer and need none).
export const powGrad: GradRule = (g, { inputs: [a, b], outputs: [y] }) => [
  mul(mul(g, b!), pow(a!, sub(b!, 1))),
  b!.producer || b!.graph.inputs.includes(b!) ? mul(mul(g, y!), log(a!)) : null,
];
