import { CorpusImportError, IssueCollector } from '../errors.js';
import type { InputFile, ParsedDocument, ParsedSpan, ParseOptions, RawDocument } from './types.js';
import { codePointLength } from '../../common/text.js';

// ---------------------------------------------------------------------------------------------
// Paths

/** The folder holding the file, which names its split; null for a file at the root. */
export function splitOfPath(path: string): string | null {
  const parts = path.split('/');
  return parts.length >= 2 ? parts[parts.length - 2]! : null;
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Lower-cased extension with its dot ('.ann'), '' when none. */
export function extensionOf(path: string): string {
  const base = baseName(path);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot).toLowerCase();
}

/** Path without its last extension: 'train/a.b.txt' → 'train/a.b'. */
export function withoutExtension(path: string): string {
  const ext = extensionOf(path);
  return ext === '' ? path : path.slice(0, path.length - ext.length);
}

export function stemOf(path: string): string {
  return baseName(withoutExtension(path));
}

// ---------------------------------------------------------------------------------------------
// Text

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes UTF-8 keeping a byte-order mark as character U+FEFF; null (and an issue) when invalid. */
export function decodeUtf8(file: InputFile, issues: IssueCollector): string | null {
  try {
    return utf8.decode(file.bytes);
  } catch (error) {
    // Past the longest string JavaScript can hold (archive.ts's MAX_FILE_BYTES keeps files far below it).
    if (error instanceof RangeError) throw CorpusImportError.single('TOO_LARGE', `${file.path} is too large to read as text (${file.bytes.length} bytes); split it into smaller files`);
    const at = firstInvalidUtf8Byte(file.bytes);
    let line = 1;
    for (let i = 0; i < at; i++) if (file.bytes[i] === 0x0a) line++;
    issues.add(
      'INVALID_UTF8',
      `byte ${at} is not valid UTF-8; save the file as UTF-8 (not Latin-1 or Windows-1252) and upload it again`,
      file.path,
      line,
    );
    return null;
  }
}

/** Index of the first byte that does not start or continue a well-formed UTF-8 sequence. */
export function firstInvalidUtf8Byte(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    let n: number, min: number;
    if (c < 0x80) { i++; continue; }
    else if (c >= 0xc2 && c <= 0xdf) { n = 1; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; min = 0x10000; }
    else return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return b.length;
}

/** Removes a byte-order mark at the start of a file whose content is markup, not document text. */
export function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

/** Lines without their terminator ('\n' or '\r\n'), 1-based line i at index i-1. */
export function splitLines(s: string): string[] {
  const lines = s.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.endsWith('\r')) lines[i] = l.slice(0, -1);
  }
  return lines;
}

const SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasLoneSurrogate(s: string): boolean {
  return SURROGATE.test(s) && LONE_SURROGATE.test(s);
}

/**
 * A string indexed by code point. Text without astral characters (the usual case) needs no table:
 * code point i is UTF-16 unit i.
 */
export class CodePointText {
  readonly length: number;
  /** UTF-16 index of each code point, plus the string length at the end; null when they coincide. */
  private readonly unitAt: Uint32Array | null;

  constructor(readonly text: string) {
    if (!SURROGATE.test(text)) {
      this.length = text.length;
      this.unitAt = null;
      return;
    }
    const units: number[] = [];
    for (let i = 0; i < text.length; i++) {
      units.push(i);
      const c = text.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) i++;
      }
    }
    units.push(text.length);
    this.length = units.length - 1;
    this.unitAt = Uint32Array.from(units);
  }

  /** UTF-16 index of code point `cp` (0 ≤ cp ≤ length). */
  unit(cp: number): number {
    return this.unitAt === null ? cp : this.unitAt[cp]!;
  }

  /** Code point index of UTF-16 index `unit` (which must start a code point). */
  codePoint(unit: number): number {
    if (this.unitAt === null) return unit;
    let lo = 0, hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.unitAt[mid]! < unit) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  slice(start: number, end: number): string {
    return this.text.slice(this.unit(start), this.unit(end));
  }
}

export { codePointLength };

/** Annotation files cannot hold line breaks inside a span's text, so writers put spaces there. */
export function sameSpanText(claimed: string, actual: string): boolean {
  return claimed === actual || claimed.replace(/[\r\n\t]/g, ' ') === actual.replace(/[\r\n\t]/g, ' ');
}

// ---------------------------------------------------------------------------------------------
// Validation shared by every format

export function compareSpans(a: { start: number; end: number; label: string }, b: { start: number; end: number; label: string }): number {
  return a.start - b.start || a.end - b.end || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0);
}

/**
 * Checks every raw document (text, offsets, span text, overlaps, duplicate ids within a split)
 * and turns it into a ParsedDocument. Adds one issue per problem and returns what was valid;
 * the caller throws if any issue was added.
 */
