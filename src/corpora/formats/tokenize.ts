import { CodePointText } from './common.js';

/**
 * The project's word tokenization, used by CoNLL export and by corpus statistics:
 * a token is a maximal run of letters, digits and combining marks (\p{L}\p{N}\p{M}), or any
 * other single non-whitespace character. Whitespace (JavaScript's \s, which includes the
 * byte-order mark U+FEFF) separates tokens and is never part of one.
 *   "Dr. García-López, 53 años" → Dr | . | García | - | López | , | 53 | años
 */
const TOKEN = /[\p{L}\p{N}\p{M}]+|\S/gu;

export interface Token {
  /** Code point offsets, end exclusive. */
  start: number;
  end: number;
  text: string;
}

export function wordTokens(text: string, cps: CodePointText = new CodePointText(text)): Token[] {
  const tokens: Token[] = [];
  for (const m of text.matchAll(TOKEN)) {
    const unit = m.index!;
    const start = cps.codePoint(unit);
    tokens.push({ start, end: cps.codePoint(unit + m[0].length), text: m[0] });
  }
  return tokens;
}

export function countWordTokens(text: string): number {
  let n = 0;
  TOKEN.lastIndex = 0;
  while (TOKEN.exec(text) !== null) n++;
  return n;
}
