import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { CorpusFormatEnum } from './corpus.type.js';
import { ConnectionType } from './pagination.js';

export enum UnknownLabelPolicy {
  ERROR = 'error',
  FALSE_POSITIVE = 'false-positive',
}
registerEnumType(UnknownLabelPolicy, { name: 'UnknownLabelPolicy', description: 'A predicted label outside the label set: fail (UNKNOWN_LABEL) or score it as a false positive (the official script).' });

export enum MissingDocumentPolicy {
  ERROR = 'error',
  EMPTY = 'empty',
  SKIP = 'skip',
}
registerEnumType(MissingDocumentPolicy, { name: 'MissingDocumentPolicy', description: 'A gold document with no predicted document: fail (MISSING_PREDICTION), score it as predicting nothing, or leave it out (the official script).' });

export enum UnknownDocumentPolicy {
  ERROR = 'error',
  IGNORE = 'ignore',
}
registerEnumType(UnknownDocumentPolicy, { name: 'UnknownDocumentPolicy', description: 'A predicted document that is not in the gold split: fail (UNKNOWN_DOCUMENT) or ignore it (the official script).' });

export enum InvalidSpanPolicy {
  ERROR = 'error',
  SCORE = 'score',
}
registerEnumType(InvalidSpanPolicy, {
  name: 'InvalidSpanPolicy',
  description: 'A predicted span that is empty, reversed or outside its text: fail (INVALID_SPAN, SPAN_OUT_OF_RANGE) or score it as an ordinary span that matches nothing but an identical gold span (the official script).',
});

export enum EvaluationErrorKind {
  FALSE_POSITIVE = 'FALSE_POSITIVE',
  FALSE_NEGATIVE = 'FALSE_NEGATIVE',
}
registerEnumType(EvaluationErrorKind, { name: 'EvaluationErrorKind' });

export enum EvaluationErrorType {
  LABEL = 'LABEL',
  BOUNDARY = 'BOUNDARY',
  MISSED = 'MISSED',
  SPURIOUS = 'SPURIOUS',
}
registerEnumType(EvaluationErrorType, {
  name: 'EvaluationErrorType',
  description: 'LABEL: the other side has the same offsets with another label; BOUNDARY: it overlaps other offsets; MISSED / SPURIOUS: nothing overlaps it.',
});

@InputType({ description: 'An uploaded predictions file in any corpus format; it is parsed for scoring and not stored as a corpus.' })
export class PredictionsUploadInput {
  @Field(() => String, { description: 'Name of the file: .zip, .tar, .tar.gz, or a single .jsonl/.conll/.xml.' }) fileName!: string;
  @Field(() => String, { description: 'The file, base64-encoded.' }) contentBase64!: string;
  @Field(() => CorpusFormatEnum, { nullable: true, description: 'Detected from the files when omitted.' }) format?: CorpusFormatEnum;
}

@InputType()
export class EvaluateInput {
  @Field(() => ID, { description: 'The corpus holding the gold annotations.' }) goldCorpusId!: string;
  @Field(() => String, { nullable: true, description: 'The gold split; omitted = every document of the corpus.' }) split?: string;
  @Field(() => ID, { nullable: true, description: 'A corpus whose annotations are the predictions; documents match by (split, externalId).' }) predictedCorpusId?: string;
  @Field(() => PredictionsUploadInput, { nullable: true }) predictions?: PredictionsUploadInput;
  @Field(() => ID, { nullable: true, description: 'The model the predictions come from; alone, its MACHINE annotations on the gold documents are scored.' }) modelId?: string;
  @Field(() => [String], { nullable: true, description: 'Labels a prediction may carry; default: the labels of the gold split.' }) labels?: string[];
  @Field(() => UnknownLabelPolicy, { defaultValue: UnknownLabelPolicy.ERROR }) unknownLabel!: UnknownLabelPolicy;
  @Field(() => MissingDocumentPolicy, { defaultValue: MissingDocumentPolicy.ERROR }) missingDocument!: MissingDocumentPolicy;
  @Field(() => UnknownDocumentPolicy, { defaultValue: UnknownDocumentPolicy.ERROR }) unknownDocument!: UnknownDocumentPolicy;
  @Field(() => InvalidSpanPolicy, { defaultValue: InvalidSpanPolicy.ERROR }) invalidSpans!: InvalidSpanPolicy;
  @Field(() => Int, { defaultValue: 1000, description: 'Document-bootstrap resamples for the intervals (1–10000).' }) bootstrapResamples!: number;
  @Field(() => Float, { defaultValue: 0.95 }) confidenceLevel!: number;
  @Field(() => Int, { defaultValue: 20250214, description: 'Bootstrap seed: the same seed gives the same intervals.' }) seed!: number;
  @Field(() => Int, { defaultValue: 40, description: 'Code points of context on each side of an error example.' }) contextChars!: number;
}

