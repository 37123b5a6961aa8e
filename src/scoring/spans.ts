import { type CountColumns, emptyColumns, microPrf } from './counts.js';
import { type AlignedDocument, type InputOptions, alignDocuments } from './input.js';
import { type CodePointText, isAllNonAlphanumeric } from './text.js';
import type { PredictedDocument, Prf, ScoringDocument, Span } from './types.js';
import { SCORER_VERSION } from './version.js';

/** An unlabelled span: [start, end) in code points. */
export type Offsets = readonly [start: number, end: number];

const key = (o: Offsets): string => `${o[0]},${o[1]}`;
const byOffsets = (a: Offsets, b: Offsets): number => a[0] - b[0] || a[1] - b[1];

/**
 * The official "merged" spans (classes.py Annotation.add_spans): walk the spans sorted by (start, end),
 * duplicates kept; join the current span y onto the last kept span x when the text between them,
 * text[x.end:y.start], holds no letter or digit — then the result is (x.start, y.end). Quirks kept on
 * purpose, since the official numbers depend on them: adjacent and overlapping spans always join
 * (the Python slice is empty), and a span nested inside x yields (x.start, y.end), shorter than x.
 * Invalid predicted spans (invalidSpans: 'score') are sliced as Python does: a negative index counts
 * from the end of the text.
 */
export function mergeSpans(text: CodePointText, spans: readonly Offsets[]): Offsets[] {
  const merged: Offsets[] = [];
  const py = (i: number): number => (i < 0 ? i + text.length : i);
  for (const y of [...spans].sort(byOffsets)) {
    const x = merged.pop();
    if (x === undefined) merged.push(y);
    else if (isAllNonAlphanumeric(text.slice(py(x[1]), py(y[0])))) merged.push([x[0], y[1]]);
    else merged.push(x, y);
  }
  return merged;
}

// classes.py Evaluate.is_contained: content lies within some container span, bounds inclusive.
function isContained(o: Offsets, containers: readonly Offsets[]): boolean {
  return containers.some((c) => o[0] >= c[0] && o[1] <= c[1]);
}

const offsetsOf = (spans: readonly Span[]): Offsets[] => spans.map((s) => [s.start, s.end] as const);

function uniqueByKey(list: readonly Offsets[]): Map<string, Offsets> {
  const m = new Map<string, Offsets>();
  for (const o of list) m.set(key(o), o);
  return m;
}

/** Subtrack 2 strict for one document: sets of (start, end), labels ignored. */
export function strictSpanCounts(doc: AlignedDocument): { tp: number; fp: number; fn: number } {
  const g = uniqueByKey(offsetsOf(doc.gold));
  const p = uniqueByKey(offsetsOf(doc.pred));
  let tp = 0;
  for (const k of p.keys()) if (g.has(k)) tp++;
  return { tp, fp: p.size - tp, fn: g.size - tp };
}

/**
 * Subtrack 2 merged for one document (classes.py EvaluateSubtrack2merged):
 *   I  = (goldStrict ∩ sysStrict) ∪ (goldMerged ∩ sysMerged)          tp = |I|
 *   fp = sysStrict − goldStrict, less every span contained in some span of I
 *   fn = goldStrict − sysStrict, less every span contained in some span of I
 * Note tp counts elements of a union of two sets, so a gold pair joined into one merged span that the
 * system also predicts as the same two spans yields tp = 3 (two strict + one merged).
 */
export function mergedSpanCounts(doc: AlignedDocument): { tp: number; fp: number; fn: number } {
  const goldStrict = uniqueByKey(offsetsOf(doc.gold));
  const sysStrict = uniqueByKey(offsetsOf(doc.pred));
  const goldMerged = uniqueByKey(mergeSpans(doc.text, offsetsOf(doc.gold)));
  const sysMerged = uniqueByKey(mergeSpans(doc.text, offsetsOf(doc.pred)));
  const inter = new Map<string, Offsets>();
  for (const [k, o] of goldStrict) if (sysStrict.has(k)) inter.set(k, o);
  for (const [k, o] of goldMerged) if (sysMerged.has(k)) inter.set(k, o);
  const containers = [...inter.values()];
  let fp = 0;
  for (const [k, o] of sysStrict) if (!goldStrict.has(k) && !isContained(o, containers)) fp++;
  let fn = 0;
  for (const [k, o] of goldStrict) if (!sysStrict.has(k) && !isContained(o, containers)) fn++;
  return { tp: inter.size, fp, fn };
}

export function spanColumns(docs: readonly AlignedDocument[]): Record<string, CountColumns> {
  const strict = emptyColumns(docs.length);
  const merged = emptyColumns(docs.length);
  docs.forEach((doc, i) => {
    const s = strictSpanCounts(doc);
    strict.tp[i] = s.tp;
    strict.fp[i] = s.fp;
    strict.fn[i] = s.fn;
    const m = mergedSpanCounts(doc);
    merged.tp[i] = m.tp;
    merged.fp[i] = m.fp;
    merged.fn[i] = m.fn;
  });
  return { span_strict: strict, span_merged: merged };
}

export interface SpanScore {
  scorerVersion: string;
  documents: number;
  strict: Prf;
  merged: Prf;
}

/** MEDDOCAN subtrack 2 (span detection, labels ignored): strict and merged micro P/R/F1. */
export function scoreSpans(gold: readonly ScoringDocument[], predicted: readonly PredictedDocument[], options: InputOptions = {}): SpanScore {
  const docs = alignDocuments(gold, predicted, options);
  const cols = spanColumns(docs);
  return { scorerVersion: SCORER_VERSION, documents: docs.length, strict: microPrf(cols.span_strict!), merged: microPrf(cols.span_merged!) };
}
