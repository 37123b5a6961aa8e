import { IssueCollector } from '../errors.js';
import { decodeUtf8, extensionOf, finishDocuments, splitLines, stripBom, utf8Encoder } from './common.js';
import type { InputFile, OutputFile, ParsedCorpus, ParsedDocument, ParseOptions, RawDocument, RawSpan } from './types.js';

/**
 * JSON Lines, one document per line:
 *   {"id": "doc1", "split": "train", "text": "...", "spans": [{"start": 0, "end": 5, "label": "NAME"}]}
 * `id` (string, or an integer turned into a string), `text` and `spans` are required; `split` is
 * optional (null, absent or "" mean none). A span may carry `text`, which is then checked against
 * the document. Offsets are code points, the same as Python string indices. Any other field
 * fails with UNKNOWN_FIELD unless allowUnknownFields is set. Blank lines are skipped.
 */
export function detectJsonl(files: InputFile[]): boolean {
  return files.some((f) => ['.jsonl', '.ndjson'].includes(extensionOf(f.path)));
}

const DOC_FIELDS = new Set(['id', 'split', 'text', 'spans']);
const SPAN_FIELDS = new Set(['start', 'end', 'label', 'text']);

export function parseJsonl(files: InputFile[], options: ParseOptions = {}): ParsedCorpus {
  const issues = new IssueCollector();
  const raw: RawDocument[] = [];
  const ignoredFiles: string[] = [];
  let unknownIgnored = 0;
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    if (!['.jsonl', '.ndjson'].includes(extensionOf(file.path))) {
      ignoredFiles.push(file.path);
      continue;
    }
    const content = decodeUtf8(file, issues);
    if (content === null) continue;
    const lines = splitLines(stripBom(content));
    for (let i = 0; i < lines.length; i++) {
      const lineNo = i + 1;
      if (lines[i]!.trim() === '') continue;
      const bad = (message: string) => issues.add('MALFORMED_JSONL', message, file.path, lineNo);
      let value: unknown;
      try {
        value = JSON.parse(lines[i]!);
      } catch (e) {
        // V8's message quotes the line, which may hold PHI; keep only the position.
        const at = /position (\d+)/.exec(String(e))?.[1];
        bad(`the line is not valid JSON${at === undefined ? '' : ` (at character ${at})`}; each line must be one complete JSON object`);
        continue;
      }
      if (!isObject(value)) {
        bad('each line must be a JSON object like {"id": ..., "text": ..., "spans": [...]}');
        continue;
      }
      for (const key of Object.keys(value)) {
        if (DOC_FIELDS.has(key)) continue;
        if (options.allowUnknownFields) unknownIgnored++;
        else issues.add('UNKNOWN_FIELD', `unknown field '${key}'; allowed fields are id, split, text, spans (or import with allowUnknownFields)`, file.path, lineNo);
      }
      const { id, split, text, spans } = value;
      let docId: string;
      if (typeof id === 'string' && id !== '') docId = id;
      else if (typeof id === 'number' && Number.isSafeInteger(id)) docId = String(id);
      else {
        bad(`field 'id' must be a non-empty string`);
        continue;
      }
      if (typeof text !== 'string') {
        bad(`document '${docId}': field 'text' must be a string`);
        continue;
      }
      if (split !== undefined && split !== null && typeof split !== 'string') {
        bad(`document '${docId}': field 'split' must be a string or null`);
        continue;
      }
      if (!Array.isArray(spans)) {
        bad(`document '${docId}': field 'spans' must be an array (use [] for none)`);
        continue;
      }
      const parsed: RawSpan[] = [];
      spans.forEach((s: unknown, k) => {
        const ref = `spans[${k}]`;
        if (!isObject(s)) {
          bad(`document '${docId}': ${ref} must be an object with start, end and label`);
          return;
        }
        for (const key of Object.keys(s)) {
          if (SPAN_FIELDS.has(key)) continue;
          if (options.allowUnknownFields) unknownIgnored++;
          else issues.add('UNKNOWN_FIELD', `document '${docId}': unknown field '${key}' in ${ref}; allowed fields are start, end, label, text`, file.path, lineNo);
        }
        if (typeof s.start !== 'number' || typeof s.end !== 'number' || typeof s.label !== 'string') {
          bad(`document '${docId}': ${ref} needs numeric start and end and a string label`);
          return;
        }
        if (s.text !== undefined && typeof s.text !== 'string') {
          bad(`document '${docId}': ${ref}.text must be a string`);
          return;
        }
        parsed.push({ start: s.start, end: s.end, label: s.label, ref, line: lineNo, ...(typeof s.text === 'string' && { claimedText: s.text }) });
      });
      raw.push({ id: docId, split: split === undefined || split === null || split === '' ? null : split, text, spans: parsed, file: file.path, line: lineNo });
    }
  }
  const documents = finishDocuments(raw, options, issues);
  issues.throwIfAny();
  const warnings: string[] = [];
  if (unknownIgnored > 0) warnings.push(`Ignored ${unknownIgnored} unknown fields (allowUnknownFields is set).`);
  if (ignoredFiles.length > 0) warnings.push(`Skipped ${ignoredFiles.length} files that are not .jsonl (e.g. ${ignoredFiles.slice(0, 3).join(', ')}).`);
  return { documents, format: 'JSONL', warnings };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `corpus.jsonl`: one line per document, keys in the order id, split (when set), text, spans. */
export function exportJsonl(docs: ParsedDocument[]): OutputFile[] {
  const lines = docs.map(
    (d) =>
      `${JSON.stringify({ id: d.id, ...(d.split !== null && { split: d.split }), text: d.text, spans: d.spans.map(({ start, end, label }) => ({ start, end, label })) })}\n`,
  );
  return [{ path: 'corpus.jsonl', bytes: utf8Encoder.encode(lines.join('')) }];
}
