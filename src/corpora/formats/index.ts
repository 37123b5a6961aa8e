/**
 * Public entry for corpus parsing and export. Everything here is a pure function of its input:
 * the caller reads uploads (see ../archive.ts) and stores the result.
 */
import { CorpusImportError } from '../errors.js';
import { detectBrat, exportBrat, parseBrat } from './brat.js';
import { exportConll, detectConll, parseConll, type TagScheme } from './conll.js';
import { extensionOf } from './common.js';
import { detectI2b2Xml, exportI2b2Xml, parseI2b2Xml } from './i2b2-xml.js';
import { detectJsonl, exportJsonl, parseJsonl } from './jsonl.js';
import { exportPlainText, parsePlainText } from './plain-text.js';
import { CORPUS_FORMATS, type CorpusFormat, type InputFile, type OutputFile, type ParsedCorpus, type ParsedDocument, type ParseOptions } from './types.js';

export * from './types.js';
export type { TagScheme } from './conll.js';
export { wordTokens, countWordTokens, type Token } from './tokenize.js';

interface FormatCodec {
  /** Whether an upload looks like this format; null for formats that are only chosen explicitly. */
  detect: ((files: InputFile[]) => boolean) | null;
  parse(files: InputFile[], options: ParseOptions): ParsedCorpus;
  export(docs: ParsedDocument[], options: ExportOptions): OutputFile[];
}

/** Detection tries formats in this order; the first that matches wins. */
const CODECS: Record<CorpusFormat, FormatCodec> = {
  BRAT: { detect: detectBrat, parse: parseBrat, export: exportBrat },
  I2B2_XML: { detect: detectI2b2Xml, parse: parseI2b2Xml, export: exportI2b2Xml },
  JSONL: { detect: detectJsonl, parse: parseJsonl, export: exportJsonl },
  CONLL: { detect: detectConll, parse: parseConll, export: (docs, o) => exportConll(docs, o.scheme) },
  TEXT: { detect: null, parse: parsePlainText, export: exportPlainText },
};

export interface CorpusImportOptions extends ParseOptions {
  /** The upload's format; detected from file extensions when left out. */
  format?: CorpusFormat;
}

export interface ExportOptions {
  /** CoNLL tag scheme (default BIO). */
  scheme?: TagScheme;
}

/**
 * The format an upload is in, judged by file extensions: `.ann` → BRAT, `.xml` → I2B2_XML,
 * `.jsonl`/`.ndjson` → JSONL, `.conll`/`.bio`/`.iob`/… → CONLL, only `.txt` → BRAT (so a
 * missing .ann is reported as such). null when nothing matches or several formats do.
 */
export function detectFormat(files: InputFile[]): CorpusFormat | null {
  const matches = CORPUS_FORMATS.filter((f) => CODECS[f].detect?.(files));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0 && files.some((f) => extensionOf(f.path) === '.txt')) return 'BRAT';
  return null;
}

/** Parses and validates a whole upload; throws CorpusImportError listing every problem. */
export function parseCorpus(files: InputFile[], options: CorpusImportOptions = {}): ParsedCorpus {
  // Nothing to import says so, whatever the format (an empty archive, say).
  if (files.length === 0) throw CorpusImportError.single('EMPTY_CORPUS', 'the upload holds no files; check that the archive is not empty');
  const format = options.format ?? detectFormat(files);
  if (format === null || !(CORPUS_FORMATS as readonly string[]).includes(format)) {
    const exts = [...new Set(files.map((f) => extensionOf(f.path) || '(none)'))].sort().slice(0, 10).join(', ');
    throw CorpusImportError.single(
      'UNSUPPORTED_FORMAT',
      format === null
        ? `cannot tell the corpus format from the file extensions found (${exts || 'no files'}); upload one format at a time, or name it: ${CORPUS_FORMATS.join(', ')}`
        : `unknown format '${String(format)}'; use one of ${CORPUS_FORMATS.join(', ')}`,
    );
  }
  return CODECS[format].parse(files, {
    allowOverlaps: options.allowOverlaps ?? false,
    allowUnknownFields: options.allowUnknownFields ?? false,
    keepSourceIds: options.keepSourceIds ?? false,
    allowInvalidSpans: options.allowInvalidSpans ?? false,
  });
}

/** Writes documents in a format; re-importing BRAT or JSONL output gives back the same documents. */
export function exportCorpus(docs: ParsedDocument[], format: CorpusFormat, options: ExportOptions = {}): OutputFile[] {
  const codec = CODECS[format];
  if (codec === undefined) throw CorpusImportError.single('UNSUPPORTED_FORMAT', `unknown format '${String(format)}'; use one of ${CORPUS_FORMATS.join(', ')}`);
  return codec.export(docs, options);
}

export { zipFiles } from '../archive.js';
