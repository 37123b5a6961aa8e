import type { Tensor } from '../graph/graph.js';
import { DataType } from '../onnx/model.js';
import { cast, equal } from './cast.js';
import { div } from './div.js';
import { exp } from './exp.js';
import { mul } from './mul.js';
import { unsqueeze } from './reshape.js';
import { sub } from './sub.js';
import type { GradRule } from './util.js';
import { assertFloat } from './util.js';

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
 * Fused, with its own backward, for numerical stability: log-softmax is computed as
 * (x - max) - log Σ exp(x - max), and the gradient is (softmax - onehot) directly,
 * instead of differentiating through exp/log/sum where large logits overflow and the
 * chain of divisions loses precision.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  assertFloat('softmaxCrossEntropy', logits);
  if (labels.dtype !== 'int64') throw new Error(`softmaxCrossEntropy: labels must be int64, got ${labels}`);
  const ignore = opts.ignoreIndex ?? -100;
  const reduction = opts.reduction ?? 'mean';
  const dt = logits.dtype;
  const outs = [
    { dtype: dt, shape: [] }, // loss
    { dtype: dt, shape: logits.shape }, // log-probabilities (saved for backward)
    { dtype: dt, shape: labels.shape }, // 1 where the label counts, else 0
    { dtype: dt, shape: [] }, // normalizer: count of counted labels (≥ 1), or 1 for 'sum'
  ];
  return logits.graph.apply('SoftmaxCrossEntropy', [logits, labels], outs, { ignore, reduction }, (gr) => {
    const last = gr.ints([-1]);
    const all = gr.ints([...labels.shape.keys()]);
    const [m] = gr.emit('ReduceMax', [logits, last], 1, { keepdims: 1 });
    const [s] = gr.emit('Sub', [logits, m!]);
    const [e] = gr.emit('Exp', [s!]);
    const [se] = gr.emit('ReduceSum', [e!, last], 1, { keepdims: 1 });
    const [lse] = gr.emit('Log', [se!]);
    const [logp] = gr.emit('Sub', [s!, lse!]);
    const [ign] = gr.emit('Equal', [labels, gr.scalar(ignore, 'int64')]);
    const [valid] = gr.emit('Not', [ign!]);
    const [safe] = gr.emit('Where', [valid!, labels, gr.scalar(0, 'int64')]);
    const [idx] = gr.emit('Unsqueeze', [safe!, last]);
    const [picked] = gr.emit('GatherElements', [logp!, idx!], 1, { axis: -1 });
    const [pk] = gr.emit('Squeeze', [picked!, last]);
    const [validf] = gr.emit('Cast', [valid!], 1, { to: DataType[dt] });
    const [nll] = gr.emit('Mul', [pk!, validf!]);
    const [total] = gr.emit('ReduceSum', [nll!, all], 1, { keepdims: 0 });
    let norm: string;
    if (reduction === 'mean') {
      const [cnt] = gr.emit('ReduceSum', [validf!, all], 1, { keepdims: 0 });
      [norm] = gr.emit('Max', [cnt!, gr.scalar(1, dt)]) as [string];
    } else [norm] = gr.emit('Identity', [gr.scalar(1, dt)]) as [string];
    const [mean] = gr.emit('Div', [total!, norm]);
    const [loss] = gr.emit('Neg', [mean!]);
    return [loss!, logp!, validf!, norm];
  })[0]!;
}

// dlogits = (softmax - onehot(label)) * counted / normalizer * g
export const softmaxCrossEntropyGrad: GradRule = (g, { inputs: [logits, labels], outputs: [, logp, validf, norm] }) => {
  const V = logits!.shape[logits!.rank - 1];
  if (typeof V !== 'number') throw new Error(`softmaxCrossEntropy backward needs a fixed class count, got ${logits}`);
  const gr = logits!.graph;
  const classes = gr.constant(Array.from({ length: V }, (_, i) => BigInt(i)), [V], 'int64');
  const onehot = cast(equal(unsqueeze(labels!, [-1]), classes), logits!.dtype);
  const scale = unsqueeze(mul(validf!, div(g, norm!)), [-1]);
  return [mul(sub(exp(logp!), onehot), scale), null];
};
