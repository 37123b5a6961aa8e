import { describe, expect, it } from 'vitest';
import { bootstrapF1, compareSystems, createRng, evaluate, pairedBootstrapCounts, quantileSorted, type PerDocumentCounts } from '../../src/scoring/index.js';
import { identity, loadSplit, mixedPerturbation, relabelEvery } from './helpers.js';

describe('createRng', () => {
  it('should repeat its stream for a seed and differ between seeds', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.nextUint32())).not.toEqual(xs);
  });
  it('should draw integers uniformly in [0, n)', () => {
    const rng = createRng(7);
    const bins = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) bins[rng.nextInt(10)]!++;
    // expected 10,000 per bin, sd ≈ 95: ±500 is > 5 sd
    for (const b of bins) expect(Math.abs(b - 10_000)).toBeLessThan(500);
  });
});

describe('quantileSorted (type 7)', () => {
  it('should interpolate between order statistics', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5); // h = 3·0.5 = 1.5 → 2 + 0.5·(3 − 2)
    expect(quantileSorted([1, 2, 3, 4, 5], 0.025)).toBeCloseTo(1.1, 12); // h = 4·0.025 = 0.1
    expect(quantileSorted([1, 2, 3, 4, 5], 1)).toBe(5);
  });
});

const counts = (cols: { tp: number[]; fp: number[]; fn: number[] }): PerDocumentCounts => ({ docIds: cols.tp.map((_, i) => `d${i}`), metrics: { m: cols } });

describe('bootstrapF1', () => {
  it('should give a zero-width interval when every document has the same counts', () => {
    // any resample of 4 docs with tp=1, fp=1 each: P = 1/2, R = 1, F1 = 2/3
    const ci = bootstrapF1(counts({ tp: [1, 1, 1, 1], fp: [1, 1, 1, 1], fn: [0, 0, 0, 0] })).m!;
    expect(ci.low).toBeCloseTo(2 / 3, 12);
    expect(ci.high).toBeCloseTo(2 / 3, 12);
    expect(ci.level).toBe(0.95);
  });
  it('should follow the resampling distribution of a two-document set', () => {
    // doc0 (tp 1) and doc1 (fp 1): resample {0,0} → F1 1 (p 1/4), {1,1} → 0 (p 1/4), {0,1} → 2/3 (p 1/2).
    const c = counts({ tp: [1, 0], fp: [0, 1], fn: [0, 0] });
    // 95 %: the 2.5 % and 97.5 % quantiles fall in the masses at 0 and at 1
    expect(bootstrapF1(c).m).toEqual({ low: 0, high: 1, level: 0.95 });
    // 20 %: the 40 % and 60 % quantiles both fall in the middle mass at 2/3
    const mid = bootstrapF1(c, { level: 0.2 }).m!;
    expect(mid.low).toBeCloseTo(2 / 3, 12);
    expect(mid.high).toBeCloseTo(2 / 3, 12);
  });
  it('should be reproducible for a seed', () => {
    const c = counts({ tp: [3, 1, 4, 1, 5], fp: [0, 2, 1, 0, 1], fn: [1, 1, 0, 2, 0] });
    expect(bootstrapF1(c, { seed: 5 })).toEqual(bootstrapF1(c, { seed: 5 }));
  });
});

describe('pairedBootstrapCounts', () => {
  const c = counts({ tp: [3, 1, 4, 1, 5], fp: [0, 2, 1, 0, 1], fn: [1, 1, 0, 2, 0] });
  it('should find no difference between a system and itself: δ = 0, CI [0, 0], p = 1', () => {
    // every |δ*_b − 0| ≥ 0 → p = (1 + B)/(B + 1) = 1
    expect(pairedBootstrapCounts(c, c).m).toMatchObject({ difference: 0, ci: { low: 0, high: 0 }, pValue: 1 });
  });
  it('should give the smallest p, 1/(B+1), to a difference no resample can shrink', () => {
    // A perfect everywhere, B zero everywhere: δ*_b = 1 = δ for all b → no |δ*_b − δ| ≥ 1
    const a = counts({ tp: [1, 2], fp: [0, 0], fn: [0, 0] });
    const b = counts({ tp: [0, 0], fp: [1, 2], fn: [1, 2] });
    expect(pairedBootstrapCounts(a, b, { resamples: 200 }).m).toMatchObject({ f1A: 1, f1B: 0, difference: 1, ci: { low: 1, high: 1 }, pValue: 1 / 201 });
  });
});

describe('evaluate and compareSystems on MEDDOCAN dev', () => {
  const dev = loadSplit('dev');
  const labels = [...new Set(dev.flatMap((d) => d.spans.map((s) => s.label)))].sort();
  const a = mixedPerturbation(dev, 1, labels);
  const b = mixedPerturbation(dev, 2, labels);

  it('should put every F1 inside its own interval, and a narrower interval at a lower level', () => {
    const r = evaluate(dev, a, { unknownLabel: 'false-positive' });
    expect(r.bootstrap).toMatchObject({ resamples: 1000, level: 0.95, unit: 'document' });
    for (const prf of [r.entity.micro, r.spans.strict, r.spans.merged, r.token.micro, r.token.binary]) {
      expect(prf.ci!.low).toBeLessThanOrEqual(prf.f1);
      expect(prf.ci!.high).toBeGreaterThanOrEqual(prf.f1);
      expect(prf.ci!.high - prf.ci!.low).toBeGreaterThan(0);
    }
    const narrow = evaluate(dev, a, { unknownLabel: 'false-positive', bootstrap: { level: 0.5 } });
    expect(narrow.entity.micro.ci!.high - narrow.entity.micro.ci!.low).toBeLessThan(r.entity.micro.ci!.high - r.entity.micro.ci!.low);
  });

  it('should report span detection as tied when two systems differ only in labels', () => {
    const cmp = compareSystems(dev, identity(dev), relabelEvery(dev, 3, labels));
    expect(cmp.metrics.span_strict).toMatchObject({ difference: 0, pValue: 1 });
    expect(cmp.metrics.entity!.difference).toBeGreaterThan(0.3);
    expect(cmp.metrics.entity!.pValue).toBeCloseTo(1 / 1001, 12);
  });

  it('should return the observed difference inside its interval for two noisy systems', () => {
    const cmp = compareSystems(dev, a, b, { unknownLabel: 'false-positive' });
    const e = cmp.metrics.entity!;
    expect(e.difference).toBeCloseTo(e.f1A - e.f1B, 15);
    expect(e.ci.low).toBeLessThanOrEqual(e.difference);
    expect(e.ci.high).toBeGreaterThanOrEqual(e.difference);
    expect(e.pValue).toBeGreaterThan(0);
    expect(e.pValue).toBeLessThanOrEqual(1);
  });
});
