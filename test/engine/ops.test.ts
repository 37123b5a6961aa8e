// One short check per op: forward shape/dtype (and values where a reference is given) and
// the gradient of a random projection against central finite differences.
import { describe, expect, it } from 'vitest';
import { Graph, gradients } from '../../src/engine/graph/index.js';
import * as op from '../../src/engine/ops/index.js';
import { Session } from '../../src/engine/runtime/index.js';
import { checkGradients } from './gradcheck.js';

const pos = { lo: 0.5, hi: 2 };
const f32 = { dtype: 'float32' as const };

describe('elementwise', () => {
  it('add broadcasts', () => checkGradients((a, b) => op.add(a, b), [{ shape: [2, 3] }, { shape: [3] }], { ref: (a, b) => a.map((v, i) => v + b[i % 3]!) }));
  it('sub broadcasts', () => checkGradients((a, b) => op.sub(a, b), [{ shape: [2, 1] }, { shape: [2, 3] }]));
  it('mul', () => checkGradients((a, b) => op.mul(a, b), [{ shape: [2, 3] }, { shape: [1, 3] }]));
  it('div', () => checkGradients((a, b) => op.div(a, b), [{ shape: [2, 3] }, { shape: [2, 3], ...pos }]));
  it('pow by constant', () => checkGradients((a) => op.pow(a, 3), [{ shape: [4], ...pos }], { ref: (a) => a.map((v) => v ** 3) }));
  it('pow by tensor', () => checkGradients((a, b) => op.pow(a, b), [{ shape: [4], ...pos }, { shape: [4] }]));
  it('neg', () => checkGradients((a) => op.neg(a), [{ shape: [3] }]));
  it('exp', () => checkGradients((a) => op.exp(a), [{ shape: [5] }], { ref: (a) => a.map(Math.exp) }));
  it('log', () => checkGradients((a) => op.log(a), [{ shape: [5], ...pos }]));
  it('sqrt', () => checkGradients((a) => op.sqrt(a), [{ shape: [5], ...pos }]));
  it('tanh', () => checkGradients((a) => op.tanh(a), [{ shape: [5], lo: -3, hi: 3 }]));
  it('erf (float32: no float64 kernel)', () => checkGradients((a) => op.erf(a), [{ shape: [6], lo: -2, hi: 2 }], f32));
  it('reciprocal', () => checkGradients((a) => op.reciprocal(a), [{ shape: [5], ...pos }]));
  it('where', () => checkGradients((c, a, b) => op.where(c, a, b), [{ shape: [2, 3], kind: 'bool' }, { shape: [2, 3] }, { shape: [3] }]));
  it('cast float64 -> float32 -> float64', () => checkGradients((a) => op.cast(op.cast(a, 'float32'), 'float64'), [{ shape: [3] }], { tol: 1e-4, eps: 1e-3 }));
  it('stopGradient blocks the gradient', async () => {
    const g = new Graph();
    const x = g.input('x', 'float64', [2]);
    const [dx] = gradients(op.reduceSum(op.mul(op.stopGradient(x), x), [0]), [x]);
    g.output(dx!, 'dx');
    const r = await (await Session.create(g.toBytes())).run({ x: { data: Float64Array.from([3, 4]), shape: [2] } });
    expect(Array.from(r.dx!.data as Float64Array)).toEqual([3, 4]);
  });
});

describe('matmul', () => {
  it('2-D', () => checkGradients((a, b) => op.matmul(a, b), [{ shape: [3, 4] }, { shape: [4, 2] }]));
  it('batched with a 2-D weight, transB (linear)', () => checkGradients((a, b) => op.matmul(a, b, { transB: true }), [{ shape: [2, 3, 4] }, { shape: [5, 4] }]));
  it('batched transA', () => checkGradients((a, b) => op.matmul(a, b, { transA: true }), [{ shape: [2, 4, 3] }, { shape: [2, 4, 5] }]));
  it('batched transA transB', () => checkGradients((a, b) => op.matmul(a, b, { transA: true, transB: true }), [{ shape: [2, 4, 3] }, { shape: [2, 5, 4] }]));
  it('broadcast batch dims', () => checkGradients((a, b) => op.matmul(a, b), [{ shape: [2, 1, 3, 4] }, { shape: [3, 4, 2] }]));
  it('contrib FusedMatMul path', async () => {
    const g = new Graph('fused', { contribOps: true });
    const a = g.input('a', 'float32', [2, 3, 4]);
    const b = g.input('b', 'float32', [2, 5, 4]);
    g.output(op.matmul(a, b, { transB: true }), 'y');
    const ones = { data: new Float32Array(24).fill(1), shape: [2, 3, 4] };
    const r = await (await Session.create(g.toBytes())).run({ a: ones, b: { data: new Float32Array(40).fill(2), shape: [2, 5, 4] } });
    expect(r.y!.shape).toEqual([2, 3, 5]);
    expect((r.y!.data as Float32Array)[0]).toBe(8);
  });
});

