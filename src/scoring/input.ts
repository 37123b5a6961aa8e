import { ScoringErrorCode as C, ScoringInputError } from './errors.js';
import { CodePointText } from './text.js';
import { OUTSIDE, type PredictedDocument, type ScoringDocument, type Span } from './types.js';

export interface InputOptions {
  /**
   * Labels a prediction may carry. Default: the labels that occur in the gold documents.
   * Pass e.g. MEDDOCAN_LABELS to allow guideline types that the gold split happens not to contain.
   */
  labels?: readonly string[];
  /**
   * A predicted label outside `labels`: 'error' (default) throws UNKNOWN_LABEL; 'false-positive'
   * scores the span like any other wrong prediction (what the official script does).
   */
  unknownLabel?: 'error' | 'false-positive';
  /**
   * A gold document with no predicted document: 'error' (default) throws MISSING_PREDICTION;
   * 'empty' scores it as predicting nothing; 'skip' leaves it out of every count, which is what the
   * official script does (it scores only documents present on both sides).
   */
  missingDocument?: 'error' | 'empty' | 'skip';
  /** A predicted document whose id is not in gold: 'error' (default) or 'ignore' (the official script ignores it). */
  unknownDocument?: 'error' | 'ignore';
  /**
   * A predicted span that is empty (start = end), reversed or outside its text: 'error' (default)
   * throws INVALID_SPAN / OFFSET_OUT_OF_RANGE; 'score' keeps it as an ordinary predicted span, which
   * is what the official script does (it matches only an identical gold span). Gold spans must be valid.
   */
  invalidSpans?: 'error' | 'score';
}

/** One document with both sides validated; spans deduplicated as the official script's sets do. */
export interface AlignedDocument {
  id: string;
  text: CodePointText;
  gold: Span[];
  pred: Span[];
}

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function compareSpans(a: Span, b: Span): number {
  return a.start - b.start || a.end - b.end || compareStrings(a.label, b.label);
}

export const spanKey = (s: Span): string => `${s.start}\u0000${s.end}\u0000${s.label}`;

function checkOption<T extends string>(name: string, value: T | undefined, allowed: readonly T[]): void {
  if (value !== undefined && !allowed.includes(value)) {
    throw new ScoringInputError(C.INVALID_OPTION, `options.${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}; got ${JSON.stringify(value)}.`, { option: name, value });
  }
}

function validateSpans(spans: unknown, side: 'gold' | 'predicted', docId: string, text: CodePointText, keepInvalid = false): Span[] {
  if (!Array.isArray(spans)) {
    throw new ScoringInputError(C.INVALID_SPAN, `${side} document "${docId}": spans must be an array of {start, end, label}.`, { docId, side });
  }
  const seen = new Set<string>();
  const out: Span[] = [];
  spans.forEach((raw: unknown, i: number) => {
    const s = raw as Partial<Span> | null;
    const where = `${side} document "${docId}", span #${i}`;
    if (s === null || typeof s !== 'object' || !Number.isInteger(s.start) || !Number.isInteger(s.end) || typeof s.label !== 'string' || s.label === '') {
      // Never echo the span: it may carry its text (PHI).
      throw new ScoringInputError(C.INVALID_SPAN, `${where}: expected {start: integer, end: integer, label: non-empty string}.`, { docId, side, index: i });
    }
    const span: Span = { start: s.start!, end: s.end!, label: s.label };
    const scoreAnyway = side === 'predicted' ? `, or pass invalidSpans: 'score' to score it as the official script does` : '';
    if (!keepInvalid && (span.start < 0 || span.end > text.length)) {
      throw new ScoringInputError(
        C.OFFSET_OUT_OF_RANGE,
        `${where} [${span.start}, ${span.end}) ${span.label} lies outside the text (${text.length} code points). Offsets are 0-based Unicode code points, end exclusive, counted on the exact document text (a UTF-8 BOM is character 0; do not strip it)${scoreAnyway}.`,
        { docId, side, index: i, span, textLength: text.length },
      );
    }
    if (!keepInvalid && span.start >= span.end) {
      throw new ScoringInputError(C.INVALID_SPAN, `${where} [${span.start}, ${span.end}) ${span.label} is empty or reversed; a span needs start < end${scoreAnyway}.`, { docId, side, index: i, span });
    }
    if (span.label === OUTSIDE) {
      throw new ScoringInputError(C.RESERVED_LABEL, `${where} uses the label '${OUTSIDE}', which means "no PHI" in token scoring; drop the span instead.`, { docId, side, index: i, span });
    }
    const key = spanKey(span);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(span);
    }
  });
  return out.sort(compareSpans);
}

