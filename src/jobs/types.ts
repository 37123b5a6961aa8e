/**
 * Job names, their payloads and states. A job row (Prisma `Job`) is what users see; the queue
 * (pg-boss) only carries `{ jobId }` and decides which process runs it.
 */
import type { ModelSize } from '../engine/tasks/pretrain.js';

export enum JobName {
  CorpusImport = 'CORPUS_IMPORT',
  CorpusExport = 'CORPUS_EXPORT',
  Evaluate = 'EVALUATE',
  PrivacyReport = 'PRIVACY_REPORT',
  TrainNer = 'TRAIN_NER',
  Annotate = 'ANNOTATE',
  Generate = 'GENERATE',
  AdaptGenerator = 'ADAPT_GENERATOR',
  PrivacyGuard = 'PRIVACY_GUARD',
  Pretrain = 'PRETRAIN',
}

/** Pre-training a decoder (causal LM) or an encoder (masked LM) from scratch on the text of corpora (src/engine/tasks/pretrain.ts). */
export interface PretrainPayload {
  name: string;
  /** Every document of these corpora (e.g. unannotated clinical text imported as TEXT) … */
  corpusIds: string[];
  /** … and this split of this corpus (e.g. a real corpus's training split); null: none. */
  corpusId: string | null;
  split: string | null;
  /** Every round(1 / heldOutFraction)-th document is held out to measure perplexity or masked-LM loss (0: none). */
  heldOutFraction: number;
  /** Decoders (GENERATOR): gpt2, llama; encoders (ENCODER_PRETRAINED): bert, roberta. */
  architecture: 'gpt2' | 'llama' | 'bert' | 'roberta';
  size: ModelSize;
  /** Encoders: the share of tokens masked for prediction (absent: 0.15). */
  maskProbability?: number;
  seqLen: number;
  batchSize: number;
  epochs: number;
  maxSteps: number | null;
  learningRate: number;
  warmupSteps: number;
  seed: number;
  device: 'cpu' | 'webgpu' | 'cuda';
}

/**
 * Between generation and annotation: drops (or only flags) synthetic notes that copy too much of the
 * generator's training text or reproduce real PHI strings verbatim.
 */
export interface PrivacyGuardPayload {
  name: string;
  syntheticCorpusId: string;
  /** The generator's training text: this split of the real corpus, at this seeded fraction. */
  realCorpusId: string;
  realSplit: string;
  realFraction: number;
  realSubsetSeed: number;
  action: 'DROP' | 'FLAG';
  n: number;
  /** A note is removed when its share of n-grams found in the training text is above this. */
  maxNgramOverlap: number;
  /** … or when it copies a passage of more than this many words … */
  maxCopiedWords: number;
  /** … or reproduces more than this many real PHI strings (occurrences). */
  maxPhiStrings: number;
  /** Real PHI strings shorter than this (code points) are not counted. */
  phiMinLength: number;
}

export interface GeneratePayload {
  name: string;
  generatorModelId: string;
  /** Prompts are the first `promptWords` words of each document of this corpus split (the method: validation documents, 3 words). */
  promptCorpusId: string;
  promptSplit: string | null;
  promptWords: number;
  maxPrompts: number | null;
  samplesPerPrompt: number;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  topK: number | null;
  seed: number;
  device: 'cpu' | 'webgpu' | 'cuda';
}

export interface AdaptGeneratorPayload {
  name: string;
  baseModelId: string;
  corpusId: string;
  split: string;
  /** Perplexity is measured on this split of the corpus after training (the method's validation documents); null: not measured. */
  heldOutSplit: string | null;
  documentFraction: number;
  subsetSeed: number;
  /** null adapts every weight. */
  lora: { r: number; alpha: number; targetModules: string[] | null } | null;
  seqLen: number;
  batchSize: number;
  epochs: number;
  maxSteps: number | null;
  learningRate: number | null;
  warmupSteps: number;
  seed: number;
  device: 'cpu' | 'webgpu' | 'cuda';
}

export interface JobPayloads {
  [JobName.AdaptGenerator]: AdaptGeneratorPayload;
  [JobName.Generate]: GeneratePayload;
  [JobName.TrainNer]: TrainNerPayload;
  /** unsureBelow: words the model tags O with a probability under this are stored as UNSURE ranges (absent: none; absent rather than null, so annotation steps planned before it keep their input hashes). */
  [JobName.Annotate]: { modelId: string; corpusId: string; split: string | null; device: 'cpu' | 'webgpu' | 'cuda'; unsureBelow?: number };
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
    /** Absent in jobs queued before the option existed: 'error'. */
    invalidSpans?: 'error' | 'score';
    bootstrapResamples: number;
    confidenceLevel: number;
    seed: number;
    contextChars: number;
  };
  [JobName.PrivacyReport]: { syntheticCorpusId: string; realCorpusId: string; realSplit: string | null; n: number };
  [JobName.PrivacyGuard]: PrivacyGuardPayload;
  [JobName.Pretrain]: PretrainPayload;
}

export interface TrainNerPayload {
  name: string;
  ownerId: string;
  corpusId: string;
  split: string;
  /** Train on a seeded nested subset of the split (1 = all of it). */
  documentFraction: number;
  subsetSeed: number;
  /** Fine-tune this encoder; null trains one from scratch with `scratch`. */
  baseModelId: string | null;
  /** Train on the annotations this model made on the corpus (synthetic notes); null: the gold ones. */
  annotationModelId: string | null;
  scratch: { hiddenSize: number; numLayers: number; numHeads: number; intermediateSize: number; maxPositions: number; vocabSize: number };
  epochs: number;
  batchSize: number;
  learningRate: number | null;
  warmupRatio: number;
  chunkWords: number;
  /** Share of the documents held out to validate on after every epoch (absent or 0: none); the best epoch's weights are kept. */
  validationSplit?: number;
  /** With validationSplit: stop after this many epochs without a better strict entity F1 (default 2). */
  earlyStoppingPatience?: number;
  seed: number;
  maxSteps: number | null;
  kind: 'NER_ANNOTATOR' | 'NER_SYNTHETIC';
  /** Where onnxruntime runs it; an unavailable device fails the job, it never falls back. */
  device: 'cpu' | 'webgpu' | 'cuda';
}


/** Payload keys that name the corpora a job reads (and `corpusId` of a result, the corpus it made). */
export const JOB_CORPUS_KEYS = ['corpusId', 'promptCorpusId', 'goldCorpusId', 'predictedCorpusId', 'syntheticCorpusId', 'realCorpusId'] as const;
/** Payload keys that hold a list of corpus ids. */
export const JOB_CORPUS_LIST_KEYS = ['corpusIds'] as const;
/** Payload keys that name the models a job reads (and `modelId` of a result, the model it made). */
export const JOB_MODEL_KEYS = ['modelId', 'baseModelId', 'annotationModelId', 'generatorModelId'] as const;

/** Mirrors the Prisma enum RunStatus. */
export const JobStatus = Object.freeze({
  queued: 'QUEUED',
  running: 'RUNNING',
  succeeded: 'SUCCEEDED',
  failed: 'FAILED',
  cancelled: 'CANCELLED',
} as const);
export const FINISHED_STATES: readonly string[] = [JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled];