describe('reduce', () => {
  it('reduceSum', () => checkGradients((a) => op.reduceSum(a, [1]), [{ shape: [2, 3, 2] }]));
  it('reduceMean keepdims', () => checkGradients((a) => op.reduceMean(a, [0, 2], true), [{ shape: [2, 3, 2] }]));
  it('reduceMax (distinct values)', () => checkGradients((a) => op.reduceMax(a, [-1]), [{ shape: [2, 4], data: [1, 5, 3, 2, -1, -4, -2, -3] }], { ref: () => [5, -1] }));
  it('reduceMax splits ties evenly', async () => {
    const g = new Graph();
    const x = g.input('x', 'float64', [3]);
    const [dx] = gradients(op.reduceMax(x, [0]), [x]);
    g.output(dx!, 'dx');
    const r = await (await Session.create(g.toBytes())).run({ x: { data: Float64Array.from([2, 2, 1]), shape: [3] } });
    expect(Array.from(r.dx!.data as Float64Array)).toEqual([0.5, 0.5, 0]);
  });
});

describe('movement', () => {
  it('reshape', () => checkGradients((a) => op.reshape(a, [0, -1]), [{ shape: [2, 3, 2] }]));
  it('unsqueeze/squeeze', () => checkGradients((a) => op.squeeze(op.mul(op.unsqueeze(a, [1]), 2), [1]), [{ shape: [2, 3] }]));
  it('transpose', () => checkGradients((a) => op.transpose(a, [2, 0, 1]), [{ shape: [2, 3, 4] }]));
  it('expand', () => checkGradients((a) => op.expand(a, [2, 3, 4]), [{ shape: [3, 1] }]));
  it('slice', () => checkGradients((a) => op.slice(a, 1, 1, -1), [{ shape: [2, 5] }]));
  it('pad', () => checkGradients((a) => op.pad(a, [1, 0, 0, 2]), [{ shape: [2, 3] }]));
  it('concat', () => checkGradients((a, b) => op.concat([a, b], -1), [{ shape: [2, 3] }, { shape: [2, 1] }]));
  it('gather with repeated indices', () => checkGradients((t, i) => op.gather(t, i), [{ shape: [4, 3] }, { shape: [2, 3], kind: 'int64', data: [0, 2, 2, 3, 0, 0] }]));
});

