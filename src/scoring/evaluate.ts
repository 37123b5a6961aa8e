import { type ConfusionMatrix, type ErrorExamples, confusionFromDocs, errorExamplesFromDocs } from './analysis.js';
import { type BootstrapOptions, type PairedComparison, bootstrapF1, pairedBootstrapCounts, DEFAULT_BOOTSTRAP } from './bootstrap.js';
import { type PerDocumentCounts, microPrf } from './counts.js';
import { entityColumns, perLabelFrom } from './entity.js';
import { ScoringErrorCode as C, ScoringInputError } from './errors.js';
import { type AlignedDocument, type InputOptions, alignDocuments } from './input.js';
import { type LeakScore, leakFromDocs } from './leak.js';
import { spanColumns } from './spans.js';
import { tokenColumns } from './token.js';
import type { PredictedDocument, Prf, PrfWithCi, ScoringDocument } from './types.js';
import { SCORER_VERSION } from './version.js';

export interface EvaluateOptions extends InputOptions {
  /** Bootstrap settings; `false` skips the intervals (default: 1000 resamples, 95 %). */
  bootstrap?: BootstrapOptions | false;
  /** Sentence counts for the leak score (see leakScore). */
  sentenceCounts?: Readonly<Record<string, number>>;
  /** Include the error analysis (confusion matrix and FP/FN lists); default false. */
  errorAnalysis?: boolean | { contextChars?: number };
}

export interface EvaluationResult {
  scorerVersion: string;
  documents: number;
  /** Subtrack 1 (NER), strict. */
  entity: { micro: PrfWithCi; perLabel: Record<string, PrfWithCi> };
  /** Subtrack 2, labels ignored. */
  spans: { strict: PrfWithCi; merged: PrfWithCi };
  leak: LeakScore;
  token: { tokens: number; micro: PrfWithCi; perLabel: Record<string, PrfWithCi>; binary: PrfWithCi };
  bootstrap: (Required<BootstrapOptions> & { unit: 'document' }) | null;
  confusion?: ConfusionMatrix;
  errors?: ErrorExamples;
}

/** Every additive metric's per-document counts (keys listed on PerDocumentCounts). */
export function countsFromDocs(docs: readonly AlignedDocument[]): PerDocumentCounts & { tokens: number } {
  const { columns: tokenCols, tokens } = tokenColumns(docs);
  return { docIds: docs.map((d) => d.id), metrics: { ...entityColumns(docs), ...spanColumns(docs), ...tokenCols }, tokens };
}

/** Per-document counts of every metric, for callers that run their own aggregation or bootstrap. */
export function documentCounts(gold: readonly ScoringDocument[], predicted: readonly PredictedDocument[], options: InputOptions = {}): PerDocumentCounts {
  const { docIds, metrics } = countsFromDocs(alignDocuments(gold, predicted, options));
  return { docIds, metrics };
}

/** All detection metrics in one pass, each F1 with its document-bootstrap interval. */
export function evaluate(gold: readonly ScoringDocument[], predicted: readonly PredictedDocument[], options: EvaluateOptions = {}): EvaluationResult {
  const docs = alignDocuments(gold, predicted, options);
  const counts = countsFromDocs(docs);
  const bootstrap = options.bootstrap === false ? null : { ...DEFAULT_BOOTSTRAP, ...options.bootstrap, unit: 'document' as const };
  const ci = bootstrap ? bootstrapF1(counts, bootstrap) : {};
  const withCi = (key: string): PrfWithCi => {
    const prf: Prf = microPrf(counts.metrics[key]!);
    return ci[key] ? { ...prf, ci: ci[key] } : prf;
  };
  const labelled = (prefix: string): Record<string, PrfWithCi> => {
    const out: Record<string, PrfWithCi> = {};
    for (const label of Object.keys(perLabelFrom(counts.metrics, prefix))) out[label] = withCi(`${prefix}/${label}`);
    return out;
  };
  const result: EvaluationResult = {
    scorerVersion: SCORER_VERSION,
    documents: docs.length,
    entity: { micro: withCi('entity'), perLabel: labelled('entity') },
    spans: { strict: withCi('span_strict'), merged: withCi('span_merged') },
    leak: leakFromDocs(docs, options.sentenceCounts),
    token: { tokens: counts.tokens, micro: withCi('token'), perLabel: labelled('token'), binary: withCi('token_binary') },
    bootstrap,
  };
  if (options.errorAnalysis) {
    const context = typeof options.errorAnalysis === 'object' ? options.errorAnalysis.contextChars ?? 40 : 40;
    result.confusion = confusionFromDocs(docs);
    result.errors = errorExamplesFromDocs(docs, context);
  }
  return result;
}

