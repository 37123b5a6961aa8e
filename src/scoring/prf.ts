import type { Counts, Prf } from './types.js';

// The official script's conventions (classes.py `precision`, `recall`, `F_beta`): every
// ZeroDivisionError becomes 0.0. So nothing predicted => P=0; no gold => R=0; both empty => all 0.
export function ratio(num: number, den: number): number {
  return den === 0 ? 0 : num / den;
}

export function f1Of(precision: number, recall: number): number {
  return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
}

export function prfFromCounts(c: Counts): Prf {
  const precision = ratio(c.tp, c.tp + c.fp);
  const recall = ratio(c.tp, c.tp + c.fn);
  return { tp: c.tp, fp: c.fp, fn: c.fn, precision, recall, f1: f1Of(precision, recall) };
}

/** F1 straight from counts, the form the bootstrap uses in its inner loop. */
export function f1FromCounts(tp: number, fp: number, fn: number): number {
  return f1Of(ratio(tp, tp + fp), ratio(tp, tp + fn));
}

export function addCounts(a: Counts, b: Counts): Counts {
  return { tp: a.tp + b.tp, fp: a.fp + b.fp, fn: a.fn + b.fn };
}
