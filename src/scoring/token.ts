import { type CountColumns, addLabelled, emptyColumns, microPrf } from './counts.js';
import { perLabelFrom } from './entity.js';
import { type AlignedDocument, type InputOptions, alignDocuments } from './input.js';
import { type TokenOffsets, tokenize } from './text.js';
import { OUTSIDE, type PredictedDocument, type Prf, type ScoringDocument, type Span } from './types.js';
import { SCORER_VERSION } from './version.js';

function lowerBound(a: Int32Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The label of every token: that of the span sharing the most code points with the token, or O when
 * no span touches it. So a span boundary that cuts a token still labels the whole token when the span
 * covers most of it — or covers any of it, with no rival span; ties go to the span first in
 * (start, end, label) order. `spans` must be sorted that way (alignDocuments sorts them). An empty or
 * reversed span labels no token; one reaching outside the text labels the tokens it covers.
 */
export function tokenLabels(tokens: TokenOffsets, spans: readonly Span[]): string[] {
  const n = tokens.starts.length;
  const labels = new Array<string>(n).fill(OUTSIDE);
  const best = new Int32Array(n);
  for (const s of spans) {
    // first token whose end is after s.start; token ends are increasing
    for (let t = lowerBound(tokens.ends, s.start + 1); t < n && tokens.starts[t]! < s.end; t++) {
      const overlap = Math.min(tokens.ends[t]!, s.end) - Math.max(tokens.starts[t]!, s.start);
      if (overlap > best[t]!) {
        best[t] = overlap;
        labels[t] = s.label;
      }
    }
  }
  return labels;
}

/**
 * Per-document token counts. Typed ('token', 'token/<LABEL>'): per token with gold label g and
 * predicted label p, g = p ≠ O is a tp of g; p ≠ O, p ≠ g is a fp of p; g ≠ O, g ≠ p is a fn of g
 * (a wrong label is both). Binary ('token_binary'): the same with every non-O label read as PHI.
 */
export function tokenColumns(docs: readonly AlignedDocument[]): { columns: Record<string, CountColumns>; tokens: number } {
  const n = docs.length;
  const columns: Record<string, CountColumns> = { token: emptyColumns(n), token_binary: emptyColumns(n) };
  let tokens = 0;
  docs.forEach((doc, i) => {
    const offsets = tokenize(doc.text);
    tokens += offsets.starts.length;
    const g = tokenLabels(offsets, doc.gold);
    const p = tokenLabels(offsets, doc.pred);
    const typed = columns.token!;
    const binary = columns.token_binary!;
    for (let t = 0; t < g.length; t++) {
      const gl = g[t]!;
      const pl = p[t]!;
      if (gl !== OUTSIDE && pl !== OUTSIDE) binary.tp[i]!++;
      else if (pl !== OUTSIDE) binary.fp[i]!++;
      else if (gl !== OUTSIDE) binary.fn[i]!++;
      if (gl === pl) {
        if (gl !== OUTSIDE) {
          typed.tp[i]!++;
          addLabelled(columns, 'token', i, n, gl, 'tp');
        }
        continue;
      }
      if (pl !== OUTSIDE) {
        typed.fp[i]!++;
        addLabelled(columns, 'token', i, n, pl, 'fp');
      }
      if (gl !== OUTSIDE) {
        typed.fn[i]!++;
        addLabelled(columns, 'token', i, n, gl, 'fn');
      }
    }
  });
  return { columns, tokens };
}

export interface TokenScore {
  scorerVersion: string;
  documents: number;
  tokens: number;
  /** Micro-averaged over the non-O labels (the paper's token-level F1). */
  micro: Prf;
  perLabel: Record<string, Prf>;
  /** Label-agnostic: PHI vs not. */
  binary: Prf;
}

/** Token-level scoring as in Vakili et al. (2025), on this library's own tokenization (docs/scoring.md). */
export function scoreTokens(gold: readonly ScoringDocument[], predicted: readonly PredictedDocument[], options: InputOptions = {}): TokenScore {
  const docs = alignDocuments(gold, predicted, options);
  const { columns, tokens } = tokenColumns(docs);
  return {
    scorerVersion: SCORER_VERSION,
    documents: docs.length,
    tokens,
    micro: microPrf(columns.token!),
    perLabel: perLabelFrom(columns, 'token'),
    binary: microPrf(columns.token_binary!),
  };
}
