/**
 * The shapes every corpus format parses into and exports from.
 *
 * Offsets are 0-based Unicode code points (not UTF-16 units), end exclusive, counted on the
 * document text exactly as the file holds it: a leading UTF-8 byte-order mark is character 0
 * and CRLF line endings are two characters.
 */
export const CORPUS_FORMATS = Object.freeze(['BRAT', 'I2B2_XML', 'CONLL', 'JSONL', 'TEXT'] as const);
export type CorpusFormat = (typeof CORPUS_FORMATS)[number];

export interface ParsedSpan {
  start: number;
  end: number;
  label: string;
  /** The document text between start and end (always taken from the document, never from the annotation file); '' for a span kept by allowInvalidSpans. */
  text: string;
  /** With keepSourceIds, BRAT only: the annotation's T id and its place among its file's T lines (0-based). */
  sourceId?: string;
  sourceOrder?: number;
}

export interface ParsedDocument {
  /** The document's name in the source: file stem, JSONL id or CoNLL doc_id. */
  id: string;
  /** The split it belongs to (the folder holding it, or JSONL's "split"), null when none. */
  split: string | null;
  text: string;
  /** Sorted by start, then end, then label. */
  spans: ParsedSpan[];
}

export interface ParsedCorpus {
  documents: ParsedDocument[];
  format: CorpusFormat;
  /** Things that were skipped without failing the import, one line each, for a person to read. */
  warnings: string[];
}

/** One file of an upload, its path relative to the upload root with '/' separators. */
export interface InputFile {
  path: string;
  bytes: Uint8Array;
}

export type OutputFile = InputFile;

export interface ParseOptions {
  /** Accept overlapping and nested spans (default false: OVERLAPPING_SPANS). */
  allowOverlaps?: boolean;
  /** Ignore unknown JSONL fields instead of failing with UNKNOWN_FIELD (default false). */
  allowUnknownFields?: boolean;
  /**
   * Keep empty, reversed and out-of-range spans (with text '') instead of failing with INVALID_SPAN or
   * SPAN_OUT_OF_RANGE, for predictions scored as the official script scores them (default false).
   */
  allowInvalidSpans?: boolean;
  /** Keep BRAT's T ids and T-line order on the spans (sourceId, sourceOrder) for a later BRAT export (default false). */
  keepSourceIds?: boolean;
}

/** A span as a parser read it, before validation against its document. */
export interface RawSpan {
  start: number;
  end: number;
  label: string;
  /** The text the annotation claims to cover, when the format carries it. */
  claimedText?: string;
  /** Where the annotation was read: annotation id (T1, P0) and 1-based line. */
  ref?: string;
  line?: number;
  /** What ParsedSpan keeps of the source (BRAT's T id and T-line order). */
  sourceId?: string;
  sourceOrder?: number;
}

export interface RawDocument {
  id: string;
  split: string | null;
  text: string;
  spans: RawSpan[];
  /** The file the document came from, for error messages. */
  file: string;
  /** The file annotations came from when it is not `file` (BRAT's .ann). */
  annotationFile?: string;
  line?: number;
}
