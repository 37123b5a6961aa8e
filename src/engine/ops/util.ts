// Shared helpers for op modules: lifting numbers to constants, broadcasting shapes,
// and non-differentiable shape plumbing (Shape, ConstantOfShape).
import { Graph, Tensor, isFloat } from '../graph/graph.js';
import type { DType, Dim, OpNode, Shape } from '../graph/graph.js';

/**
 * A gradient rule: given dL/d(output 0) and the op, one gradient per input (or null).
 * `outGrads` has the gradient of every output (undefined where none flows back), for ops
 * whose several outputs are all used downstream (Split).
 */
export type GradRule = (g: Tensor, node: OpNode, outGrads: (Tensor | undefined)[]) => (Tensor | null)[];

export type TensorLike = Tensor | number;

export function graphOf(...xs: TensorLike[]): Graph {
  for (const x of xs) if (x instanceof Tensor) return x.graph;
  throw new Error('op needs at least one Tensor argument');
}

/** Numbers become scalar constants of the other operand's dtype. */
export function lift(a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  const g = graphOf(a, b);
  const dtype = a instanceof Tensor ? a.dtype : (b as Tensor).dtype;
  const x = a instanceof Tensor ? a : g.scalar(a, dtype);
  const y = b instanceof Tensor ? b : g.scalar(b, dtype);
  if (x.dtype !== y.dtype) throw new Error(`dtype mismatch: ${x} vs ${y}`);
  return [x, y];
}

export function sameDim(a: Dim, b: Dim): boolean {
  return a === b;
}

/** Numpy broadcasting. A symbolic dim against a fixed dim > 1 is assumed to match. */
export function broadcastShape(...shapes: Shape[]): Shape {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const k = i - (rank - s.length);
      if (k < 0) continue;
      const e = s[k]!;
      if (e === 1 || e === d) continue;
      if (d === 1) d = e;
      else if (typeof d === 'string' && typeof e === 'number') d = e;
      else if (typeof d === 'number' && typeof e === 'string') continue;
      else throw new Error(`cannot broadcast shapes ${shapes.map((x) => `[${x.join(',')}]`).join(' and ')}`);
    }
    out.push(d);
  }
  return out;
}

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function isStatic(s: Shape): s is number[] {
  return s.every((d) => typeof d === 'number');
}

export function numel(s: Shape): Dim {
  if (!isStatic(s)) return s.join('*');
  return s.reduce((a, b) => a * b, 1);
}

/** Run-time shape of x (int64 [rank]); not differentiable. */
export function shapeOf(x: Tensor): Tensor {
  const g = x.graph;
  if (isStatic(x.shape)) return g.ints(x.shape);
  return g.apply('Shape', [x], [{ dtype: 'int64', shape: [x.rank] }])[0]!;
}

/** Zeros with x's shape and dtype (ConstantOfShape: nothing large is baked into the model). */
export function zerosLike(x: Tensor): Tensor {
  return fillLike(x, 0);
}

/** A tensor of x's shape and dtype filled with `v`. */
export function fillLike(x: Tensor, v: number): Tensor {
  const g = x.graph;
  const s = shapeOf(x);
  const bytes = { float32: 4, float64: 8, int64: 8 }[x.dtype as string];
  if (!bytes) throw new Error(`zerosLike: unsupported dtype ${x.dtype}`);
  const value = { kind: 'tensor' as const, value: { name: 'value', dtype: x.dtype, dims: [1], raw: scalarBytes(v, x.dtype, bytes) } };
  return g.apply('ConstantOfShape', [s], [{ dtype: x.dtype, shape: x.shape }], { value })[0]!;
}

export function assertFloat(op: string, ...xs: Tensor[]): void {
  for (const x of xs) if (!isFloat(x.dtype)) throw new Error(`${op}: expected a float tensor, got ${x}`);
}

export const noGrad: GradRule = (_g, node) => node.inputs.map(() => null);

export type { DType };

function scalarBytes(v: number, dtype: DType, bytes: number): Uint8Array {
  const b = new Uint8Array(bytes);
  const dv = new DataView(b.buffer);
  if (dtype === 'float32') dv.setFloat32(0, v, true);
  else if (dtype === 'float64') dv.setFloat64(0, v, true);
  else dv.setBigInt64(0, BigInt(v), true);
  return b;
}
