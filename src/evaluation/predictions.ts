/**
 * Pairing predicted documents with gold documents, and flattening scores into metric rows.
 * Pure functions; the service loads the documents and stores the rows.
 */
import type { EvaluationResult, PredictedDocument, PrfWithCi, Span } from '../scoring/index.js';

/**
 * The id a gold document is scored under: its externalId when one split is scored (unique there),
 * `split/externalId` when the whole corpus is. Ids also fix the bootstrap's document order, so the
 * same corpus re-imported gives the same intervals for the same seed.
 */
export function scoringId(split: string, externalId: string, goldSplit: string | null): string {
  return goldSplit !== null || split === '' ? externalId : `${split}/${externalId}`;
}

export interface PredictionSource {
  externalId: string;
  /** The split the prediction names, '' or null for none. */
  split: string | null;
  text?: string;
  spans: Span[];
}

/**
 * Resolves each prediction to the gold document it is for, by (split, externalId):
 * a prediction without a split matches the gold document with its externalId in the scored split
 * (or, scoring a whole corpus, the only gold document with that externalId); a prediction with a
 * split must name the scored split. Anything else gets an id no gold document has, so the scorer
 * reports it as UNKNOWN_DOCUMENT (or ignores it with unknownDocument: IGNORE).
 */
export function matchPredictions(gold: readonly { split: string; externalId: string }[], goldSplit: string | null, predictions: readonly PredictionSource[]): PredictedDocument[] {
  const byExternalId = new Map<string, string[]>();
  for (const doc of gold) byExternalId.set(doc.externalId, [...(byExternalId.get(doc.externalId) ?? []), scoringId(doc.split, doc.externalId, goldSplit)]);
  return predictions.map((p) => {
    const split = p.split ?? '';
    let id: string;
    if (goldSplit !== null) id = split === '' || split === goldSplit ? p.externalId : `${split}/${p.externalId}`;
    else if (split !== '') id = `${split}/${p.externalId}`;
    else id = byExternalId.get(p.externalId)?.length === 1 ? byExternalId.get(p.externalId)![0]! : p.externalId;
    return { id, ...(p.text !== undefined ? { text: p.text } : {}), spans: p.spans.map(({ start, end, label }) => ({ start, end, label })) };
  });
}

/** Metric families of the scoring library and the scorer each is stored under (Metric.scorer). */
export const SCORERS = Object.freeze({
  entity: 'meddocan-ner',
  span_strict: 'meddocan-span-strict',
  span_merged: 'meddocan-span-merged',
  token: 'token-typed',
  token_binary: 'token-binary',
  leak: 'meddocan-leak',
} as const);
export type MetricFamily = keyof typeof SCORERS;

/** Privacy metric rows (privacyMetricRows names) by scorer. */
export function privacyScorerOf(name: string): string {
  if (name.startsWith('ngram')) return 'privacy-ngram-overlap';
  if (name.startsWith('phi_')) return 'privacy-phi-verbatim';
  if (name.startsWith('longest_copied')) return 'privacy-copied-passage';
  return 'privacy-nearest-document';
}

/** Each P/R/F1 of an evaluation: (family, label or null for micro, scores). */
export function scoreFamilies(result: EvaluationResult): [MetricFamily, string | null, PrfWithCi][] {
  const out: [MetricFamily, string | null, PrfWithCi][] = [['entity', null, result.entity.micro]];
  for (const [label, prf] of Object.entries(result.entity.perLabel)) out.push(['entity', label, prf]);
  out.push(['span_strict', null, result.spans.strict], ['span_merged', null, result.spans.merged], ['token', null, result.token.micro]);
  for (const [label, prf] of Object.entries(result.token.perLabel)) out.push(['token', label, prf]);
  out.push(['token_binary', null, result.token.binary]);
  return out;
}

export interface ScoreRowValues {
  name: string;
  value: number;
  label: string | null;
  ciLow: number | null;
  ciHigh: number | null;
  scorer: string;
}

/**
 * The rows toMetricRows gives (`<family>_precision|recall|f1`, the F1 with its interval, and `leak`)
 * plus the counts `<family>_tp|fp|fn`, so a table can show support (tp + fn) from stored rows alone.
 */
export function evaluationRows(result: EvaluationResult): ScoreRowValues[] {
  const rows: ScoreRowValues[] = [];
  for (const [family, label, prf] of scoreFamilies(result)) {
    const scorer = SCORERS[family];
    const row = (suffix: string, value: number, ci?: { low: number; high: number }) => rows.push({ name: `${family}_${suffix}`, value, label, ciLow: ci?.low ?? null, ciHigh: ci?.high ?? null, scorer });
    row('precision', prf.precision);
    row('recall', prf.recall);
    row('f1', prf.f1, prf.ci);
    row('tp', prf.tp);
    row('fp', prf.fp);
    row('fn', prf.fn);
  }
  rows.push({ name: 'leak', value: result.leak.leak, label: null, ciLow: null, ciHigh: null, scorer: SCORERS.leak });
  return rows;
}

/** Splits a stored metric name into its family and measure ('token_binary_f1' → token_binary, f1). */
export function parseMetricName(name: string): { family: MetricFamily; measure: string } | null {
  const match = /^(entity|span_strict|span_merged|token_binary|token)_(precision|recall|f1|tp|fp|fn)$/.exec(name);
  return match ? { family: match[1] as MetricFamily, measure: match[2]! } : null;
}
