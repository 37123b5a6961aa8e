/**
 * CPU-heavy pieces of jobs, run in worker threads (src/jobs/cpu-pool.ts) so the API's event loop
 * stays responsive. Each task takes and returns plain, structured-cloneable data.
 */
import { parentPort } from 'node:worker_threads';
import { unpackArchive } from '../corpora/archive.js';
import { CorpusImportError } from '../corpora/errors.js';
import { exportCorpus, parseCorpus, zipFiles, type CorpusImportOptions } from '../corpora/formats/index.js';
import type { CorpusFormat, ParsedDocument } from '../corpora/formats/types.js';
import { corpusStats, type Countable } from '../corpora/stats.js';
import { documentCounts, evaluate, pairedBootstrapCounts, privacyReport, ScoringInputError, type BootstrapOptions, type EvaluateOptions, type PerDocumentCounts, type PlainDocument, type PredictedDocument, type PrivacyOptions, type ScoringDocument } from '../scoring/index.js';

export const CPU_TASKS = {
  parseUpload(input: { bytes: Uint8Array; name: string; maxArchiveBytes: number; maxFileBytes: number; options: CorpusImportOptions }) {
    const files = unpackArchive(input.bytes, input.name, { maxArchiveBytes: input.maxArchiveBytes, maxFileBytes: input.maxFileBytes });
    const parsed = parseCorpus(files, input.options);
    // corpus.stats, counted here once instead of on request (splits as stored: none is null).
    return { fileCount: files.length, ...parsed, stats: corpusStats(parsed.documents.map((doc) => ({ ...doc, split: doc.split || null }))) };
  },
  /** corpus.stats of stored documents (src/corpora/stats.ts). */
  corpusStats(input: { documents: Countable[] }) {
    return corpusStats(input.documents);
  },
  exportZip(input: { documents: ParsedDocument[]; format: CorpusFormat }) {
    const files = exportCorpus(input.documents, input.format);
    return { fileCount: files.length, zip: zipFiles(files) };
  },
  /** Every detection metric with bootstrap intervals and error analysis, plus per-document counts for paired tests later. */
  evaluate(input: { gold: ScoringDocument[]; predicted: PredictedDocument[]; options: EvaluateOptions }) {
    const result = evaluate(input.gold, input.predicted, input.options);
    return { result, counts: documentCounts(input.gold, input.predicted, input.options) };
  },
  /** Paired bootstrap of two stored evaluations' per-document counts. */
  compareCounts(input: { a: PerDocumentCounts; b: PerDocumentCounts; bootstrap: BootstrapOptions }) {
    return pairedBootstrapCounts(input.a, input.b, input.bootstrap);
  },
  privacyReport(input: { synthetic: PlainDocument[]; real: ScoringDocument[]; options: PrivacyOptions }) {
    return privacyReport(input.synthetic, input.real, input.options);
  },
};

export type CpuTaskName = keyof typeof CPU_TASKS;
export type CpuTaskInput<N extends CpuTaskName> = Parameters<(typeof CPU_TASKS)[N]>[0];
export type CpuTaskOutput<N extends CpuTaskName> = ReturnType<(typeof CPU_TASKS)[N]>;

/** How an error crosses the thread boundary; CorpusImportError keeps its issue list, ScoringInputError its code and details. */
export interface SerializedError {
  name: string;
  message: string;
  corpusImport?: ReturnType<CorpusImportError['toDetails']> & { totalIssues: number };
  scoring?: { code: ScoringInputError['code']; details: Record<string, unknown> };
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof CorpusImportError) return { name: error.name, message: error.message, corpusImport: error.toDetails() };
  if (error instanceof ScoringInputError) return { name: error.name, message: error.message, scoring: { code: error.code, details: error.details } };
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, message: e.message };
}

export function deserializeError(error: SerializedError): Error {
  if (error.corpusImport) return new CorpusImportError(error.corpusImport.issues, error.corpusImport.totalIssues, error.corpusImport.codes);
  if (error.scoring) return new ScoringInputError(error.scoring.code, error.message, error.scoring.details);
  const restored = new Error(error.message);
  restored.name = error.name;
  return restored;
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (message: { id: number; task: CpuTaskName; input: unknown }) => {
    try {
      const result = (CPU_TASKS[message.task] as (input: unknown) => unknown)(message.input);
      port.postMessage({ id: message.id, ok: true, result });
    } catch (error) {
      port.postMessage({ id: message.id, ok: false, error: serializeError(error) });
    }
  });
}
