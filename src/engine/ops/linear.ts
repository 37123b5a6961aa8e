import type { Tensor } from '../graph/graph.js';
import { matmul } from './matmul.js';
import { reduceSum } from './reduce.js';
import { reshape, reshapeLike } from './reshape.js';
import type { GradRule } from './util.js';
import { assertFloat, isStatic } from './util.js';

export interface LinearOptions {
  /**
   * W is stored [in, out] (GPT-2's Conv1D): y = x W + b. One Gemm without transposing the
   * weight (a Transpose per step forward and another for its gradient otherwise).
   */
  inOut?: boolean;
}

/**
 * torch.nn.Linear: x @ Wᵀ + b.  x: [..., in], W: [out, in], b: [out] -> [..., out]
 * A fused op with its own backward, for speed: tokens are flattened to rows so one Gemm
 * computes the product and the bias (no separate pass over the output to add b, no
 * Transpose of W), and the weight gradient is one Gemm over all tokens.
 * The flattened input (x2: [N, in]) is a second output, kept for the backward.
 */
export function linear(x: Tensor, w: Tensor, b?: Tensor, opts: LinearOptions = {}): Tensor {
  assertFloat('linear', x, w, ...(b ? [b] : []));
  const inOut = !!opts.inOut;
  const [out, inp] = (inOut ? [w.shape[1], w.shape[0]] : w.shape) as [number, number];
  if (x.shape[x.rank - 1] !== inp) throw new Error(`linear: ${x} does not fit weight ${w} ([out, in])`);
  const outShape = [...x.shape.slice(0, -1), out];
  const rows = x.rank === 2 ? x.shape[0]! : isStatic(x.shape) ? x.shape.slice(0, -1).reduce<number>((a, d) => a * (d as number), 1) : x.shape.slice(0, -1).join('*');
  const inputs = b ? [x, w, b] : [x, w];
  return x.graph.apply('Linear', inputs, [{ dtype: x.dtype, shape: outShape }, { dtype: x.dtype, shape: [rows, inp] }], { inOut }, (gr) => {
    const [x2] = x.rank === 2 ? [x.name] : gr.emit('Reshape', [x, gr.ints([-1, inp])]);
    const [y2] = gr.emit('Gemm', b ? [x2!, w.name, b.name] : [x2!, w.name], 1, { transB: inOut ? 0 : 1 });
    if (x.rank === 2) return [y2!, x2!];
    let shape: string;
    if (isStatic(outShape)) shape = gr.ints(outShape).name;
    else {
      const [s] = gr.emit('Shape', [x], 1, { end: -1 });
      [shape] = gr.emit('Concat', [s!, gr.ints([out])], 1, { axis: 0 }) as [string];
    }
    const [y] = gr.emit('Reshape', [y2!, shape]);
    return [y!, x2!];
  })[0]!;
}

// With G = dY flattened to [N, out]: dX = G W, dW = Gᵀ X2, db = Σ_rows G.
// [in, out] weights: dX = G Wᵀ, dW = X2ᵀ G.
export const linearGrad: GradRule = (g, { inputs: [x, w, b], outputs: [, x2], attrs }) => {
  const inOut = !!attrs.inOut;
  const out = w!.shape[inOut ? 1 : 0] as number;
  const g2 = g.rank === 2 ? g : reshape(g, [-1, out]);
  const dx2 = inOut ? matmul(g2, w!, { transB: true }) : matmul(g2, w!);
  const dx = x!.rank === 2 ? dx2 : reshapeLike(dx2, x!);
  const dw = inOut ? matmul(x2!, g2, { transA: true }) : matmul(g2, x2!, { transA: true });
  return b ? [dx, dw, reduceSum(g2, [0])] : [dx, dw];
};
