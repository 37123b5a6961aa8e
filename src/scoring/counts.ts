import { prfFromCounts } from './prf.js';
import type { Counts, Prf } from './types.js';

/** Per-document tp/fp/fn for one metric, aligned with PerDocumentCounts.docIds. */
export interface CountColumns {
  tp: number[];
  fp: number[];
  fn: number[];
}

/**
 * The additive core of every P/R/F1 here: per-document counts per metric key. Micro scores sum the
 * columns; the bootstrap resamples documents and sums the resampled columns.
 * Keys: 'entity', 'entity/<LABEL>', 'span_strict', 'span_merged', 'token', 'token/<LABEL>', 'token_binary'.
 */
export interface PerDocumentCounts {
  docIds: string[];
  metrics: Record<string, CountColumns>;
}

export function emptyColumns(n: number): CountColumns {
  return { tp: new Array<number>(n).fill(0), fp: new Array<number>(n).fill(0), fn: new Array<number>(n).fill(0) };
}

export function sumColumns(c: CountColumns): Counts {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < c.tp.length; i++) {
    tp += c.tp[i]!;
    fp += c.fp[i]!;
    fn += c.fn[i]!;
  }
  return { tp, fp, fn };
}

export const microPrf = (c: CountColumns): Prf => prfFromCounts(sumColumns(c));

/** Adds one document's per-label counts into label-keyed columns, creating columns on first sight. */
export function addLabelled(target: Record<string, CountColumns>, prefix: string, docIndex: number, nDocs: number, label: string, field: keyof Counts, amount = 1): void {
  const key = `${prefix}/${label}`;
  const col = (target[key] ??= emptyColumns(nDocs));
  col[field][docIndex]! += amount;
}