export function finishDocuments(raw: RawDocument[], options: ParseOptions, issues: IssueCollector): ParsedDocument[] {
  const seen = new Map<string, string>();
  const documents: ParsedDocument[] = [];
  for (const doc of raw) {
    const key = `${doc.split ?? ''}\u0000${doc.id}`;
    const where = doc.file;
    const previous = seen.get(key);
    if (previous !== undefined) {
      issues.add(
        'DUPLICATE_DOCUMENT_ID',
        `document id '${doc.id}'${doc.split === null ? '' : ` in split '${doc.split}'`} is also used by ${previous}; ids must be unique within a split`,
        where,
        doc.line,
      );
    } else {
      seen.set(key, doc.line === undefined ? where : `${where}:${doc.line}`);
    }
    if (doc.text.trim() === '') {
      issues.add('EMPTY_DOCUMENT', `document '${doc.id}' has no text; remove it or add its text`, where, doc.line);
      continue;
    }
    if (hasLoneSurrogate(doc.text)) {
      issues.add('INVALID_UTF8', `document '${doc.id}' contains an unpaired UTF-16 surrogate (a \\ud800-style escape) that UTF-8 cannot hold`, where, doc.line);
      continue;
    }
    const text = new CodePointText(doc.text);
    const annFile = doc.annotationFile ?? doc.file;
    const spans: (ParsedSpan & { ref: string; line: number | undefined })[] = [];
    for (const s of doc.spans) {
      const ref = `${s.ref ?? 'span'} (${s.label}, ${s.start}-${s.end})`;
      if (!Number.isSafeInteger(s.start) || !Number.isSafeInteger(s.end)) {
        issues.add('INVALID_SPAN', `${ref}: start and end must be whole numbers`, annFile, s.line);
        continue;
      }
      if (s.label.trim() === '' || /\s/.test(s.label)) {
        issues.add('INVALID_SPAN', `${s.ref ?? 'span'} at ${s.start}-${s.end}: the label must be a non-empty word without spaces`, annFile, s.line);
        continue;
      }
      if ((s.start >= s.end || s.start < 0 || s.end > text.length) && options.allowInvalidSpans) {
        spans.push({ start: s.start, end: s.end, label: s.label, text: '', ref, line: s.line });
        continue;
      }
      if (s.start >= s.end) {
        issues.add('INVALID_SPAN', `${ref}: start must be less than end (offsets are end-exclusive)`, annFile, s.line);
        continue;
      }
      if (s.start < 0 || s.end > text.length) {
        issues.add(
          'SPAN_OUT_OF_RANGE',
          `${ref} lies outside document '${doc.id}', which has ${text.length} characters; offsets count Unicode code points of the text as stored (a UTF-8 byte-order mark is character 0, CRLF is 2 characters)`,
          annFile,
          s.line,
        );
        continue;
      }
      const slice = text.slice(s.start, s.end);
      if (s.claimedText !== undefined && !sameSpanText(s.claimedText, slice)) {
        issues.add(
          'SPAN_TEXT_MISMATCH',
          `${ref}: the annotation's text (${codePointLength(s.claimedText)} characters) differs from document '${doc.id}' at those offsets; offsets may be shifted (they count code points, a byte-order mark is character 0, CRLF is 2 characters) or the text file was edited after annotation`,
          annFile,
          s.line,
        );
        continue;
      }
      spans.push({ start: s.start, end: s.end, label: s.label, text: slice, ref, line: s.line, sourceId: s.sourceId, sourceOrder: s.sourceOrder });
    }
    spans.sort(compareSpans);
    if (!options.allowOverlaps) {
      let last: (typeof spans)[number] | undefined;
      for (const s of spans) {
        if (last !== undefined && s.start < last.end) {
          issues.add(
            'OVERLAPPING_SPANS',
            `${s.ref} overlaps ${last.ref} in document '${doc.id}'; remove one of them, or import with allowOverlaps to keep nested and overlapping spans`,
            annFile,
            s.line,
          );
        }
        if (last === undefined || s.end > last.end) last = s;
      }
    }
    documents.push({
      id: doc.id,
      split: doc.split,
      text: doc.text,
      spans: spans.map(({ start, end, label, text, sourceId, sourceOrder }) => ({ start, end, label, text, ...(options.keepSourceIds && sourceId !== undefined && { sourceId, sourceOrder }) })),
    });
  }
  if (documents.length === 0 && issues.count === 0) {
    issues.add('EMPTY_CORPUS', 'the upload holds no documents; check that it contains files of the chosen format');
  }
  return documents;
}

// ---------------------------------------------------------------------------------------------
// Export

export const utf8Encoder = new TextEncoder();

/**
 * `<split>/<id>` (or `<id>` without a split), to which the caller appends an extension. Ids and splits become file names, so each
 * must be one safe path segment that a re-import does not skip (no '/', '\', '..', leading dot).
 */
export function exportPath(split: string | null, name: string, issues: IssueCollector): string {
  for (const [what, value] of [['split', split], ['document id', name]] as const) {
    if (value === null) continue;
    if (value === '' || /[/\\\u0000\r\n]/.test(value) || value.startsWith('.')) {
      issues.add('PATH_ESCAPE', `${what} '${value}' cannot be a file name (empty, contains '/', '\\', a line break or NUL, or starts with '.'); rename it before exporting`);
    }
  }
  return split === null ? name : `${split}/${name}`;
}
