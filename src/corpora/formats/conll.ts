import { IssueCollector } from '../errors.js';
import {
  codePointLength, CodePointText, decodeUtf8, exportPath, extensionOf, finishDocuments, splitLines, splitOfPath, stemOf, stripBom, utf8Encoder,
} from './common.js';
import { wordTokens } from './tokenize.js';
import type { InputFile, OutputFile, ParsedCorpus, ParsedDocument, ParseOptions, RawDocument, RawSpan } from './types.js';

/**
 * CoNLL-style token-per-line files, BIO or BIOES (both read the same way).
 *
 * - One token per line: the token in the first column, the tag in the last, whitespace between;
 *   columns in between are ignored. A blank line ends a sentence.
 * - `-DOCSTART-` lines and `# doc_id = X` comment lines start a new document. Documents without
 *   a doc_id are named `<file stem>-<n>` (n from 1), or `<file stem>` when a file holds one
 *   unnamed document. Other lines starting with '#' are comments unless their last column is a tag.
 * - The text is rebuilt: tokens joined by one space, sentences by '\n'; spans are offsets into it.
 * - Chunks follow conlleval: a span starts at B- or S-, and also at an I- or E- that does not
 *   continue a span of the same type (I- without B- starts a new span); a sentence end closes it.
 * - The split is the folder holding the file (`train/train.conll` → 'train').
 */
export const CONLL_EXTENSIONS = Object.freeze(['.conll', '.conllu', '.bio', '.bioes', '.iob', '.iob2', '.tsv']);

export function detectConll(files: InputFile[]): boolean {
  return files.some((f) => CONLL_EXTENSIONS.includes(extensionOf(f.path)));
}

const TAG = /^(?:O|[BIES]-\S+)$/;
const DOC_ID = /^#\s*doc_id\s*=\s*(.*?)\s*$/;

interface ConllToken { token: string; tag: string; line: number }
interface ConllDoc { id: string | null; line: number; sentences: ConllToken[][]; explicit: boolean }

export function parseConll(files: InputFile[], options: ParseOptions = {}): ParsedCorpus {
  const issues = new IssueCollector();
  const raw: RawDocument[] = [];
  const ignoredFiles: string[] = [];
  let repaired = 0;
  const accepted = [...CONLL_EXTENSIONS, '.txt'];
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    if (!accepted.includes(extensionOf(file.path))) {
      ignoredFiles.push(file.path);
      continue;
    }
    const content = decodeUtf8(file, issues);
    if (content === null) continue;
    const docs = readDocuments(file.path, stripBom(content), issues);
    const stem = stemOf(file.path);
    docs.forEach((d, i) => {
      const built = buildText(d);
      repaired += built.repaired;
      const id = d.id ?? (docs.length === 1 ? stem : `${stem}-${i + 1}`);
      raw.push({ id, split: splitOfPath(file.path), text: built.text, spans: built.spans, file: file.path, line: d.line });
    });
  }
  const documents = finishDocuments(raw, options, issues);
  issues.throwIfAny();
  const warnings: string[] = [];
  if (repaired > 0) warnings.push(`${repaired} spans begin with I- or E- instead of B- or S-; each was read as the start of a new span, as conlleval does.`);
  if (ignoredFiles.length > 0) warnings.push(`Skipped ${ignoredFiles.length} files that are not CoNLL (e.g. ${ignoredFiles.slice(0, 3).join(', ')}).`);
  return { documents, format: 'CONLL', warnings };
}

function readDocuments(path: string, content: string, issues: IssueCollector): ConllDoc[] {
  const docs: ConllDoc[] = [];
  let doc: ConllDoc = { id: null, line: 1, sentences: [], explicit: false };
  let sentence: ConllToken[] = [];
  const endSentence = () => {
    if (sentence.length > 0) doc.sentences.push(sentence);
    sentence = [];
  };
  const startDocument = (id: string | null, line: number, fromDocstart: boolean) => {
    endSentence();
    // `# doc_id = X` directly followed by -DOCSTART- names one document, not two.
    if (fromDocstart && doc.explicit && doc.id !== null && doc.sentences.length === 0) return;
    if (doc.explicit || doc.sentences.length > 0) docs.push(doc);
    doc = { id, line, sentences: [], explicit: true };
  };
  const lines = splitLines(content);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const lineNo = i + 1;
    const trimmed = line.trim();
    if (trimmed === '') {
      endSentence();
      continue;
    }
    const cols = trimmed.split(/\s+/);
    if (cols[0] === '-DOCSTART-') {
      startDocument(null, lineNo, true);
      continue;
    }
    if (trimmed.startsWith('#')) {
      const m = DOC_ID.exec(trimmed);
      if (m !== null) {
        if (m[1] === '') issues.add('MALFORMED_CONLL', `'# doc_id =' needs a document id after '='`, path, lineNo);
        startDocument(m[1]!, lineNo, false);
        continue;
      }
      if (cols.length < 2 || !TAG.test(cols[cols.length - 1]!)) continue; // a comment
    }
    if (cols.length < 2) {
      issues.add('MALFORMED_CONLL', `expected a token and a tag separated by whitespace (e.g. 'Madrid B-TERRITORIO'), found one column`, path, lineNo);
      continue;
    }
    const tag = cols[cols.length - 1]!;
    if (!TAG.test(tag)) {
      // The tag column may hold a word of the note (a shifted column): name the column, never quote it.
      issues.add('MALFORMED_CONLL', `the last column (the tag) is not O or B-, I-, E-, S- followed by a label`, path, lineNo);
      continue;
    }
    sentence.push({ token: cols[0]!, tag, line: lineNo });
  }
  endSentence();
  if (doc.explicit || doc.sentences.length > 0) docs.push(doc);
  return docs;
}