@InputType()
export class MetricFilter {
  @Field(() => ID, { nullable: true }) modelId?: string;
  @Field(() => ID, { nullable: true }) corpusId?: string;
  @Field(() => ID, { nullable: true }) jobId?: string;
  @Field(() => ID, { nullable: true, description: 'Rows of the steps this experiment ran (a reused step\'s rows stay with the experiment that ran it).' }) experimentId?: string;
  @Field(() => ID, { nullable: true }) stepId?: string;
  @Field(() => String, { nullable: true, description: 'e.g. entity_f1, span_merged_recall, token_binary_f1, leak, ngram5_overlap.' }) name?: string;
  @Field(() => String, { nullable: true }) split?: string;
  @Field(() => String, { nullable: true, description: 'e.g. meddocan-ner, meddocan-span-strict, token-typed, privacy-phi-verbatim.' }) scorer?: string;
  @Field(() => String, { nullable: true }) label?: string;
}

@ObjectType({ description: 'One stored number: a score, a count, a training-curve point or a privacy measure.' })
export class Metric {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => Float) value!: number;
  @Field(() => Int, { nullable: true, description: 'Training step for curves; null for final scores.' }) step!: number | null;
  @Field(() => String, { nullable: true, description: 'The PHI label; null for a score over all labels.' }) label!: string | null;
  @Field(() => String, { nullable: true }) split!: string | null;
  @Field(() => Float, { nullable: true, description: 'Bootstrap interval (F1 rows only).' }) ciLow!: number | null;
  @Field(() => Float, { nullable: true }) ciHigh!: number | null;
  @Field(() => String, { nullable: true }) scorer!: string | null;
  @Field(() => String, { nullable: true }) scorerVersion!: string | null;
  @Field(() => ID, { nullable: true }) modelId!: string | null;
  @Field(() => ID, { nullable: true }) corpusId!: string | null;
  @Field(() => ID, { nullable: true }) experimentId!: string | null;
  @Field(() => ID, { nullable: true }) jobId!: string | null;
  @Field(() => Date) createdAt!: Date;
}

@ObjectType({ description: 'Precision, recall and F1 of one label (or all: label null), pooled over documents.' })
export class ScoreRow {
  @Field(() => String, { nullable: true }) label!: string | null;
  @Field(() => Float) precision!: number;
  @Field(() => Float) recall!: number;
  @Field(() => Float) f1!: number;
  @Field(() => Int, { description: 'Gold items of this label: tp + fn.' }) support!: number;
  @Field(() => Int) tp!: number;
  @Field(() => Int) fp!: number;
  @Field(() => Int) fn!: number;
  @Field(() => Float, { nullable: true, description: 'Document-bootstrap percentile interval of the F1.' }) ciLow!: number | null;
  @Field(() => Float, { nullable: true }) ciHigh!: number | null;
}

@ObjectType()
export class ScorerTable {
  @Field(() => String, { description: 'meddocan-ner (subtrack 1), meddocan-span-strict, meddocan-span-merged (subtrack 2), token-typed, token-binary.' }) scorer!: string;
  @Field(() => String, { description: 'The metric-name prefix of its rows: entity, span_strict, span_merged, token, token_binary.' }) family!: string;
  @Field(() => ScoreRow) micro!: ScoreRow;
  @Field(() => [ScoreRow], { description: 'Per label, sorted; empty for the label-agnostic scorers.' }) perLabel!: ScoreRow[];
}

