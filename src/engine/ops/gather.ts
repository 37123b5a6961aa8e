import type { Tensor } from '../graph/graph.js';
import type { GradRule } from './util.js';
import { zerosLike } from './util.js';
import { unsqueeze } from './reshape.js';

/** Rows of `data` (axis 0) picked by int64 `indices`: embedding lookup. [V,C] x [B,T] -> [B,T,C] */
export function gather(data: Tensor, indices: Tensor): Tensor {
  if (indices.dtype !== 'int64') throw new Error(`gather: indices must be int64, got ${indices}`);
  return data.graph.apply('Gather', [data, indices], [{ dtype: data.dtype, shape: [...indices.shape, ...data.shape.slice(1)] }], { axis: 0 })[0]!;
}
// Scatter-add the rows back: repeated indices accumulate (ScatterND, reduction=add).
export const gatherGrad: GradRule = (g, { inputs: [data, indices] }) => [scatterAddRows(zerosLike(data!), indices!, g), null];

/** base with rows `indices` incremented by `updates` ([...I, C...]); not differentiated further. */
export function scatterAddRows(base: Tensor, indices: Tensor, updates: Tensor): Tensor {
  const idx = unsqueeze(indices, [-1]);
  return base.graph.apply('ScatterND', [base, idx, updates], [{ dtype: base.dtype, shape: base.shape }], { reduction: 'add' })[0]!;
}
