/**
 * Scoring library: MEDDOCAN subtracks 1 and 2 and leak score (matching the official evaluation
 * script), token-level scores, bootstrap intervals and paired tests, error analysis, and privacy
 * metrics of synthetic text. Pure functions over plain JSON; definitions in docs/scoring.md.
 */
export { SCORER_VERSION } from './version.js';
export { ScoringErrorCode, ScoringInputError } from './errors.js';
export { MEDDOCAN_LABELS, OUTSIDE } from './types.js';
export type { ConfidenceInterval, Counts, PlainDocument, PredictedDocument, Prf, PrfWithCi, ScoringDocument, Span } from './types.js';
export type { InputOptions } from './input.js';
export { prfFromCounts } from './prf.js';
export type { CountColumns, PerDocumentCounts } from './counts.js';

export { scoreEntities, type EntityScore } from './entity.js';
export { scoreSpans, mergeSpans, type SpanScore, type Offsets } from './spans.js';
export { leakScore, countSentences, type LeakOptions, type LeakScore } from './leak.js';
export { scoreTokens, tokenLabels, type TokenScore } from './token.js';
export { tokenize, CodePointText, type TokenOffsets } from './text.js';

export { createRng, type Rng } from './rng.js';
export { bootstrapF1, pairedBootstrapCounts, quantileSorted, DEFAULT_BOOTSTRAP, type BootstrapOptions, type PairedComparison } from './bootstrap.js';
export { evaluate, compareSystems, documentCounts, toMetricRows, type EvaluateOptions, type EvaluationResult, type SystemComparison, type MetricRow } from './evaluate.js';

export { confusionMatrix, errorExamples, NO_SPAN, type ConfusionMatrix, type ErrorExample, type ErrorExamples, type ErrorExampleOptions, type ErrorKind } from './analysis.js';

export {
  indexRealCorpus,
  privacyReport,
  privacyMetricRows,
  RealCorpusIndex,
  type PrivacyOptions,
  type PrivacyReport,
  type SyntheticDocumentPrivacy,
  type CopiedPassage,
  type PhiLabelReproduction,
} from './privacy.js';

export { distinctN } from './diversity.js';

export { readBratDirectory } from './brat.js';
export { shuffledSentenceCorpus, type ShuffledCorpusOptions } from './synthetic.js';
