// Shared finite-difference gradient checker: builds `fn` over fresh inputs, projects the
// output onto a fixed random tensor (loss = Σ y·r), and compares autodiff gradients with
// central differences. float64 where onnxruntime's CPU provider has kernels, float32 (looser) where not.
import { expect } from 'vitest';
import { Graph, gradients } from '../../src/engine/graph/index.js';
import type { DType, Tensor } from '../../src/engine/graph/index.js';
import * as op from '../../src/engine/ops/index.js';
import { Session } from '../../src/engine/runtime/index.js';
import type { HostTensor } from '../../src/engine/runtime/index.js';

export interface InputSpec {
  shape: number[];
  /** 'float' (default): random in [lo, hi]; 'int64': values given or random in [0, hi). */
  kind?: 'float' | 'int64' | 'bool';
  data?: number[];
  lo?: number;
  hi?: number;
}

export interface CheckOptions {
  dtype?: 'float32' | 'float64';
  /** Forward reference on plain arrays (float inputs as number[]), compared to the output. */
  ref?: (...xs: number[][]) => number[];
  /** Absolute + relative tolerance for gradients. */
  tol?: number;
  /** Finite-difference step. */
  eps?: number;
  /** At most this many elements per input are perturbed. */
  maxElements?: number;
  seed?: number;
}

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

export async function checkGradients(fn: (...xs: Tensor[]) => Tensor, specs: InputSpec[], opts: CheckOptions = {}): Promise<void> {
  const dtype: DType = opts.dtype ?? 'float64';
  const F = dtype === 'float64' ? Float64Array : Float32Array;
  const tol = opts.tol ?? (dtype === 'float64' ? 1e-6 : 2e-2);
  const eps = opts.eps ?? (dtype === 'float64' ? 1e-6 : 1e-2);
  const rand = rng(opts.seed ?? 7);

  const g = new Graph('gradcheck');
  const inputs = specs.map((s, i) =>
    g.input(`x${i}`, s.kind === 'int64' ? 'int64' : s.kind === 'bool' ? 'bool' : dtype, s.shape),
  );
  const y = fn(...inputs);
  const ySize = y.shape.reduce<number>((a, d) => a * (d as number), 1);
  const r = g.constant(Array.from({ length: ySize }, () => rand() * 2 - 1), y.shape as number[], dtype);
  const loss = op.reduceSum(op.mul(y, r), [...y.shape.keys()]);
  const floatIdx = specs.map((s, i) => (s.kind ? -1 : i)).filter((i) => i >= 0);
  const grads = gradients(loss, floatIdx.map((i) => inputs[i]!));
  g.output(y, 'y');
  g.output(loss, 'loss');
  grads.forEach((t, k) => g.output(t, `g${k}`));

  const feeds: Record<string, HostTensor> = {};
  const values: number[][] = [];
  specs.forEach((s, i) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const vals = s.data ?? Array.from({ length: n }, () => (s.kind === 'int64' ? Math.floor(rand() * (s.hi ?? 2)) : s.kind === 'bool' ? (rand() < 0.5 ? 1 : 0) : (s.lo ?? -1) + rand() * ((s.hi ?? 1) - (s.lo ?? -1))));
    values.push(vals);
    feeds[`x${i}`] =
      s.kind === 'int64'
        ? { data: BigInt64Array.from(vals.map((v) => BigInt(v))), shape: s.shape }
        : s.kind === 'bool'
          ? { data: Uint8Array.from(vals), shape: s.shape, dtype: 'bool' }
          : { data: F.from(vals), shape: s.shape };
  });

  const full = await Session.create(g.toBytes());
  const out = await full.run(feeds);
  // forward: shape, dtype, values
  expect(out.y!.shape.length).toBe(y.rank);
  y.shape.forEach((d, i) => typeof d === 'number' && expect(out.y!.shape[i]).toBe(d));
  expect(out.y!.dtype).toBe(y.dtype);
  const yv = Array.from(out.y!.data as Float64Array);
  for (const v of yv) expect(Number.isFinite(v)).toBe(true);
  if (opts.ref) {
    const want = opts.ref(...values);
    expect(yv.length).toBe(want.length);
    const ftol = dtype === 'float64' ? 1e-9 : 1e-5;
    want.forEach((w, i) => expect(Math.abs(yv[i]! - w)).toBeLessThanOrEqual(ftol * (1 + Math.abs(w))));
  }

  const lossOnly = await Session.create(g.toBytes(['loss']));
  const lossAt = async (): Promise<number> => Number((await lossOnly.run(feeds)).loss!.data[0]);
  for (let k = 0; k < floatIdx.length; k++) {
    const i = floatIdx[k]!;
    const data = feeds[`x${i}`]!.data as Float64Array;
    const analytic = out[`g${k}`]!.data as Float64Array;
    expect(analytic.length).toBe(data.length);
    const picks = [...data.keys()];
    const max = opts.maxElements ?? 24;
    while (picks.length > max) picks.splice(Math.floor(rand() * picks.length), 1);
    for (const j of picks) {
      const x0 = data[j]!;
      data[j] = x0 + eps;
      const lp = await lossAt();
      data[j] = x0 - eps;
      const lm = await lossAt();
      data[j] = x0;
      const numeric = (lp - lm) / (2 * eps);
      const a = analytic[j]!;
      if (Math.abs(a - numeric) > tol * (1 + Math.abs(numeric))) {
        throw new Error(`input ${i} element ${j}: autodiff ${a} vs finite difference ${numeric}`);
      }
    }
  }
}
