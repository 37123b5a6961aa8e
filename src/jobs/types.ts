/**
 * Job names, their payloads and states. A job row (Prisma `Job`) is what users see; the queue
 * (pg-boss) only carries `{ jobId }` and decides which process runs it.
 */
export enum JobName {
  CorpusImport = 'CORPUS_IMPORT',
  CorpusExport = 'CORPUS_EXPORT',
  Evaluate = 'EVALUATE',
  PrivacyReport = 'PRIVACY_REPORT',
}

export interface JobPayloads {
  [JobName.CorpusImport]: {
    name: string;
    description: string;
    containsPhi: boolean;
    format: string | null;
    /** Content address of the uploaded bytes in the artifact store. */
    uploadSha256: string;
    uploadName: string;
    allowOverlaps: boolean;
    allowUnknownFields: boolean;
  };
  [JobName.CorpusExport]: { corpusId: string; format: string; splits: string[] | null };
  [JobName.Evaluate]: {
    goldCorpusId: string;
    /** The gold split; null scores every document of the corpus. */
    split: string | null;
    /** Exactly one source of predictions: a corpus, an uploaded file (artifact), or a model's machine annotations. */
    predictedCorpusId: string | null;
    predictionsSha256: string | null;
    predictionsName: string | null;
    predictionsFormat: string | null;
    /** The model the predictions come from: with no other source, its MACHINE annotations on the gold documents. */
    modelId: string | null;
    /** Labels a prediction may carry; null = the labels of the gold split. */
    labels: string[] | null;
    unknownLabel: 'error' | 'false-positive';
    missingDocument: 'error' | 'empty' | 'skip';
    unknownDocument: 'error' | 'ignore';
    bootstrapResamples: number;
    confidenceLevel: number;
    seed: number;
    contextChars: number;
  };
  [JobName.PrivacyReport]: { syntheticCorpusId: string; realCorpusId: string; realSplit: string | null; n: number };
}

export type JobItem = { [N in JobName]: { name: N; data: JobPayloads[N] } }[JobName];
export type JobOf<N extends JobName> = Extract<JobItem, { name: N }>;

/** Mirrors the Prisma enum RunStatus. */
export const JobStatus = Object.freeze({
  queued: 'QUEUED',
  running: 'RUNNING',
  succeeded: 'SUCCEEDED',
  failed: 'FAILED',
  cancelled: 'CANCELLED',
} as const);
export type JobStatusValue = (typeof JobStatus)[keyof typeof JobStatus];
export const FINISHED_STATES: readonly string[] = [JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled];
