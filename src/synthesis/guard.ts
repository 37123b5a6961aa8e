/** The privacy guard's rule: which synthetic notes copy too much of the generator's training text. */
import { badInput } from '../common/errors.js';
import type { SyntheticDocumentPrivacy } from '../scoring/index.js';

export type GuardReason = 'NGRAM_OVERLAP' | 'COPIED_PASSAGE' | 'PHI_STRINGS';

export interface GuardThresholds {
  n: number;
  /** Largest share of a note's n-grams that may occur in the training text. */
  maxNgramOverlap: number;
  /** Longest passage, in words, a note may copy from one training document. */
  maxCopiedWords: number;
  /** Verbatim occurrences of real PHI strings a note may hold … */
  maxPhiStrings: number;
  /** … counting real PHI strings of at least this many code points. */
  phiMinLength: number;
}

/** Throws BAD_USER_INPUT naming the field (`prefix` as the caller's input nests it). */
export function checkGuardThresholds(guard: GuardThresholds, prefix = ''): void {
  if (!Number.isInteger(guard.n) || guard.n < 1) throw badInput(`${prefix}n`, `must be a positive integer; got ${guard.n}.`);
  if (!(guard.maxNgramOverlap >= 0 && guard.maxNgramOverlap <= 1)) throw badInput(`${prefix}maxNgramOverlap`, `must be in [0, 1]; got ${guard.maxNgramOverlap}.`);
  if (!Number.isInteger(guard.phiMinLength) || guard.phiMinLength < 1) throw badInput(`${prefix}phiMinLength`, `must be a positive integer; got ${guard.phiMinLength}.`);
  for (const key of ['maxCopiedWords', 'maxPhiStrings'] as const) {
    if (!Number.isInteger(guard[key]) || guard[key] < 0) throw badInput(`${prefix}${key}`, `must be a non-negative integer; got ${guard[key]}.`);
  }
}

/** The notes (by index) over any threshold, with their numbers and every reason. */
export function flagNotes(perDocument: readonly SyntheticDocumentPrivacy[], t: GuardThresholds) {
  return perDocument.flatMap((d, index) => {
    const reasons: GuardReason[] = [
      ...(d.overlap > t.maxNgramOverlap ? (['NGRAM_OVERLAP'] as const) : []),
      ...(d.longestCopiedWords > t.maxCopiedWords ? (['COPIED_PASSAGE'] as const) : []),
      ...(d.phiOccurrences > t.maxPhiStrings ? (['PHI_STRINGS'] as const) : []),
    ];
    return reasons.length ? [{ index, reasons, ngramOverlap: d.overlap, copiedWords: d.longestCopiedWords, phiStrings: d.phiOccurrences }] : [];
  });
}
