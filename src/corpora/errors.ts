/**
 * Everything that can be wrong with an uploaded corpus, as one error carrying a list of issues.
 *
 * Parsing is all-or-nothing: parsers collect every issue they find, then throw one
 * CorpusImportError. Messages name the file, the line and the annotation and say how to fix it,
 * but never quote document or annotation text: corpora hold PHI and errors end up in logs.
 */
export const CORPUS_ISSUE_CODES = Object.freeze([
  // Archive and upload
  'PATH_ESCAPE',
  'TOO_LARGE',
  'MALFORMED_ARCHIVE',
  'UNSUPPORTED_FORMAT',
  'EMPTY_CORPUS',
  // Files
  'INVALID_UTF8',
  'MISSING_TXT',
  'MISSING_ANN',
  'MALFORMED_ANN',
  'MALFORMED_XML',
  'MALFORMED_JSONL',
  'MALFORMED_CONLL',
  'UNKNOWN_FIELD',
  'DISCONTINUOUS_SPAN',
  // Documents and spans
  'EMPTY_DOCUMENT',
  'DUPLICATE_DOCUMENT_ID',
  'INVALID_SPAN',
  'SPAN_OUT_OF_RANGE',
  'SPAN_TEXT_MISMATCH',
  'OVERLAPPING_SPANS',
  // Export
  'UNREPRESENTABLE_TEXT',
] as const);

export type CorpusIssueCode = (typeof CORPUS_ISSUE_CODES)[number];

export interface CorpusIssue {
  code: CorpusIssueCode;
  /** Path of the file inside the upload, when the issue belongs to one. */
  file?: string;
  /** 1-based line number, where known. */
  line?: number;
  message: string;
}

/** How many issues an error keeps; the rest are only counted. */
export const MAX_REPORTED_ISSUES = 50;

export class CorpusImportError extends Error {
  /** The code of the first issue; `codes` lists every distinct code found. */
  readonly code: CorpusIssueCode;
  readonly codes: CorpusIssueCode[];
  /** The first MAX_REPORTED_ISSUES issues, in the order they were found. */
  readonly issues: CorpusIssue[];
  /** All issues found, including those not kept in `issues`. */
  readonly totalIssues: number;

  constructor(issues: CorpusIssue[], totalIssues = issues.length, codes?: CorpusIssueCode[]) {
    if (issues.length === 0) throw new Error('CorpusImportError needs at least one issue');
    const first = issues[0]!;
    const more = totalIssues - 1;
    super(`${formatIssue(first)}${more > 0 ? ` (and ${more} more ${more === 1 ? 'issue' : 'issues'})` : ''}`);
    this.name = 'CorpusImportError';
    this.code = first.code;
    this.codes = codes ?? [...new Set(issues.map((i) => i.code))];
    this.issues = issues.slice(0, MAX_REPORTED_ISSUES);
    this.totalIssues = totalIssues;
  }

  static single(code: CorpusIssueCode, message: string, file?: string, line?: number): CorpusImportError {
    return new CorpusImportError([{ code, message, ...(file !== undefined && { file }), ...(line !== undefined && { line }) }]);
  }

  /** JSON-safe details for an API response (no document text is ever in them). */
  toDetails(): { code: CorpusIssueCode; codes: CorpusIssueCode[]; issues: CorpusIssue[]; totalIssues: number } {
    return { code: this.code, codes: this.codes, issues: this.issues, totalIssues: this.totalIssues };
  }
}

export function formatIssue(issue: CorpusIssue): string {
  const where = issue.file === undefined ? '' : `${issue.file}${issue.line === undefined ? '' : `:${issue.line}`}: `;
  return `${issue.code}: ${where}${issue.message}`;
}

/** Collects issues while a parser walks the whole input, then throws them as one error. */
export class IssueCollector {
  private readonly kept: CorpusIssue[] = [];
  private total = 0;
  private readonly codes = new Set<CorpusIssueCode>();

  add(code: CorpusIssueCode, message: string, file?: string, line?: number): void {
    this.total++;
    this.codes.add(code);
    if (this.kept.length < MAX_REPORTED_ISSUES) {
      this.kept.push({ code, message, ...(file !== undefined && { file }), ...(line !== undefined && { line }) });
    }
  }

  get count(): number {
    return this.total;
  }

  throwIfAny(): void {
    if (this.total > 0) throw new CorpusImportError(this.kept, this.total, [...this.codes]);
  }
}
