import type { Tensor } from '../graph/graph.js';
import type { GradRule } from './util.js';

/** Identity in the forward pass; blocks the gradient (torch's .detach()). */
export function stopGradient(x: Tensor): Tensor {
  return x.graph.apply('StopGradient', [x], [{ dtype: x.dtype, shape: x.shape }], {}, (gr) => gr.emit('Identity', [x]))[0]!;
}
export const stopGradientGrad: GradRule = () => [null];
