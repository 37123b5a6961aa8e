// Reverse-mode autodiff over a Graph's recorded ops.
// Toposort from the loss, seed dL/dL = 1, walk in reverse; each op's rule returns one
// gradient per input (or null); broadcast gradients are summed back to the input's shape;
// a tensor used several times accumulates every contribution.
import { GRAD_RULES } from '../ops/rules.js';
import { add } from '../ops/add.js';
import { reduceSum } from '../ops/reduce.js';
import { squeeze } from '../ops/reshape.js';
import { fillLike, sameShape, zerosLike } from '../ops/util.js';
import type { OpNode, Shape, Tensor } from './graph.js';
import { isFloat } from './graph.js';

/** Sum a gradient of broadcast shape back to `shape` (leading dims dropped, size-1 dims kept). */
export function reduceToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  if (lead < 0) throw new Error(`gradient ${g} has lower rank than its input [${shape}]`);
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  if (!axes.length) return g;
  const summed = reduceSum(g, axes, true);
  return lead ? squeeze(summed, [...Array(lead).keys()]) : summed;
}

/** Ops between `wrt` and `loss`, in topological (emission-compatible) order. */
function toposort(loss: Tensor, wrt: Set<Tensor>): OpNode[] {
  const order: OpNode[] = [];
  const visited = new Map<OpNode, boolean>(); // value: does it depend on wrt
  const needs = (t: Tensor): boolean => wrt.has(t) || (t.producer !== null && visit(t.producer));
  // iterative DFS would be safer for very deep graphs; transformer graphs are a few thousand ops
  function visit(n: OpNode): boolean {
    const seen = visited.get(n);
    if (seen !== undefined) return seen;
    visited.set(n, false);
    let dep = false;
    for (const i of n.inputs) if (needs(i)) dep = true;
    visited.set(n, dep);
    if (dep) order.push(n);
    return dep;
  }
  if (loss.producer) visit(loss.producer);
  return order;
}

/**
 * Gradients of the scalar (or seeded) `loss` with respect to each tensor in `wrt`, as new
 * tensors in the same graph. `seed` defaults to ones of loss's shape. Tensors that the
 * loss does not depend on get zeros.
 */
export function gradients(loss: Tensor, wrt: Tensor[], seed?: Tensor): Tensor[] {
  for (const w of wrt) if (!isFloat(w.dtype)) throw new Error(`gradients: cannot differentiate with respect to ${w}`);
  const order = toposort(loss, new Set(wrt));
  const grads = new Map<Tensor, Tensor>();
  grads.set(loss, seed ?? (loss.rank === 0 ? loss.graph.scalar(1, loss.dtype) : fillLike(loss, 1)));
  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k]!;
    const outGrads = node.outputs.map((o) => grads.get(o));
    if (!outGrads.some(Boolean)) continue;
    const g = outGrads[0] ?? zerosLike(node.outputs[0]!);
    const rule = GRAD_RULES[node.op];
    if (!rule) throw new Error(`no gradient rule for op '${node.op}' (add one in src/engine/ops and list it in GRAD_RULES)`);
    const res = rule(g, node, outGrads);
    if (res.length !== node.inputs.length) {
      throw new Error(`gradient rule for '${node.op}' returned ${res.length} gradients for ${node.inputs.length} inputs`);
    }
    node.inputs.forEach((x, i) => {
      const gi = res[i];
      if (!gi || !isFloat(x.dtype)) return;
      const r = reduceToShape(gi, x.shape);
      const prev = grads.get(x);
      grads.set(x, prev ? add(prev, r) : r);
    });
  }
  return wrt.map((w) => grads.get(w) ?? zerosLike(w));
}
