import { IssueCollector } from '../errors.js';
import {
  decodeUtf8, exportPath, extensionOf, finishDocuments, splitLines, splitOfPath, stemOf, stripBom, utf8Encoder, withoutExtension,
} from './common.js';
import type { InputFile, OutputFile, ParsedCorpus, ParsedDocument, ParsedSpan, ParseOptions, RawDocument, RawSpan } from './types.js';

/**
 * BRAT standoff: `<name>.txt` holds the text, `<name>.ann` its annotations, side by side.
 * The folder holding a pair is its split (`train/x.txt` → split 'train'), the file stem its id.
 * Only text-bound `T` lines become spans; `#`, `R`, `A`, `E`, `N`, `M` and `*` lines are counted
 * in a warning and skipped. Discontinuous spans (`T1\tX 0 5;7 9`) are rejected.
 */
export function detectBrat(files: InputFile[]): boolean {
  return files.some((f) => extensionOf(f.path) === '.ann');
}

const IGNORED_LINE_STARTS = '#RAENM*';

/**
 * The second field of a T line: `LABEL START END`, fragments joined by ';'. Runs of whitespace
 * separate the fields, as in the official MEDDOCAN script (`str.split()`), so `X  19 25` is [19, 25).
 * Signed and fractional offsets are read here so that finishDocuments gives them a precise code.
 */
const NUM = String.raw`-?\d+(?:\.\d+)?`;
const BODY = new RegExp(String.raw`^\s*(\S+)\s+(${NUM}\s+${NUM}(?:;${NUM}\s+${NUM})*)\s*$`);

export function parseBrat(files: InputFile[], options: ParseOptions = {}): ParsedCorpus {
  const issues = new IssueCollector();
  const texts = new Map<string, InputFile>();
  const anns = new Map<string, InputFile>();
  const ignoredFiles: string[] = [];
  for (const f of files) {
    const ext = extensionOf(f.path);
    if (ext === '.txt') texts.set(withoutExtension(f.path), f);
    else if (ext === '.ann') anns.set(withoutExtension(f.path), f);
    else ignoredFiles.push(f.path);
  }
  for (const [key, ann] of anns) {
    if (!texts.has(key)) issues.add('MISSING_TXT', `${ann.path} has no ${key}.txt beside it; add the text file or remove the annotations`, ann.path);
  }
  const raw: RawDocument[] = [];
  let ignoredLines = 0;
  for (const key of [...texts.keys()].sort()) {
    const txt = texts.get(key)!;
    const ann = anns.get(key);
    if (ann === undefined) {
      issues.add(
        'MISSING_ANN',
        `${txt.path} has no ${key}.ann beside it; add an empty .ann for a document without annotations, or import unannotated text with format TEXT`,
        txt.path,
      );
      continue;
    }
    const text = decodeUtf8(txt, issues);
    const annText = decodeUtf8(ann, issues);
    if (text === null || annText === null) continue;
    const parsed = parseAnn(ann.path, stripBom(annText), issues);
    ignoredLines += parsed.ignored;
    raw.push({ id: stemOf(txt.path), split: splitOfPath(txt.path), text, spans: parsed.spans, file: txt.path, annotationFile: ann.path });
  }
  const documents = finishDocuments(raw, options, issues);
  issues.throwIfAny();
  const warnings: string[] = [];
  if (ignoredLines > 0) {
    warnings.push(`Skipped ${ignoredLines} annotation lines that are not text-bound entities (#, R, A, E, N, M, * lines); only T lines are imported.`);
  }
  if (ignoredFiles.length > 0) {
    warnings.push(`Skipped ${ignoredFiles.length} files that are neither .txt nor .ann (e.g. ${ignoredFiles.slice(0, 3).join(', ')}).`);
  }
  return { documents, format: 'BRAT', warnings };
}

function parseAnn(path: string, content: string, issues: IssueCollector): { spans: RawSpan[]; ignored: number } {
  const spans: RawSpan[] = [];
  const ids = new Set<string>();
  let ignored = 0;
  const lines = splitLines(content);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const lineNo = i + 1;
    if (line.trim() === '') continue;
    if (line[0] !== 'T') {
      if (IGNORED_LINE_STARTS.includes(line[0]!)) ignored++;
      else issues.add('MALFORMED_ANN', `line does not start with a BRAT annotation id (T1, R1, A1, E1, N1, #1)`, path, lineNo);
      continue;
    }
    const fields = line.split('\t');
    const id = fields[0]!;
    const body = fields[1];
    const m = body === undefined ? null : BODY.exec(body);
    if (m === null) {
      issues.add('MALFORMED_ANN', `${id}: expected 'T<n><TAB><LABEL> <start> <end><TAB><text>'`, path, lineNo);
      continue;
    }
    if (ids.has(id)) {
      issues.add('MALFORMED_ANN', `${id} is used twice in this file; give each annotation its own id`, path, lineNo);
      continue;
    }
    ids.add(id);
    const label = m[1]!;
    const offsets = m[2]!;
    if (offsets.includes(';')) {
      issues.add(
        'DISCONTINUOUS_SPAN',
        `${id} (${label}) is discontinuous (fragments ${offsets}); only continuous spans are supported, split it into one annotation per fragment`,
        path,
        lineNo,
      );
      continue;
    }
    const [start, end] = offsets.split(/\s+/).map(Number) as [number, number];
    spans.push({
      start, end, label, ref: id, line: lineNo, sourceId: id, sourceOrder: spans.length,
      ...(fields.length >= 3 && { claimedText: fields.slice(2).join('\t') }),
    });
  }
  return { spans, ignored };
}

/**
 * `<split>/<id>.txt` with the text's exact bytes (byte-order mark and CRLF included) and
 * `<split>/<id>.ann` with one `T` line per span. Spans read from BRAT keep their id and come first,
 * in the order of their file; the others follow in span order, numbered after the highest `T<n>`.
 * Line breaks and tabs inside a span's text are written as spaces so every annotation stays on one line.
 */
export function exportBrat(docs: ParsedDocument[]): OutputFile[] {
  const issues = new IssueCollector();
  const out: OutputFile[] = [];
  for (const doc of docs) {
    const base = exportPath(doc.split, doc.id, issues);
    const lines = annLines(doc.spans).map(({ id, span }) => `${id}\t${span.label} ${span.start} ${span.end}\t${span.text.replace(/[\r\n\t]/g, ' ')}\n`);
    out.push({ path: `${base}.txt`, bytes: utf8Encoder.encode(doc.text) }, { path: `${base}.ann`, bytes: utf8Encoder.encode(lines.join('')) });
  }
  issues.throwIfAny();
  return out;
}

function annLines(spans: ParsedSpan[]): { id: string; span: ParsedSpan }[] {
  const kept = spans.filter((s) => s.sourceId !== undefined).sort((a, b) => (a.sourceOrder ?? 0) - (b.sourceOrder ?? 0));
  let next = Math.max(0, ...kept.map((s) => (/^T\d+$/.test(s.sourceId!) ? Number(s.sourceId!.slice(1)) : 0))) + 1;
  const lines = kept.map((span) => ({ id: span.sourceId!, span }));
  for (const span of spans) if (span.sourceId === undefined) lines.push({ id: `T${next++}`, span });
  return lines;
}
