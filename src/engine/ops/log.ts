import type { Tensor } from '../graph/graph.js';
import { div } from './div.js';
import { unary } from './elementwise.js';
import type { GradRule } from './util.js';

export const log = (x: Tensor): Tensor => unary('Log', x);
export const logGrad: GradRule = (g, { inputs: [x] }) => [div(g, x!)];
