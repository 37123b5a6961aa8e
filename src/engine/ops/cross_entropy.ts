import type { Tensor } from '../graph/graph.js';
import { DataType } from '../onnx/model.js';
import type { GradRule } from './util.js';
import { assertFloat, isStatic, numel } from './util.js';

export interface CrossEntropyOptions {
  /** Targets equal to this are ignored (default -100, as torch). */
  ignoreIndex?: number;
  /** 'mean' over non-ignored targets (default), or 'sum'. */
  reduction?: 'mean' | 'sum';
}

/**
 * Cross-entropy of softmax(logits) against int64 labels, reduced to a scalar.
 * logits: [..., V], labels: [...]. Mean over the labels that are not `ignoreIndex`
 * (zero loss when all are ignored).
 *
 * Fused, with its own backward, for numerical stability and speed: log-softmax is
 * (x - max) - log Σ exp(x - max) (in float32 one LogSoftmax kernel),
 * and the gradient is (softmax - onehot) directly, instead of differentiating through
 * exp/log/sum where large logits overflow and the chain of divisions loses precision.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  assertFloat('softmaxCrossEntropy', logits);
  if (labels.dtype !== 'int64') throw new Error(`softmaxCrossEntropy: labels must be int64, got ${labels}`);
  const ignore = opts.ignoreIndex ?? -100;
  const reduction = opts.reduction ?? 'mean';
  const dt = logits.dtype;
  const V = logits.shape[logits.rank - 1]!;
  const rows = logits.rank === 2 ? logits.shape[0]! : numel(logits.shape.slice(0, -1));
  const outs = [
    { dtype: dt, shape: [] }, // loss
    { dtype: dt, shape: [rows, V] }, // log-probabilities, flattened to rows (saved for backward)
    { dtype: dt, shape: labels.shape }, // 1 where the label counts, else 0
    { dtype: dt, shape: [] }, // normalizer: count of counted labels (≥ 1), or 1 for 'sum'
    { dtype: 'int64' as const, shape: [rows, 1] }, // the label of each row, ignored ones as 0 (scatter indices)
  ];
  return logits.graph.apply('SoftmaxCrossEntropy', [logits, labels], outs, { ignore, reduction }, (gr) => {
    const last = gr.ints([-1]);
    const all = gr.ints([...labels.shape.keys()]);
    const [ign] = gr.emit('Equal', [labels, gr.scalar(ignore, 'int64')]);
    const [valid] = gr.emit('Not', [ign!]);
    const [safe] = gr.emit('Where', [valid!, labels, gr.scalar(0, 'int64')]);
    const [idx] = gr.emit('Reshape', [safe!, gr.ints([-1, 1])]);
    const [validf] = gr.emit('Cast', [valid!], 1, { to: DataType[dt] });
    const [x2] = logits.rank === 2 ? [logits.name] : gr.emit('Reshape', [logits, gr.ints([-1, typeof V === 'number' ? V : -1])]);
    let logp: string;
    if (dt === 'float32' && gr.options.logSoftmaxKernel) {
      // One LogSoftmax kernel over the last axis. (onnxruntime's SoftmaxCrossEntropyLoss views the
      // logits as [N, C, 1] and runs log-softmax on a middle axis: 5× slower on [2048, 8000].)
      [logp] = gr.emit('LogSoftmax', [x2!], 1, { axis: -1 }) as [string];
    } else {
      const [m] = gr.emit('ReduceMax', [x2!, last], 1, { keepdims: 1 });
      const [sh] = gr.emit('Sub', [x2!, m!]);
      const [e] = gr.emit('Exp', [sh!]);
      const [se] = gr.emit('ReduceSum', [e!, last], 1, { keepdims: 1 });
      const [lse] = gr.emit('Log', [se!]);
      [logp] = gr.emit('Sub', [sh!, lse!]) as [string];
    }
    // −Σ log p(label) over the valid positions.
    const [picked] = gr.emit('GatherElements', [logp, idx!], 1, { axis: -1 });
    const [pk] = gr.emit('Reshape', [picked!, gr.ints([-1])]);
    const [vf1] = gr.emit('Reshape', [validf!, gr.ints([-1])]);
    const [nll] = gr.emit('Mul', [pk!, vf1!]);
    const [sum] = gr.emit('ReduceSum', [nll!, gr.ints([0])], 1, { keepdims: 0 });
    const [total] = gr.emit('Neg', [sum!]) as [string];
    let norm: string;
    if (reduction === 'mean') {
      const [cnt] = gr.emit('ReduceSum', [validf!, all], 1, { keepdims: 0 });
      [norm] = gr.emit('Max', [cnt!, gr.scalar(1, dt)]) as [string];
    } else [norm] = gr.emit('Identity', [gr.scalar(1, dt)]) as [string];
    const [loss] = gr.emit('Div', [total, norm]);
    return [loss!, logp, validf!, norm, idx!];
  })[0]!;
}

// dlogits = (softmax − onehot(label)) · counted / normalizer · g: softmax scaled per row in
// two passes over [rows, V], then the −scale at each row's label added by ScatterElements
// (no one-hot, Equal or Cast over the vocabulary).
export const softmaxCrossEntropyGrad: GradRule = (g, { inputs: [logits], outputs: [, logp, validf, norm, idx] }) => {
  const dt = logits!.dtype;
  const out = logits!.graph.apply('SoftmaxCrossEntropyGrad', [g, logp!, validf!, norm!, idx!], [{ dtype: dt, shape: logits!.shape }], {}, (gg) => {
    const [gn] = gg.emit('Div', [g, norm!]);
    const [sc] = gg.emit('Mul', [validf!, gn!]);
    const [scale] = gg.emit('Reshape', [sc!, gg.ints([-1, 1])]); // [rows, 1]
    const [p] = gg.emit('Exp', [logp!]);
    const [ps] = gg.emit('Mul', [p!, scale!]);
    const [neg] = gg.emit('Neg', [scale!]);
    const [d] = gg.emit('ScatterElements', [ps!, idx!, neg!], 1, { axis: 1, reduction: 'add' });
    if (logits!.rank === 2) return [d!];
    const [shape] = isStatic(logits!.shape) ? [gg.ints(logits!.shape).name] : gg.emit('Shape', [logits!]);
    return gg.emit('Reshape', [d!, shape!]);
  })[0]!;
  return [out, null];
};