// conlleval's chunk boundaries, for BIO and BIOES alike.
function endOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (prevTag === 'B' || prevTag === 'I') return tag === 'B' || tag === 'S' || tag === 'O' || prevType !== type;
  if (prevTag === 'E' || prevTag === 'S') return true;
  return false;
}

function startOfChunk(prevTag: string, tag: string, prevType: string, type: string): boolean {
  if (tag === 'B' || tag === 'S') return true;
  if (tag === 'O') return false;
  return prevTag === 'E' || prevTag === 'S' || prevTag === 'O' || prevType !== type;
}

function buildText(doc: ConllDoc): { text: string; spans: RawSpan[]; repaired: number } {
  const parts: string[] = [];
  const spans: RawSpan[] = [];
  let repaired = 0;
  let pos = 0; // code points
  doc.sentences.forEach((sentence, si) => {
    if (si > 0) {
      parts.push('\n');
      pos++;
    }
    let prevTag = 'O', prevType = '', prevEnd = 0;
    let open: { start: number; type: string; line: number } | null = null;
    const close = () => {
      if (open !== null) spans.push({ start: open.start, end: prevEnd, label: open.type, ref: `span at line ${open.line}`, line: open.line });
      open = null;
    };
    sentence.forEach((t, ti) => {
      if (ti > 0) {
        parts.push(' ');
        pos++;
      }
      const tag = t.tag[0]!;
      const type = t.tag === 'O' ? '' : t.tag.slice(2);
      if (open !== null && endOfChunk(prevTag, tag, prevType, type)) close();
      if (startOfChunk(prevTag, tag, prevType, type)) {
        if (tag === 'I' || tag === 'E') repaired++;
        open = { start: pos, type, line: t.line };
      }
      parts.push(t.token);
      pos += codePointLength(t.token);
      prevTag = tag;
      prevType = type;
      prevEnd = pos;
    });
    close();
  });
  return { text: parts.join(''), spans, repaired };
}

export type TagScheme = 'BIO' | 'BIOES';

/**
 * One file per split, `<split>/<split>.conll` (`corpus.conll` for documents without a split):
 * `# doc_id = <id>`, then one `token<space>tag` line per word token (see tokenize.ts), a blank
 * line after each sentence. A sentence ends at a line break that is not inside a span.
 * A token gets the label of the first span it overlaps, so a span boundary inside a token
 * widens the span to the whole token; where spans overlap, the earlier one wins.
 */
export function exportConll(docs: ParsedDocument[], scheme: TagScheme = 'BIO'): OutputFile[] {
  const issues = new IssueCollector();
  const bySplit = new Map<string | null, string[]>();
  for (const doc of docs) {
    if (/[\r\n]/.test(doc.id)) issues.add('PATH_ESCAPE', `document id '${doc.id.replace(/[\r\n]/g, ' ')}' holds a line break, which cannot go in a '# doc_id =' line; rename it before exporting`);
    let lines = bySplit.get(doc.split);
    if (lines === undefined) bySplit.set(doc.split, (lines = []));
    lines.push(`# doc_id = ${doc.id}\n`, ...documentLines(doc, scheme));
  }
  const out: OutputFile[] = [];
  for (const [split, lines] of bySplit) {
    const path = split === null ? 'corpus.conll' : `${exportPath(split, split, issues)}.conll`;
    out.push({ path, bytes: utf8Encoder.encode(lines.join('')) });
  }
  issues.throwIfAny();
  return out;
}

function documentLines(doc: ParsedDocument, scheme: TagScheme): string[] {
  const cps = new CodePointText(doc.text);
  const tokens = wordTokens(doc.text, cps);
  const spans = doc.spans;
  // Index into `spans` of the span each token belongs to, -1 for none.
  const owner = new Int32Array(tokens.length).fill(-1);
  let first = 0;
  tokens.forEach((t, ti) => {
    while (first < spans.length && spans[first]!.end <= t.start) first++;
    for (let k = first; k < spans.length && spans[k]!.start < t.end; k++) {
      if (spans[k]!.end > t.start) {
        owner[ti] = k;
        break;
      }
    }
  });
  const lines: string[] = [];
  tokens.forEach((t, ti) => {
    const o = owner[ti]!;
    if (ti > 0) {
      const gap = cps.slice(tokens[ti - 1]!.end, t.start);
      if (/[\r\n]/.test(gap) && !(o >= 0 && owner[ti - 1] === o)) lines.push('\n');
    }
    let tag = 'O';
    if (o >= 0) {
      const begins = ti === 0 || owner[ti - 1] !== o;
      const ends = ti === tokens.length - 1 || owner[ti + 1] !== o;
      const label = spans[o]!.label;
      if (scheme === 'BIO') tag = `${begins ? 'B' : 'I'}-${label}`;
      else tag = `${begins && ends ? 'S' : begins ? 'B' : ends ? 'E' : 'I'}-${label}`;
    }
    lines.push(`${t.text} ${tag}\n`);
  });
  lines.push('\n');
  return lines;
}
