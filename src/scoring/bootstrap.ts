import type { PerDocumentCounts } from './counts.js';
import { ScoringErrorCode as C, ScoringInputError } from './errors.js';
import { f1FromCounts } from './prf.js';
import { createRng } from './rng.js';
import type { ConfidenceInterval } from './types.js';

export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  resamples?: number;
  /** Two-sided confidence level (default 0.95). */
  level?: number;
  /** RNG seed (default 20250214); results are a pure function of inputs and seed. */
  seed?: number;
}

export const DEFAULT_BOOTSTRAP = Object.freeze({ resamples: 1000, level: 0.95, seed: 20250214 });

function resolve(options: BootstrapOptions): Required<BootstrapOptions> {
  const o = { ...DEFAULT_BOOTSTRAP, ...options };
  if (!Number.isInteger(o.resamples) || o.resamples < 1) {
    throw new ScoringInputError(C.INVALID_OPTION, `bootstrap.resamples must be a positive integer (1000 is usual); got ${o.resamples}.`, { option: 'resamples', value: o.resamples });
  }
  if (!(o.level > 0 && o.level < 1)) {
    throw new ScoringInputError(C.INVALID_OPTION, `bootstrap.level must lie strictly between 0 and 1 (e.g. 0.95); got ${o.level}.`, { option: 'level', value: o.level });
  }
  if (!Number.isInteger(o.seed)) {
    throw new ScoringInputError(C.INVALID_OPTION, `bootstrap.seed must be an integer; got ${o.seed}.`, { option: 'seed', value: o.seed });
  }
  return o;
}

/** Quantile of sorted values, linear interpolation between order statistics (R type 7, numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

function percentileInterval(values: Float64Array, level: number): ConfidenceInterval {
  const sorted = Float64Array.from(values).sort();
  const alpha = 1 - level;
  return { low: quantileSorted(sorted, alpha / 2), high: quantileSorted(sorted, 1 - alpha / 2), level };
}

/**
 * Draws resample weights: weights[b][d] = how often document d occurs in resample b (documents drawn
 * uniformly with replacement, as many as there are documents). Shared by all metrics and, for the
 * paired test, by both systems, which is what makes the test paired.
 */
function drawWeights(nDocs: number, resamples: number, seed: number): Int32Array[] {
  const rng = createRng(seed);
  const out: Int32Array[] = [];
  for (let b = 0; b < resamples; b++) {
    const w = new Int32Array(nDocs);
    for (let i = 0; i < nDocs; i++) w[rng.nextInt(nDocs)]!++;
    out.push(w);
  }
  return out;
}

function resampledF1(counts: PerDocumentCounts, key: string, weights: readonly Int32Array[]): Float64Array {
  const col = counts.metrics[key];
  const n = counts.docIds.length;
  const tp = Float64Array.from(col?.tp ?? new Array<number>(n).fill(0));
  const fp = Float64Array.from(col?.fp ?? new Array<number>(n).fill(0));
  const fn = Float64Array.from(col?.fn ?? new Array<number>(n).fill(0));
  const out = new Float64Array(weights.length);
  weights.forEach((w, b) => {
    let t = 0;
    let p = 0;
    let f = 0;
    for (let d = 0; d < n; d++) {
      const k = w[d]!;
      if (k === 0) continue;
      t += k * tp[d]!;
      p += k * fp[d]!;
      f += k * fn[d]!;
    }
    out[b] = f1FromCounts(t, p, f);
  });
  return out;
}

function observedF1(counts: PerDocumentCounts, key: string): number {
  const col = counts.metrics[key];
  if (!col) return 0;
  const sum = (a: number[]): number => a.reduce((x, y) => x + y, 0);
  return f1FromCounts(sum(col.tp), sum(col.fp), sum(col.fn));
}

/**
 * Percentile bootstrap confidence interval of the micro F1 of every metric key, resampling documents
 * with replacement: in each resample the per-document counts of the drawn documents are summed and the
 * micro F1 is recomputed; the interval is the (α/2, 1−α/2) quantiles (type 7) of those F1s, α = 1 − level.
 */
export function bootstrapF1(counts: PerDocumentCounts, options: BootstrapOptions = {}): Record<string, ConfidenceInterval> {
  const o = resolve(options);
  const weights = drawWeights(counts.docIds.length, o.resamples, o.seed);
  const out: Record<string, ConfidenceInterval> = {};
  for (const key of Object.keys(counts.metrics).sort()) out[key] = percentileInterval(resampledF1(counts, key, weights), o.level);
  return out;
}

export interface PairedComparison {
  /** Micro F1 of system A and B on the full set. */
  f1A: number;
  f1B: number;
  /** Observed difference f1A − f1B. */
  difference: number;
  /** Percentile interval of the resampled differences. */
  ci: ConfidenceInterval;
  /**
   * Two-sided p-value of H0 "no difference", by the shifted bootstrap: the resampled differences,
   * centred on the observed one, stand in for the null distribution:
   *   p = (1 + #{b : |δ*_b − δ| ≥ |δ|}) / (B + 1)
   * The +1 keeps p > 0 (a finite number of resamples cannot show p = 0). δ = 0 gives p = 1.
   */
  pValue: number;
  resamples: number;
}

/** Paired bootstrap of system A against system B on the same gold documents, for every metric key. */
export function pairedBootstrapCounts(a: PerDocumentCounts, b: PerDocumentCounts, options: BootstrapOptions = {}): Record<string, PairedComparison> {
  const o = resolve(options);
  if (a.docIds.length !== b.docIds.length || a.docIds.some((id, i) => id !== b.docIds[i])) {
    throw new ScoringInputError(C.INVALID_OPTION, 'A paired comparison needs both systems scored on the same documents; use missingDocument: \'empty\' (not \'skip\') so a document missing from one system still counts for both.', {});
  }
  const weights = drawWeights(a.docIds.length, o.resamples, o.seed);
  const keys = [...new Set([...Object.keys(a.metrics), ...Object.keys(b.metrics)])].sort();
  const out: Record<string, PairedComparison> = {};
  for (const key of keys) {
    const f1A = observedF1(a, key);
    const f1B = observedF1(b, key);
    const delta = f1A - f1B;
    const ra = resampledF1(a, key, weights);
    const rb = resampledF1(b, key, weights);
    const diffs = new Float64Array(o.resamples);
    let extreme = 0;
    // compare with a small tolerance so float noise in δ*_b − δ does not decide ties
    const eps = 1e-12;
    for (let i = 0; i < o.resamples; i++) {
      diffs[i] = ra[i]! - rb[i]!;
      if (Math.abs(diffs[i]! - delta) >= Math.abs(delta) - eps) extreme++;
    }
    out[key] = { f1A, f1B, difference: delta, ci: percentileInterval(diffs, o.level), pValue: (1 + extreme) / (o.resamples + 1), resamples: o.resamples };
  }
  return out;
}
