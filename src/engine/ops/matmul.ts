import type { Shape, Tensor } from '../graph/graph.js';
import { floatAttr } from '../graph/graph.js';
import { reshape } from './reshape.js';
import { transpose } from './transpose.js';
import type { GradRule } from './util.js';
import { assertFloat, broadcastShape } from './util.js';

export interface MatMulOptions {
  /** Use the transpose of the last two dims of a. */
  transA?: boolean;
  /** Use the transpose of the last two dims of b (e.g. x @ Wᵀ for a torch Linear weight [out,in]). */
  transB?: boolean;
}

const swapLast = (s: Shape): Shape => [...s.slice(0, -2), s[s.length - 1]!, s[s.length - 2]!];
const lastTwoPerm = (rank: number): number[] => [...Array(rank - 2).keys(), rank - 1, rank - 2];

/**
 * Batched matrix product op(a) @ op(b), rank ≥ 2, numpy broadcasting on batch dims.
 * Emission: MatMul; Gemm when both are 2-D and a transpose is asked;
 * com.microsoft FusedMatMul for batched transposes when the graph allows contrib ops,
 * else an explicit Transpose first.
 */
export function matmul(a: Tensor, b: Tensor, opts: MatMulOptions = {}): Tensor {
  assertFloat('matmul', a, b);
  if (a.rank < 2 || b.rank < 2) throw new Error(`matmul needs rank ≥ 2: ${a}, ${b}`);
  const tA = !!opts.transA;
  const tB = !!opts.transB;
  const sa = tA ? swapLast(a.shape) : a.shape;
  const sb = tB ? swapLast(b.shape) : b.shape;
  const k1 = sa[sa.length - 1]!;
  const k2 = sb[sb.length - 2]!;
  if (k1 !== k2 && typeof k1 === 'number' && typeof k2 === 'number') {
    throw new Error(`matmul: inner dims differ: ${a}${tA ? 'ᵀ' : ''} @ ${b}${tB ? 'ᵀ' : ''}`);
  }
  const batch = broadcastShape(sa.slice(0, -2), sb.slice(0, -2));
  const out: Shape = [...batch, sa[sa.length - 2]!, sb[sb.length - 1]!];
  const g = a.graph;
  return g.apply('MatMul', [a, b], [{ dtype: a.dtype, shape: out }], { transA: tA, transB: tB }, (gr) => {
    if (!tA && !tB) return gr.emit('MatMul', [a, b]);
    if (a.rank === 2 && b.rank === 2) return gr.emit('Gemm', [a, b], 1, { transA: tA ? 1 : 0, transB: tB ? 1 : 0 });
    if (gr.options.contribOps) {
      return gr.emit('FusedMatMul', [a, b], 1, { transA: tA ? 1 : 0, transB: tB ? 1 : 0, alpha: floatAttr(1) }, 'com.microsoft');
    }
    const x = tA ? gr.emit('Transpose', [a], 1, { perm: lastTwoPerm(a.rank) })[0]! : a.name;
    const y = tB ? gr.emit('Transpose', [b], 1, { perm: lastTwoPerm(b.rank) })[0]! : b.name;
    return gr.emit('MatMul', [x, y]);
  })[0]!;
}

/** Product of 2-D weight-shaped result from batched operands: flatten batch dims into rows. */
function weightGrad(p: Tensor, q: Tensor, tP: boolean, tQ: boolean): Tensor {
  // p, q are [..., r, c]; flatten leading dims so one GEMM computes Σ_batch p_iᵀ q_i
  const p2 = p.rank > 2 ? reshape(p, [-1, p.shape[p.rank - 1] as number]) : p;
  const q2 = q.rank > 2 ? reshape(q, [-1, q.shape[q.rank - 1] as number]) : q;
  return matmul(p2, q2, { transA: tP, transB: tQ });
}

// C = op(A) op(B). With G = dC:
//   A B:   dA = G Bᵀ,  dB = Aᵀ G        A Bᵀ:  dA = G B,   dB = Gᵀ A
//   Aᵀ B:  dA = B Gᵀ,  dB = A G         Aᵀ Bᵀ: dA = Bᵀ Gᵀ, dB = Gᵀ Aᵀ
// When B is a 2-D weight used by a batched A, dB is one flattened GEMM instead of a
// batched product followed by a sum over the batch.
export const matmulGrad: GradRule = (g, { inputs: [a, b], attrs }) => {
  const tA = !!attrs.transA;
  const tB = !!attrs.transB;
  let dA: Tensor;
  let dB: Tensor;
  if (!tA && !tB) dA = matmul(g, b!, { transB: true });
  else if (!tA && tB) dA = matmul(g, b!);
  else if (tA && !tB) dA = matmul(b!, g, { transB: true });
  else dA = matmul(b!, g, { transA: true, transB: true });
  const flat = b!.rank === 2 && a!.rank > 2 && !tA;
  if (!tA && !tB) dB = flat ? weightGrad(a!, g, true, false) : matmul(a!, g, { transA: true });
  else if (!tA && tB) dB = flat ? weightGrad(g, a!, true, false) : matmul(g, a!, { transA: true });
  else if (tA && !tB) dB = matmul(a!, g);
  else dB = matmul(g, a!, { transA: true, transB: true });
  return [dA, dB];
};

export { transpose };
