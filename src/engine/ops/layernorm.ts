import type { Tensor } from '../graph/graph.js';
import { floatAttr } from '../graph/graph.js';
import { mul } from './mul.js';
import { emitSumOfRows, reduceMean } from './reduce.js';
import { sub } from './sub.js';
import type { GradRule } from './util.js';
import { assertFloat } from './util.js';

/**
 * Layer normalization over the last axis: (x - mean) / sqrt(var + eps) * w + b.  x: [..., C], w, b: [C]
 * A fused op with its own backward, for memory and speed: the forward is onnxruntime's
 * LayerNormalization kernel, which also returns mean and 1/std ([..., 1]) so the backward
 * needs no recomputation of the statistics. float64 (which ORT's CPU kernel lacks) is emitted
 * from primitives with the same outputs, for gradient checks.
 */
export function layerNorm(x: Tensor, w: Tensor, b: Tensor, eps = 1e-5): Tensor {
  assertFloat('layerNorm', x, w, b);
  const stat = { dtype: x.dtype, shape: [...x.shape.slice(0, -1), 1] };
  return x.graph.apply('LayerNorm', [x, w, b], [{ dtype: x.dtype, shape: x.shape }, stat, stat], { eps }, (gr) => {
    if (x.dtype === 'float32') {
      return gr.emit('LayerNormalization', [x, w, b], 3, { axis: -1, epsilon: floatAttr(eps), stash_type: 1 });
    }
    const ax = gr.ints([-1]);
    const [mean] = gr.emit('ReduceMean', [x, ax], 1, { keepdims: 1 });
    const [xc] = gr.emit('Sub', [x, mean!]);
    const [sq] = gr.emit('Mul', [xc!, xc!]);
    const [v] = gr.emit('ReduceMean', [sq!, ax], 1, { keepdims: 1 });
    const [ve] = gr.emit('Add', [v!, gr.scalar(eps, x.dtype)]);
    const [sd] = gr.emit('Sqrt', [ve!]);
    const [rstd] = gr.emit('Reciprocal', [sd!]);
    const [xh] = gr.emit('Mul', [xc!, rstd!]);
    const [xw] = gr.emit('Mul', [xh!, w]);
    const [y] = gr.emit('Add', [xw!, b]);
    return [y!, mean!, rstd!];
  })[0]!;
}

// xhat = (x - mean) * rstd,  dxhat = g * w
// dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat));  dw = Σ g * xhat, db = Σ g
// Emitted as one recorded op with fewer passes over [..., C] than the primitives' autodiff:
// mean(dxhat) = (g @ w) / C and mean(dxhat * xhat) = ((g * xhat) @ w) / C are matrix-vector
// products (10 passes instead of 13).
export const layerNormGrad: GradRule = (g, { inputs: [x, w, b], outputs: [, mean, rstd] }) => {
  const C = x!.shape[x!.rank - 1];
  if (typeof C !== 'number') return layerNormGradPrimitives(g, x!, w!, mean!, rstd!);
  const dt = x!.dtype;
  const [dx, dw, db] = x!.graph.apply(
    'LayerNormGrad',
    [g, x!, w!, b!, mean!, rstd!],
    [
      { dtype: dt, shape: x!.shape },
      { dtype: dt, shape: w!.shape },
      { dtype: dt, shape: b!.shape },
    ],
    {},
    (gr) => {
      const [xc] = gr.emit('Sub', [x!, mean!]);
      const [xhat] = gr.emit('Mul', [xc!, rstd!]);
      const [wc] = gr.emit('Reshape', [w!, gr.ints([C, 1])]);
      const [sw] = gr.emit('MatMul', [g, wc!]); // [..., 1] = Σ_c g w
      const [gx] = gr.emit('Mul', [g, xhat!]);
      const [sxw] = gr.emit('MatMul', [gx!, wc!]); // [..., 1] = Σ_c g w xhat
      // db first: a graph's shared ones vector takes its length from the first row sum, and g
      // (unlike gx) is computed whether or not this LayerNorm's weights are trained
      const rows = x!.shape.slice(0, -1).join('*');
      const [dbOut] = emitSumOfRows(gr, g.name, C, dt, rows);
      const [dwOut] = emitSumOfRows(gr, gx!, C, dt, rows);
      const [k] = gr.emit('Mul', [rstd!, gr.scalar(-1 / C, dt)]); // [..., 1]
      const [c1] = gr.emit('Mul', [sw!, k!]); // -rstd mean(dxhat)
      const [c2] = gr.emit('Mul', [sxw!, k!]); // -rstd mean(dxhat xhat)
      const [gw] = gr.emit('Mul', [g, w!]);
      const [t1] = gr.emit('Mul', [gw!, rstd!]);
      const [t2] = gr.emit('Mul', [xhat!, c2!]);
      const [t12] = gr.emit('Add', [t1!, t2!]); // two Adds: a three-input Sum costs more here
      const [dxOut] = gr.emit('Add', [t12!, c1!]);
      return [dxOut!, dwOut!, dbOut!];
    },
  );
  return [dx!, dw!, db!];
};

function layerNormGradPrimitives(g: Tensor, x: Tensor, w: Tensor, mean: Tensor, rstd: Tensor): Tensor[] {
  const xhat = mul(sub(x, mean), rstd);
  const dxhat = mul(g, w);
  const inner = sub(sub(dxhat, reduceMean(dxhat, [-1], true)), mul(xhat, reduceMean(mul(dxhat, xhat), [-1], true)));
  return [mul(inner, rstd), mul(g, xhat), g];
}
