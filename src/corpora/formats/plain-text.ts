import { IssueCollector } from '../errors.js';
import { decodeUtf8, exportPath, extensionOf, finishDocuments, splitOfPath, stemOf, utf8Encoder } from './common.js';
import type { InputFile, OutputFile, ParsedCorpus, ParsedDocument, ParseOptions, RawDocument } from './types.js';

/**
 * Unannotated text: each `.txt` file is one document without spans, its stem the id and its
 * folder the split. Only used when the format is given as TEXT (a lone .txt upload is otherwise
 * read as BRAT and fails with MISSING_ANN, which says so).
 */
export function parsePlainText(files: InputFile[], options: ParseOptions = {}): ParsedCorpus {
  const issues = new IssueCollector();
  const raw: RawDocument[] = [];
  const ignoredFiles: string[] = [];
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    if (extensionOf(file.path) !== '.txt') {
      ignoredFiles.push(file.path);
      continue;
    }
    const text = decodeUtf8(file, issues);
    if (text !== null) raw.push({ id: stemOf(file.path), split: splitOfPath(file.path), text, spans: [], file: file.path });
  }
  const documents = finishDocuments(raw, options, issues);
  issues.throwIfAny();
  const warnings = ignoredFiles.length === 0 ? [] : [`Skipped ${ignoredFiles.length} files that are not .txt (e.g. ${ignoredFiles.slice(0, 3).join(', ')}); annotations are not read with format TEXT.`];
  return { documents, format: 'TEXT', warnings };
}

/** `<split>/<id>.txt` with the text's exact bytes; spans are dropped. */
export function exportPlainText(docs: ParsedDocument[]): OutputFile[] {
  const issues = new IssueCollector();
  const out = docs.map((d) => ({ path: `${exportPath(d.split, d.id, issues)}.txt`, bytes: utf8Encoder.encode(d.text) }));
  issues.throwIfAny();
  return out;
}