/**
 * Validates gold and predictions and pairs them by document id, sorted by id (the official script
 * iterates `sorted(doc_ids)`; order matters only for the bootstrap's reproducibility).
 */
export function alignDocuments(gold: readonly ScoringDocument[], predicted: readonly PredictedDocument[], options: InputOptions = {}): AlignedDocument[] {
  checkOption('unknownLabel', options.unknownLabel, ['error', 'false-positive']);
  checkOption('missingDocument', options.missingDocument, ['error', 'empty', 'skip']);
  checkOption('unknownDocument', options.unknownDocument, ['error', 'ignore']);
  checkOption('invalidSpans', options.invalidSpans, ['error', 'score']);
  if (gold.length === 0) {
    throw new ScoringInputError(C.EMPTY_GOLD, 'No gold documents were given; scores over zero documents are undefined. Check the split name and that the corpus was imported.');
  }
  const goldById = new Map<string, { text: CodePointText; spans: Span[] }>();
  for (const doc of gold) {
    if (goldById.has(doc.id)) {
      throw new ScoringInputError(C.DUPLICATE_DOCUMENT, `Gold document id "${doc.id}" occurs twice; ids must be unique within a split.`, { docId: doc.id, side: 'gold' });
    }
    const text = new CodePointText(doc.text);
    goldById.set(doc.id, { text, spans: validateSpans(doc.spans, 'gold', doc.id, text) });
  }
  const labels = new Set(options.labels ?? [...goldById.values()].flatMap((d) => d.spans.map((s) => s.label)));

  const predById = new Map<string, Span[]>();
  for (const doc of predicted) {
    const g = goldById.get(doc.id);
    if (g === undefined) {
      if (options.unknownDocument === 'ignore') continue;
      throw new ScoringInputError(
        C.UNKNOWN_DOCUMENT,
        `Predicted document "${doc.id}" is not in the gold split (${goldById.size} documents). Score predictions against the split they were made on, or pass unknownDocument: 'ignore'.`,
        { docId: doc.id },
      );
    }
    if (predById.has(doc.id)) {
      throw new ScoringInputError(C.DUPLICATE_DOCUMENT, `Predicted document id "${doc.id}" occurs twice; merge its spans into one document.`, { docId: doc.id, side: 'predicted' });
    }
    if (doc.text !== undefined && doc.text !== g.text.text) {
      throw new ScoringInputError(
        C.TEXT_MISMATCH,
        `Predicted document "${doc.id}" carries a text that differs from the gold text (${new CodePointText(doc.text).length} vs ${g.text.length} code points), so its offsets cannot be compared. Predict on the gold text as stored (BOM and line endings included) or omit text.`,
        { docId: doc.id },
      );
    }
    const spans = validateSpans(doc.spans, 'predicted', doc.id, g.text, options.invalidSpans === 'score');
    for (const s of spans) {
      if (!labels.has(s.label) && options.unknownLabel !== 'false-positive') {
        const known = [...labels].sort();
        throw new ScoringInputError(
          C.UNKNOWN_LABEL,
          `Predicted document "${doc.id}" has a span labelled "${s.label}", which is not a known label (${known.length}: ${known.slice(0, 8).join(', ')}${known.length > 8 ? ', …' : ''}). Strip BIO prefixes, pass options.labels to declare the label set, or unknownLabel: 'false-positive' to count it as a false positive.`,
          { docId: doc.id, label: s.label, knownLabels: known },
        );
      }
    }
    predById.set(doc.id, spans);
  }

  const out: AlignedDocument[] = [];
  const missing: string[] = [];
  for (const [id, g] of goldById) {
    const pred = predById.get(id);
    if (pred === undefined) {
      if (options.missingDocument === 'skip') continue;
      if (options.missingDocument !== 'empty') {
        missing.push(id);
        continue;
      }
    }
    out.push({ id, text: g.text, gold: g.spans, pred: pred ?? [] });
  }
  if (missing.length > 0) {
    throw new ScoringInputError(
      C.MISSING_PREDICTION,
      `${missing.length} gold document(s) have no predicted document, e.g. "${missing[0]}". Send a document with spans: [] for a document where nothing was found, or pass missingDocument: 'empty' (score as no predictions) or 'skip' (leave out, as the official script does).`,
      { missing: missing.slice(0, 20), count: missing.length },
    );
  }
  if (out.length === 0) {
    throw new ScoringInputError(C.EMPTY_GOLD, 'No document is left to score: every gold document was skipped for lack of a prediction.');
  }
  return out.sort((a, b) => compareStrings(a.id, b.id));
}
