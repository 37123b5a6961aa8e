import { type CountColumns, emptyColumns, microPrf, addLabelled } from './counts.js';
import { type AlignedDocument, type InputOptions, alignDocuments, spanKey } from './input.js';
import type { PredictedDocument, Prf, ScoringDocument, Span } from './types.js';
import { SCORER_VERSION } from './version.js';

/** One document's subtrack-1 outcome: spans compared as (start, end, label) sets. */
export interface EntityMatch {
  tp: Span[];
  fp: Span[];
  fn: Span[];
}

// classes.py EvaluateSubtrack1: tp = gold ∩ sys, fp = sys − gold, fn = gold − sys over sets of
// (label, start, end). The sets drop duplicate spans; alignDocuments has already deduplicated.
export function matchEntities(doc: AlignedDocument): EntityMatch {
  const goldKeys = new Set(doc.gold.map(spanKey));
  const predKeys = new Set(doc.pred.map(spanKey));
  return {
    tp: doc.gold.filter((s) => predKeys.has(spanKey(s))),
    fp: doc.pred.filter((s) => !goldKeys.has(spanKey(s))),
    fn: doc.gold.filter((s) => !predKeys.has(spanKey(s))),
  };
}

/** Per-document counts under key 'entity' and 'entity/<LABEL>' (labels of gold ∪ predicted). */
export function entityColumns(docs: readonly AlignedDocument[]): Record<string, CountColumns> {
  const n = docs.length;
  const out: Record<string, CountColumns> = { entity: emptyColumns(n) };
  docs.forEach((doc, i) => {
    const m = matchEntities(doc);
    out.entity!.tp[i] = m.tp.length;
    out.entity!.fp[i] = m.fp.length;
    out.entity!.fn[i] = m.fn.length;
    for (const s of m.tp) addLabelled(out, 'entity', i, n, s.label, 'tp');
    for (const s of m.fp) addLabelled(out, 'entity', i, n, s.label, 'fp');
    for (const s of m.fn) addLabelled(out, 'entity', i, n, s.label, 'fn');
  });
  return out;
}

export interface EntityScore {
  scorerVersion: string;
  documents: number;
  /** Micro-averaged over all spans of all documents (counts pooled, then P/R/F1) — the official "Micro". */
  micro: Prf;
  /** The same, restricted to spans of one label (gold or predicted); not reported by the official script. */
  perLabel: Record<string, Prf>;
}

export function perLabelFrom(columns: Record<string, CountColumns>, prefix: string): Record<string, Prf> {
  const out: Record<string, Prf> = {};
  const keys = Object.keys(columns).filter((k) => k.startsWith(`${prefix}/`)).sort();
  for (const k of keys) out[k.slice(prefix.length + 1)] = microPrf(columns[k]!);
  return out;
}

/** MEDDOCAN subtrack 1 (NER): a predicted span is correct only if start, end and label equal a gold span. */
export function scoreEntities(gold: readonly ScoringDocument[], predicted: readonly PredictedDocument[], options: InputOptions = {}): EntityScore {
  const docs = alignDocuments(gold, predicted, options);
  const cols = entityColumns(docs);
  return { scorerVersion: SCORER_VERSION, documents: docs.length, micro: microPrf(cols.entity!), perLabel: perLabelFrom(cols, 'entity') };
}