describe('composites', () => {
  it('softmax', () => checkGradients((a) => op.softmax(a, -1), [{ shape: [2, 5] }]));
  it('softmax with extreme logits stays finite', () => checkGradients((a) => op.softmax(a, -1), [{ shape: [2, 3], data: [1000, 0, -1000, 88, 89, 90] }], { ...f32, tol: 5e-2 }));
  it('logSoftmax', () => checkGradients((a) => op.logSoftmax(a), [{ shape: [3, 4] }]));
  it('layerNorm (float64 primitives path)', () => checkGradients((x, w, b) => op.layerNorm(x, w, b, 1e-5), [{ shape: [2, 3, 6] }, { shape: [6] }, { shape: [6] }]));
  it('layerNorm (float32 fused kernel)', () => checkGradients((x, w, b) => op.layerNorm(x, w, b, 1e-5), [{ shape: [3, 6] }, { shape: [6] }, { shape: [6] }], f32));
  it('softmaxCrossEntropy ignores -100', () =>
    checkGradients((l, y) => op.softmaxCrossEntropy(l, y), [{ shape: [2, 3, 4] }, { shape: [2, 3], kind: 'int64', data: [0, 3, -100, 1, -100, 2] }]));
  it('softmaxCrossEntropy with extreme logits', () =>
    checkGradients((l, y) => op.softmaxCrossEntropy(l, y), [{ shape: [2, 3], data: [1e4, 0, -1e4, 50, 60, 70] }, { shape: [2], kind: 'int64', data: [2, 0] }], f32));
  it('gelu (fused, float32 only)', () => checkGradients((a) => op.gelu(a), [{ shape: [8], lo: -4, hi: 4 }], f32));
  it('gelu at extreme values', () => checkGradients((a) => op.gelu(a), [{ shape: [5], data: [-30, -5, 0, 5, 30] }], f32));
  it('geluErf (primitives, float32: erf)', () => checkGradients((a) => op.geluErf(a), [{ shape: [6], lo: -3, hi: 3 }], f32));
  it('geluTanh', () => checkGradients((a) => op.geluTanh(a), [{ shape: [6], lo: -3, hi: 3 }]));
  it('geluTanh (fused, float32 kernel)', () => checkGradients((a) => op.geluTanh(a), [{ shape: [8], lo: -4, hi: 4 }], f32));
  it('geluTanhPrimitives', () => checkGradients((a) => op.geluTanhPrimitives(a), [{ shape: [6], lo: -3, hi: 3 }]));
  it('silu (float32)', () => checkGradients((a) => op.silu(a), [{ shape: [6], lo: -4, hi: 4 }], f32));
  it('softmaxCrossEntropy float32 (onnxruntime kernel) ignores -100', () =>
    checkGradients((l, y) => op.softmaxCrossEntropy(l, y), [{ shape: [2, 3, 4] }, { shape: [2, 3], kind: 'int64', data: [0, 3, -100, 1, -100, 2] }], f32));
  it('softmaxCrossEntropy float32, every label ignored: zero loss', () =>
    checkGradients((l, y) => op.softmaxCrossEntropy(l, y), [{ shape: [2, 4] }, { shape: [2], kind: 'int64', data: [-100, -100] }], f32));
  it('split (backward: concat; an unused piece gets zeros)', () =>
    checkGradients((a) => { const [x, , z] = op.split(a, 1, [2, 1, 3]); return op.add(op.mul(x!, 2), op.reduceSum(z!, [1], true)); }, [{ shape: [3, 6] }]));
  it('relu', () => checkGradients((a) => op.relu(a), [{ shape: [4], data: [-1, 0.5, 2, -0.2] }]));
  it('silu', () => checkGradients((a) => op.silu(a), [{ shape: [5] }]));
  it('rmsNorm', () => checkGradients((x, w) => op.rmsNorm(x, w), [{ shape: [2, 4] }, { shape: [4] }]));
  it('linear (3-D input, bias)', () => checkGradients((x, w, b) => op.linear(x, w, b), [{ shape: [2, 3, 4] }, { shape: [5, 4] }, { shape: [5] }]));
  it('linear with [in, out] weights (Conv1D)', () => checkGradients((x, w, b) => op.linear(x, w, b, { inOut: true }), [{ shape: [2, 3, 4] }, { shape: [4, 5] }, { shape: [5] }]));
  it('linear (2-D input, no bias)', () => checkGradients((x, w) => op.linear(x, w), [{ shape: [3, 4] }, { shape: [5, 4] }]));
  it('linear (symbolic batch dims)', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['B', 'T', 2]);
    const w = g.input('w', 'float32', [3, 2]);
    g.output(op.linear(x, w), 'y');
    const r = await (await Session.create(g.toBytes())).run({ x: { data: new Float32Array(8).fill(1), shape: [2, 2, 2] }, w: { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [3, 2] } });
    expect(r.y!.shape).toEqual([2, 2, 3]);
    expect(Array.from(r.y!.data as Float32Array).slice(0, 3)).toEqual([3, 7, 11]);
  });
});

describe('autodiff driver', () => {
  it('accumulates a reused tensor', () => checkGradients((a) => op.mul(op.exp(a), op.mul(a, a)), [{ shape: [3] }]));
  it('throws naming an op without a rule', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    const [y] = g.apply('Sin', [x], [{ dtype: 'float32', shape: [2] }]);
    expect(() => gradients(op.reduceSum(y!, [0]), [x])).toThrow(/no gradient rule for op 'Sin'/);
  });
  it('handles symbolic dims at run time', async () => {
    const g = new Graph();
    const x = g.input('x', 'float64', ['B', 'T', 2]);
    const loss = op.reduceMean(op.reshape(op.mul(x, x), [-1, 2]), [0, 1]);
    const [dx] = gradients(loss, [x]);
    g.output(dx!, 'dx');
    const r = await (await Session.create(g.toBytes())).run({ x: { data: Float64Array.from([1, 2, 3, 4, 5, 6]), shape: [1, 3, 2] } });
    expect(r.dx!.shape).toEqual([1, 3, 2]);
    [1, 2, 3, 4, 5, 6].forEach((v, i) => expect((r.dx!.data as Float64Array)[i]).toBeCloseTo((2 * v) / 6, 12));
  });
  it('gives zeros for inputs the loss does not reach', () => checkGradients((a, b) => op.add(op.mul(a, 0), op.reduceSum(op.mul(b, 0), [0])), [{ shape: [2] }, { shape: [3] }]));
});