@ObjectType({ description: 'The scores an evaluate job stored (docs/scoring.md defines every number).' })
export class Evaluation {
  @Field(() => ID) jobId!: string;
  @Field(() => ID) goldCorpusId!: string;
  @Field(() => String, { nullable: true }) split!: string | null;
  @Field(() => ID, { nullable: true }) predictedCorpusId!: string | null;
  @Field(() => ID, { nullable: true }) modelId!: string | null;
  @Field(() => String, { description: 'CORPUS, UPLOAD or MODEL (machine annotations).' }) source!: string;
  @Field(() => String) scorerVersion!: string;
  @Field(() => Int) documents!: number;
  @Field(() => Int) goldSpans!: number;
  @Field(() => Int) predictedSpans!: number;
  @Field(() => Int) bootstrapResamples!: number;
  @Field(() => Float, { nullable: true }) confidenceLevel!: number | null;
  @Field(() => Int, { nullable: true }) seed!: number | null;
  @Field(() => Float, { description: 'MEDDOCAN leak score: typed false negatives per sentence. Sentences are counted by a rule that reproduces the official FreeLing counts on its 15 sample documents (a run of . ? ! before whitespace or the end ends one; not after initials, dotted acronyms or titles such as Dr.); see docs/scoring.md.' }) leak!: number;
  @Field(() => [ScorerTable]) scorers!: ScorerTable[];
  @Field(() => Date) createdAt!: Date;
}

@ObjectType()
export class SpanRef {
  @Field(() => Int) start!: number;
  @Field(() => Int) end!: number;
  @Field(() => String) label!: string;
}

@ObjectType({ description: 'A strict-entity error with its context. Holds document text: shown only to users who may read the gold corpus.' })
export class EvaluationError {
  @Field(() => ID, { nullable: true }) documentId!: string | null;
  @Field(() => String) externalId!: string;
  @Field(() => String) split!: string;
  @Field(() => Int) start!: number;
  @Field(() => Int) end!: number;
  @Field(() => String) label!: string;
  @Field(() => EvaluationErrorType) errorType!: EvaluationErrorType;
  @Field(() => String) text!: string;
  @Field(() => String) left!: string;
  @Field(() => String) right!: string;
  @Field(() => [SpanRef], { description: 'Spans of the other side that overlap this one.' }) overlapping!: SpanRef[];
}

@ObjectType({ description: 'Paired bootstrap test of one metric: system A (jobA) minus system B (jobB).' })
export class MetricComparison {
  @Field(() => String, { description: 'entity, span_strict, span_merged, token, token_binary, or <family>/<LABEL>.' }) metric!: string;
  @Field(() => String) scorer!: string;
  @Field(() => String, { nullable: true }) label!: string | null;
  @Field(() => Float) f1A!: number;
  @Field(() => Float) f1B!: number;
  @Field(() => Float, { description: 'f1A − f1B.' }) difference!: number;
  @Field(() => Float) ciLow!: number;
  @Field(() => Float) ciHigh!: number;
  @Field(() => Float, { description: 'Two-sided shifted-bootstrap p-value, at least 1/(resamples+1).' }) pValue!: number;
}

@ObjectType()
export class EvaluationComparison {
  @Field(() => ID) jobA!: string;
  @Field(() => ID) jobB!: string;
  @Field(() => Int) documents!: number;
  @Field(() => Int) resamples!: number;
  @Field(() => Float) confidenceLevel!: number;
  @Field(() => Int) seed!: number;
  @Field(() => String) scorerVersion!: string;
  @Field(() => [MetricComparison]) metrics!: MetricComparison[];
}

@ObjectType()
export class NgramOverlap {
  @Field(() => Float, { description: 'Share of synthetic n-gram occurrences found anywhere in the real corpus.' }) corpus!: number;
  @Field(() => Float, { description: 'Mean of the per-document shares.' }) documentMean!: number;
  @Field(() => Int) matchedNgrams!: number;
  @Field(() => Int) totalNgrams!: number;
}

