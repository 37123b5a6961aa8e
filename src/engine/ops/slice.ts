import type { Tensor } from '../graph/graph.js';
import { normAxis } from './util.js';
import type { GradRule } from './util.js';

/** x[start:end] along one axis (step 1). Negative bounds count from the end. */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const a = normAxis(axis, x.rank);
  const dim = x.shape[a]!;
  const out = [...x.shape];
  if (typeof dim === 'number') {
    const s = clamp(start < 0 ? start + dim : start, dim);
    const e = clamp(end < 0 ? end + dim : end, dim);
    out[a] = Math.max(0, e - s);
  } else if (start >= 0 && end >= 0 && end < 2 ** 31) out[a] = end - start;
  else out[a] = `${dim}[${start}:${end}]`;
  return x.graph.apply('Slice', [x], [{ dtype: x.dtype, shape: out }], { axis: a, start, end }, (gr) =>
    gr.emit('Slice', [x, gr.ints([start]), gr.ints([end]), gr.ints([a])]),
  )[0]!;
}
const clamp = (v: number, n: number): number => Math.min(Math.max(v, 0), n);

// Zero-pad the gradient back to the input's extent on the sliced axis.
export const sliceGrad: GradRule = (g, { inputs: [x], attrs }) => {
  const a = attrs.axis as number;
  const dim = x!.shape[a];
  if (typeof dim !== 'number') throw new Error(`Slice backward needs a fixed size on axis ${a} of ${x}`);
  const s = clamp((attrs.start as number) < 0 ? (attrs.start as number) + dim : (attrs.start as number), dim);
  const e = clamp((attrs.end as number) < 0 ? (attrs.end as number) + dim : (attrs.end as number), dim);
  const pads = new Array<number>(2 * x!.rank).fill(0);
  pads[a] = s;
  pads[x!.rank + a] = dim - e;
  return [pad(g, pads)];
};

/** Zero padding (ONNX Pad, constant mode); pads = [begin..., end...]. */
export function pad(x: Tensor, pads: number[]): Tensor {
  const out = x.shape.map((d, i) => (typeof d === 'number' ? d + pads[i]! + pads[i + x.rank]! : d));
  return x.graph.apply('Pad', [x], [{ dtype: x.dtype, shape: out }], { pads }, (gr) => gr.emit('Pad', [x, gr.ints(pads)]))[0]!;
}
// Pad's gradient is the slice of the padded region.
export const padGrad: GradRule = (g, { inputs: [x], attrs }) => {
  const pads = attrs.pads as number[];
  let out = g;
  for (let a = 0; a < x!.rank; a++) {
    if (pads[a] || pads[a + x!.rank]) out = slice(out, a, pads[a]!, -pads[a + x!.rank]! || 2 ** 62);
  }
  return [out];
};
