/** Every way the scorer refuses its input. The string values are stable: callers may switch on them. */
export const ScoringErrorCode = Object.freeze({
  EMPTY_GOLD: 'EMPTY_GOLD',
  DUPLICATE_DOCUMENT: 'DUPLICATE_DOCUMENT',
  UNKNOWN_DOCUMENT: 'UNKNOWN_DOCUMENT',
  MISSING_PREDICTION: 'MISSING_PREDICTION',
  TEXT_MISMATCH: 'TEXT_MISMATCH',
  INVALID_SPAN: 'INVALID_SPAN',
  OFFSET_OUT_OF_RANGE: 'OFFSET_OUT_OF_RANGE',
  UNKNOWN_LABEL: 'UNKNOWN_LABEL',
  RESERVED_LABEL: 'RESERVED_LABEL',
  MISSING_SENTENCE_COUNT: 'MISSING_SENTENCE_COUNT',
  INVALID_OPTION: 'INVALID_OPTION',
} as const);
export type ScoringErrorCode = (typeof ScoringErrorCode)[keyof typeof ScoringErrorCode];

/**
 * Thrown for input the scorer cannot score meaningfully. `code` is machine-readable, `message` names
 * the document / span / option at fault and how to fix it, `details` carries the offending values.
 */
export class ScoringInputError extends Error {
  override readonly name = 'ScoringInputError';
  constructor(
    readonly code: ScoringErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
