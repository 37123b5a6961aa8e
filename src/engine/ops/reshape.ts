import type { Dim, Shape, Tensor } from '../graph/graph.js';
import type { GradRule } from './util.js';
import { isStatic, normAxis, shapeOf } from './util.js';

/**
 * Reshape with ONNX semantics: 0 copies the input dim at that position, -1 is inferred.
 * Symbolic input dims survive through 0; an inferred dim over symbolic input becomes
 * a symbolic name like 'B*T'.
 */
export function reshape(x: Tensor, shape: number[]): Tensor {
  const out: Dim[] = shape.map((d, i) => (d === 0 ? x.shape[i]! : d));
  const inferred = shape.indexOf(-1);
  if (inferred >= 0) {
    if (isStatic(x.shape)) {
      const total = x.shape.reduce((a, b) => a * b, 1);
      const rest = out.reduce<number>((a, d, i) => (i === inferred ? a : a * (d as number)), 1);
      out[inferred] = total / rest;
    } else {
      // symbolic dims not copied through a 0 at the same position fold into the inferred one
      const sym = x.shape.filter((d, i) => typeof d === 'string' && shape[i] !== 0);
      let num = 1;
      for (const d of x.shape) if (typeof d === 'number') num *= d;
      for (let i = 0; i < shape.length; i++) if (i !== inferred && shape[i] !== 0) num /= shape[i]!;
      for (let i = 0; i < shape.length; i++) if (shape[i] === 0 && typeof x.shape[i] === 'number') num /= x.shape[i] as number;
      out[inferred] = num === 1 && sym.length ? sym.join('*') : [...sym, num].join('*');
    }
  }
  const g = x.graph;
  return g.apply('Reshape', [x], [{ dtype: x.dtype, shape: out }], { shape }, (gr) => gr.emit('Reshape', [x, gr.ints(shape)]))[0]!;
}
// Reshape back to the input's (run-time) shape.
export const reshapeGrad: GradRule = (g, { inputs: [x] }) => [reshapeLike(g, x!)];

/** Reshape x to y's shape, resolved at run time when y's shape is symbolic. */
export function reshapeLike(x: Tensor, like: Tensor): Tensor {
  if (isStatic(like.shape)) return reshape(x, like.shape);
  const s = shapeOf(like);
  return x.graph.apply('ReshapeLike', [x, s], [{ dtype: x.dtype, shape: like.shape }], {}, (gr) => gr.emit('Reshape', [x, s]))[0]!;
}
export const reshapeLikeGrad: GradRule = (g, { inputs: [x] }) => [reshapeLike(g, x!), null];

export function unsqueeze(x: Tensor, axes: number[]): Tensor {
  const rank = x.rank + axes.length;
  const norm = axes.map((a) => normAxis(a, rank)).sort((a, b) => a - b);
  const out: Shape = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : x.shape[k++]!);
  return x.graph.apply('Unsqueeze', [x], [{ dtype: x.dtype, shape: out }], { axes: norm }, (gr) => gr.emit('Unsqueeze', [x, gr.ints(norm)]))[0]!;
}
export const unsqueezeGrad: GradRule = (g, { attrs }) => [squeeze(g, attrs.axes as number[])];

export function squeeze(x: Tensor, axes: number[]): Tensor {
  const norm = axes.map((a) => normAxis(a, x.rank)).sort((a, b) => a - b);
  for (const a of norm) if (x.shape[a] !== 1) throw new Error(`squeeze: axis ${a} of ${x} is not 1`);
  const out = x.shape.filter((_, i) => !norm.includes(i));
  return x.graph.apply('Squeeze', [x], [{ dtype: x.dtype, shape: out }], { axes: norm }, (gr) => gr.emit('Squeeze', [x, gr.ints(norm)]))[0]!;
}
export const squeezeGrad: GradRule = (g, { attrs }) => [unsqueeze(g, attrs.axes as number[])];
