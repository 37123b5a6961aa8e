/**
 * Code point indexing. Offsets everywhere in this library count Unicode code points (as Python's str
 * does, and as the BRAT files of MEDDOCAN do); JavaScript strings index UTF-16 units. The two agree
 * unless the text holds a character outside the BMP, so the unit map is built only for such texts.
 */
export class CodePointText {
  readonly text: string;
  /** Length in code points. */
  readonly length: number;
  // units[i] = UTF-16 offset of code point i (length + 1 entries); null when the two coincide.
  private readonly units: Int32Array | null;

  constructor(text: string) {
    this.text = text;
    if (!/[\uD800-\uDFFF]/.test(text)) {
      this.units = null;
      this.length = text.length;
      return;
    }
    const units: number[] = [];
    for (let u = 0; u < text.length; ) {
      units.push(u);
      u += (text.codePointAt(u) ?? 0) > 0xffff ? 2 : 1;
    }
    units.push(text.length);
    this.units = Int32Array.from(units);
    this.length = units.length - 1;
  }

  /** UTF-16 offset of code point `cp` (0..length). */
  unit(cp: number): number {
    return this.units === null ? cp : this.units[cp]!;
  }

  /** Code point index of UTF-16 offset `u`, which must fall on a code point boundary. */
  codePointIndex(u: number): number {
    if (this.units === null) return u;
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.units[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Python-style slice by code points: clamped, and '' when start >= end. */
  slice(start: number, end: number): string {
    const s = Math.max(0, Math.min(start, this.length));
    const e = Math.max(0, Math.min(end, this.length));
    return s >= e ? '' : this.text.slice(this.unit(s), this.unit(e));
  }
}

/** Python's `str.isalnum()` for one character: Unicode letter (L*) or number (N*). */
export const PY_ALNUM = /[\p{L}\p{N}]/u;

/** `all(not c.isalnum() for c in s)` — true for the empty string, as in the official script. */
export function isAllNonAlphanumeric(s: string): boolean {
  return !PY_ALNUM.test(s);
}

/** Word characters for tokens and n-grams: letters, combining marks (keep decomposed accents inside a word) and numbers. */
export const WORD_CHAR = /[\p{L}\p{M}\p{N}]/u;

/** One token: a maximal run of word characters, or any other single non-whitespace code point. */
const TOKEN_RE = /[\p{L}\p{M}\p{N}]+|[^\s\p{L}\p{M}\p{N}]/gu;

/** Word runs only (punctuation dropped): the unit of the privacy n-grams. */
export const WORD_RE = /[\p{L}\p{M}\p{N}]+/gu;

export interface TokenOffsets {
  /** Code point offsets, end exclusive. */
  starts: Int32Array;
  ends: Int32Array;
}

/**
 * The token-level metric's tokenization (docs/scoring.md, "Tokens"): maximal runs of letters, marks
 * and digits are tokens; every other code point that is not whitespace (JavaScript `\s`, which
 * includes NBSP and the BOM U+FEFF) is a token of its own.
 */
export function tokenize(text: string | CodePointText): TokenOffsets {
  const cpt = typeof text === 'string' ? new CodePointText(text) : text;
  const starts: number[] = [];
  const ends: number[] = [];
  for (const m of cpt.text.matchAll(TOKEN_RE)) {
    const u = m.index;
    starts.push(cpt.codePointIndex(u));
    ends.push(cpt.codePointIndex(u + m[0].length));
  }
  return { starts: Int32Array.from(starts), ends: Int32Array.from(ends) };
}

/** Character (code point) just before UTF-16 offset `u`, or '' at the start. */
export function charBefore(text: string, u: number): string {
  if (u <= 0) return '';
  const low = text.charCodeAt(u - 1);
  if (low >= 0xdc00 && low <= 0xdfff && u >= 2) return text.slice(u - 2, u);
  return text.slice(u - 1, u);
}

/** Character (code point) starting at UTF-16 offset `u`, or '' at the end. */
export function charAt(text: string, u: number): string {
  if (u >= text.length) return '';
  const cp = text.codePointAt(u) ?? 0;
  return String.fromCodePoint(cp);
}
