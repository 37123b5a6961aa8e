import { matchEntities } from './entity.js';
import { ScoringErrorCode as C, ScoringInputError } from './errors.js';
import { type AlignedDocument, type InputOptions, alignDocuments } from './input.js';
import type { PredictedDocument, ScoringDocument, Span } from './types.js';
import { SCORER_VERSION } from './version.js';

/** Row for predicted spans that overlap no gold span, and column for gold spans no prediction overlaps. */
export const NO_SPAN = '∅';

// Sharing at least one code point; an empty or reversed span (invalidSpans: 'score') overlaps nothing.
const overlaps = (a: Span, b: Span): boolean => Math.max(a.start, b.start) < Math.min(a.end, b.end);

export interface ConfusionMatrix {
  scorerVersion: string;
  /**
   * matrix[goldLabel][predictedLabel] = number of (gold span, predicted span) pairs that share at
   * least one code point; matrix[goldLabel][∅] = gold spans no prediction overlaps (missed);
   * matrix[∅][predictedLabel] = predicted spans no gold span overlaps (spurious). A gold span split
   * into two predictions counts twice in its row. Exact matches sit on the diagonal with partial
   * overlaps; `exactMatrix` counts only pairs with identical offsets.
   */
  matrix: Record<string, Record<string, number>>;
  exactMatrix: Record<string, Record<string, number>>;
  labels: string[];
}

function bump(m: Record<string, Record<string, number>>, row: string, col: string): void {
  const r = (m[row] ??= {});
  r[col] = (r[col] ?? 0) + 1;
}

export function confusionFromDocs(docs: readonly AlignedDocument[]): ConfusionMatrix {
  const matrix: Record<string, Record<string, number>> = {};
  const exactMatrix: Record<string, Record<string, number>> = {};
  const labels = new Set<string>();
  for (const doc of docs) {
    const predHit = new Array<boolean>(doc.pred.length).fill(false);
    for (const g of doc.gold) {
      labels.add(g.label);
      let hit = false;
      doc.pred.forEach((p, j) => {
        if (!overlaps(g, p)) return;
        hit = true;
        predHit[j] = true;
        bump(matrix, g.label, p.label);
        if (g.start === p.start && g.end === p.end) bump(exactMatrix, g.label, p.label);
      });
      if (!hit) bump(matrix, g.label, NO_SPAN);
    }
    doc.pred.forEach((p, j) => {
      labels.add(p.label);
      if (!predHit[j]) bump(matrix, NO_SPAN, p.label);
    });
  }
  return { scorerVersion: SCORER_VERSION, matrix, exactMatrix, labels: [...labels].sort() };
}

/** Gold label × predicted label on overlapping spans, plus missed / spurious (see ConfusionMatrix). */
export function confusionMatrix(gold: readonly ScoringDocument[], predicted: readonly PredictedDocument[], options: InputOptions = {}): ConfusionMatrix {
  return confusionFromDocs(alignDocuments(gold, predicted, options));
}

/**
 * Why a span is an error under strict entity matching:
 * 'label'    — the other side has a span with the same offsets but another label;
 * 'boundary' — the other side has an overlapping span with other offsets;
 * 'missed' / 'spurious' — nothing on the other side overlaps it (false negative / false positive).
 */
export type ErrorKind = 'label' | 'boundary' | 'missed' | 'spurious';

export interface ErrorExample {
  docId: string;
  start: number;
  end: number;
  label: string;
  kind: ErrorKind;
  text: string;
  /** Up to `contextChars` code points before and after the span. */
  left: string;
  right: string;
  /** Spans of the other side (predicted for a false negative, gold for a false positive) that overlap this one. */
  overlapping: Span[];
}

export interface ErrorExamples {
  scorerVersion: string;
  contextChars: number;
  falsePositives: ErrorExample[];
  falseNegatives: ErrorExample[];
}

export interface ErrorExampleOptions extends InputOptions {
  /** Code points of context on each side (default 40). */
  contextChars?: number;
}

function example(doc: AlignedDocument, s: Span, others: readonly Span[], side: 'fp' | 'fn', context: number): ErrorExample {
  const overlapping = others.filter((o) => overlaps(o, s)).map((o) => ({ start: o.start, end: o.end, label: o.label }));
  const kind: ErrorKind = overlapping.length === 0 ? (side === 'fp' ? 'spurious' : 'missed') : overlapping.some((o) => o.start === s.start && o.end === s.end) ? 'label' : 'boundary';
  return {
    docId: doc.id,
    start: s.start,
    end: s.end,
    label: s.label,
    kind,
    text: doc.text.slice(s.start, s.end),
    left: doc.text.slice(s.start - context, s.start),
    right: doc.text.slice(s.end, s.end + context),
    overlapping,
  };
}

export function errorExamplesFromDocs(docs: readonly AlignedDocument[], contextChars = 40): ErrorExamples {
  if (!Number.isInteger(contextChars) || contextChars < 0) {
    throw new ScoringInputError(C.INVALID_OPTION, `options.contextChars must be a non-negative integer (default 40); got ${contextChars}.`, { option: 'contextChars', value: contextChars });
  }
  const falsePositives: ErrorExample[] = [];
  const falseNegatives: ErrorExample[] = [];
  for (const doc of docs) {
    const m = matchEntities(doc);
    for (const s of m.fp) falsePositives.push(example(doc, s, doc.gold, 'fp', contextChars));
    for (const s of m.fn) falseNegatives.push(example(doc, s, doc.pred, 'fn', contextChars));
  }
  return { scorerVersion: SCORER_VERSION, contextChars, falsePositives, falseNegatives };
}

/** The false positives and false negatives of strict entity matching, each with its context. */
export function errorExamples(gold: readonly ScoringDocument[], predicted: readonly PredictedDocument[], options: ErrorExampleOptions = {}): ErrorExamples {
  return errorExamplesFromDocs(alignDocuments(gold, predicted, options), options.contextChars ?? 40);
}