@ObjectType()
export class PhiLabelReproduction {
  @Field(() => String) label!: string;
  @Field(() => Int, { nullable: true, description: 'Null unless you may read the real corpus (counts describe it).' }) realStrings!: number | null;
  @Field(() => Int, { nullable: true, description: 'Null unless you may read the real corpus.' }) reproduced!: number | null;
  @Field(() => Float) share!: number;
  @Field(() => Int, { nullable: true, description: 'Null unless you may read the real corpus.' }) occurrences!: number | null;
}

@ObjectType({ description: 'A real PHI string found verbatim in the synthetic text.' })
export class PhiExample {
  @Field(() => String) text!: string;
  @Field(() => [String]) labels!: string[];
  @Field(() => Int) occurrences!: number;
}

@ObjectType()
export class PhiReproduction {
  @Field(() => Int, { nullable: true, description: 'Distinct real PHI strings; null unless you may read the real corpus (counts describe it).' }) realStrings!: number | null;
  @Field(() => Int, { nullable: true, description: 'Distinct real PHI strings found in the synthetic text; null unless you may read the real corpus.' }) reproduced!: number | null;
  @Field(() => Float, { description: 'reproduced / realStrings.' }) share!: number;
  @Field(() => Int, { nullable: true, description: 'Null unless you may read the real corpus.' }) occurrences!: number | null;
  @Field(() => [PhiLabelReproduction]) perLabel!: PhiLabelReproduction[];
  @Field(() => [PhiExample], { nullable: true, description: 'Most frequent reproduced strings; null unless you may read the real corpus.' }) examples!: PhiExample[] | null;
}

@ObjectType()
export class CopiedPassage {
  @Field(() => Int) words!: number;
  @Field(() => String) syntheticExternalId!: string;
  @Field(() => String, { nullable: true, description: 'The real document it occurs in; null unless you may read the real corpus.' }) realExternalId!: string | null;
  @Field(() => String) text!: string;
}

@ObjectType()
export class NearestReal {
  @Field(() => Float) meanJaccard!: number;
  @Field(() => Float) maxJaccard!: number;
}

@ObjectType()
export class SyntheticDocumentPrivacy {
  @Field(() => String) syntheticExternalId!: string;
  @Field(() => Int) ngrams!: number;
  @Field(() => Int) matchedNgrams!: number;
  @Field(() => Float) overlap!: number;
  @Field(() => Int) longestCopiedWords!: number;
  @Field(() => String, { nullable: true, description: 'Null unless you may read the real corpus.' }) longestCopiedFromExternalId!: string | null;
  @Field(() => String, { nullable: true, description: 'Null unless you may read the real corpus.' }) nearestRealExternalId!: string | null;
  @Field(() => Float, { description: 'Jaccard similarity of distinct n-gram sets with the nearest real document.' }) nearestJaccard!: number;
}

@ObjectType({ description: 'Privacy metrics of a synthetic corpus against a real one (docs/scoring.md, "Privacy").' })
export class PrivacyReport {
  @Field(() => ID) jobId!: string;
  @Field(() => ID) syntheticCorpusId!: string;
  @Field(() => ID, { nullable: true, description: 'Null unless you may read the real corpus.' }) realCorpusId!: string | null;
  @Field(() => String, { nullable: true }) realSplit!: string | null;
  @Field(() => Boolean) realCorpusReadable!: boolean;
  @Field(() => Int) n!: number;
  @Field(() => Boolean) caseSensitive!: boolean;
  @Field(() => String) scorerVersion!: string;
  @Field(() => Int) syntheticDocuments!: number;
  @Field(() => Int, { nullable: true, description: 'Null unless you may read the real corpus.' }) realDocuments!: number | null;
  @Field(() => NgramOverlap) ngramOverlap!: NgramOverlap;
  @Field(() => PhiReproduction) phiReproduction!: PhiReproduction;
  @Field(() => CopiedPassage, { nullable: true, description: 'Null when no run of n words was copied.' }) longestCopied!: CopiedPassage | null;
  @Field(() => NearestReal) nearestReal!: NearestReal;
  @Field(() => [SyntheticDocumentPrivacy]) documents!: SyntheticDocumentPrivacy[];
}

export const MetricConnection = ConnectionType(Metric, 'Metric');
export const EvaluationErrorConnection = ConnectionType(EvaluationError, 'EvaluationError');