export interface SystemComparison {
  scorerVersion: string;
  documents: number;
  bootstrap: Required<BootstrapOptions> & { unit: 'document' };
  /** Keyed like PerDocumentCounts: 'entity', 'span_strict', 'span_merged', 'token', 'token_binary', 'entity/<LABEL>', … */
  metrics: Record<string, PairedComparison>;
}

/** Paired bootstrap test of system A against system B on the same gold (see PairedComparison for the p-value). */
export function compareSystems(gold: readonly ScoringDocument[], predictedA: readonly PredictedDocument[], predictedB: readonly PredictedDocument[], options: InputOptions & { bootstrap?: BootstrapOptions } = {}): SystemComparison {
  if (options.missingDocument === 'skip') {
    throw new ScoringInputError(C.INVALID_OPTION, "compareSystems cannot use missingDocument: 'skip' (the two systems could end up scored on different documents); use 'empty' or 'error'.", { option: 'missingDocument' });
  }
  const a = countsFromDocs(alignDocuments(gold, predictedA, options));
  const b = countsFromDocs(alignDocuments(gold, predictedB, options));
  const bootstrap = { ...DEFAULT_BOOTSTRAP, ...options.bootstrap, unit: 'document' as const };
  return { scorerVersion: SCORER_VERSION, documents: a.docIds.length, bootstrap, metrics: pairedBootstrapCounts(a, b, bootstrap) };
}

/** The row shape the platform stores. `label` is null for a score over all labels. */
export interface MetricRow {
  name: string;
  value: number;
  label: string | null;
  split: string;
  ci_low: number | null;
  ci_high: number | null;
  scorer_version: string;
}

/**
 * Flattens an EvaluationResult to rows: for each metric family (entity, span_strict, span_merged,
 * token, token_binary) the rows `<family>_precision`, `<family>_recall`, `<family>_f1` (the F1 row
 * carries the interval), per label for entity and token, plus `leak`.
 */
export function toMetricRows(result: EvaluationResult, split: string): MetricRow[] {
  const rows: MetricRow[] = [];
  const push = (family: string, label: string | null, prf: PrfWithCi): void => {
    const base = { label, split, scorer_version: result.scorerVersion };
    rows.push({ ...base, name: `${family}_precision`, value: prf.precision, ci_low: null, ci_high: null });
    rows.push({ ...base, name: `${family}_recall`, value: prf.recall, ci_low: null, ci_high: null });
    rows.push({ ...base, name: `${family}_f1`, value: prf.f1, ci_low: prf.ci?.low ?? null, ci_high: prf.ci?.high ?? null });
  };
  push('entity', null, result.entity.micro);
  for (const [label, prf] of Object.entries(result.entity.perLabel)) push('entity', label, prf);
  push('span_strict', null, result.spans.strict);
  push('span_merged', null, result.spans.merged);
  push('token', null, result.token.micro);
  for (const [label, prf] of Object.entries(result.token.perLabel)) push('token', label, prf);
  push('token_binary', null, result.token.binary);
  rows.push({ name: 'leak', value: result.leak.leak, label: null, split, ci_low: null, ci_high: null, scorer_version: result.scorerVersion });
  return rows;
}
