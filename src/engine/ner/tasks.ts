/**
 * NER as plain-data tasks: train a token-classification encoder on annotated documents (from
 * scratch with a freshly trained WordPiece tokenizer, or fine-tuning a Hugging Face folder), and
 * tag documents with a trained model. Both run in a worker thread (./worker.ts) for the platform.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EncoderModel, parseEncoderConfig } from '../models/bert/index.js';
import { loadTokenizer, trainWordPiece, type TextTokenizer } from '../tokenizers/index.js';
import { Rng, encoderMaxTokens, tokenClassificationBatches, trainLoop, type TrainConfig, type TrainProgress } from '../train/index.js';
import type { Device } from '../runtime/session.js';
import { bioLabels, bioTransitions, collectWordTags, decodeWordIds, encodeChunks, labelChunks, scoreSpans, spansOfWordIds, unsureWords, type EncodedChunk, type NerDocument, type NerSpan, type Transitions, type WordTag } from './examples.js';

export interface ScratchEncoderSpec {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  /** WordPiece vocabulary trained on the training texts. */
  vocabSize: number;
}

export interface NerTrainSpec {
  documents: NerDocument[];
  /** Entity labels (not BIO tags), in the order their tags get ids. */
  labels: string[];
  /** Receives config.json, model.safetensors, tokenizer.json and tokenizer_config.json. */
  outputDir: string;
  /** A Hugging Face folder to fine-tune, or a fresh encoder. */
  base: { modelDir: string } | { scratch: ScratchEncoderSpec };
  chunkWords: number;
  /** Label only the first sub-token of each word (the rest are ignored by the loss); default false: every sub-token. */
  labelWords?: boolean;
  /** Validation's Viterbi adds the training labels' counted transitions at this weight (default DEFAULT_TRANSITION_WEIGHT); they are saved beside the weights either way. */
  transitionWeight?: number;
  train: TrainConfig;
  /**
   * Hold out this share of the documents (seeded by `seed`; 0 or absent: none). The model is
   * scored on them after every epoch, the best epoch's weights are the ones saved, and training
   * stops after train.earlyStoppingPatience epochs without a better strict entity F1.
   */
  validationSplit?: number;
  /**
   * Held-out documents given by the caller (e.g. a dev split), instead of validationSplit: the
   * same validation after every epoch, and every one of `documents` is trained on.
   */
  validationDocuments?: NerDocument[];
  /** Continue from the latest checkpoint in train.checkpointDir. */
  resume: boolean;
  seed: number;
  device?: Device;
  intraOpThreads?: number;
}

export interface NerTrainResult {
  steps: number;
  losses: number[];
  examples: number;
  tags: string[];
  parameters: number;
  /** With validationSplit: held-out documents, scores after every epoch, the step whose weights were saved. */
  validation: { documents: number; epochs: NerValidation[]; bestStep: number | null; stoppedEarly: boolean } | null;
}

/** Scores on the held-out documents (scoreSpans) after an epoch. */
export interface NerValidation {
  step: number;
  epoch: number;
  tokenF1: number;
  entityF1: number;
}

/** Training progress; `validation` comes with the step that ended an epoch. */
export type NerTrainProgress = TrainProgress & { validation?: NerValidation };

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'];

/**
 * A tagger's config.json key for bioTransitions of its training documents ([(L + 1) × L] in
 * id2label order, null for a transition BIO forbids): in the config, so the platform's stored
 * models keep it and Hugging Face tools ignore it.
 */
const TRANSITIONS_KEY = 'bio_transitions';
/** How much the counted transitions weigh against the model's scores in Viterbi (docs/engine-benchmark.md, "Counted BIO transitions"). */
export const DEFAULT_TRANSITION_WEIGHT = 1;

function saveTransitions(dir: string, logProbs: Float64Array): void {
  const file = path.join(dir, 'config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  config[TRANSITIONS_KEY] = Array.from(logProbs, (x) => (Number.isFinite(x) ? x : null));
  fs.writeFileSync(file, JSON.stringify(config, null, 2) + '\n');
}

/** The tagger's counted transitions at this weight, or undefined (weight 0, or a config without them: a Hugging Face tagger, or one trained before them). */
function loadTransitions(dir: string, numTags: number, weight: number): Transitions | undefined {
  if (!weight) return undefined;
  const saved = (JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>)[TRANSITIONS_KEY];
  if (!Array.isArray(saved)) return undefined;
  if (saved.length !== (numTags + 1) * numTags) throw new Error(`${dir}/config.json: ${TRANSITIONS_KEY} holds ${saved.length} values, not ${(numTags + 1) * numTags} for ${numTags} labels`);
  return { logProbs: Float64Array.from(saved as (number | null)[], (x) => x ?? -Infinity), weight };
}

export async function trainNer(spec: NerTrainSpec, onProgress?: (p: NerTrainProgress) => void, signal?: AbortSignal): Promise<NerTrainResult> {
  fs.mkdirSync(spec.outputDir, { recursive: true });
  const tags = bioLabels(spec.labels);
  const id2label = Object.fromEntries(tags.map((tag, i) => [i, tag]));
  const { train: documents, held } = heldOutDocuments(spec);
  const tokenizer = prepareTokenizer(spec, documents);
  const threads = { ...(spec.intraOpThreads ? { intraOpThreads: spec.intraOpThreads } : {}), ...(spec.device ? { device: spec.device } : {}) };
  const model =
    'modelDir' in spec.base
      ? await EncoderModel.fromPretrained(spec.base.modelDir, { id2label, seed: spec.seed, ...threads })
      : EncoderModel.fromConfig(
          parseEncoderConfig({
            model_type: 'bert',
            vocab_size: tokenizer.vocabSize,
            hidden_size: spec.base.scratch.hiddenSize,
            num_hidden_layers: spec.base.scratch.numLayers,
            num_attention_heads: spec.base.scratch.numHeads,
            intermediate_size: spec.base.scratch.intermediateSize,
            max_position_embeddings: spec.base.scratch.maxPositions,
            pad_token_id: tokenizer.special.pad ?? 0,
            id2label,
            label2id: Object.fromEntries(tags.map((tag, i) => [tag, i])),
          }),
          { seed: spec.seed, ...threads },
        );
  try {
    const chunks = encodeChunks(documents, tokenizer, spec.chunkWords, encoderMaxTokens(model.config));
    const examples = labelChunks(chunks, documents, tags, { firstSubTokenOnly: spec.labelWords ?? false });
    const heldChunks = encodeChunks(held, tokenizer, spec.chunkWords, encoderMaxTokens(model.config));
    const logProbs = bioTransitions(documents, tags);
    const weight = spec.transitionWeight ?? DEFAULT_TRANSITION_WEIGHT;
    const transitions = weight ? { logProbs, weight } : undefined;
    const scores = new Map<number, NerValidation>();
    let pending: NerValidation | null = null;
    const validate = async ({ step, epoch }: { step: number; epoch: number }): Promise<number> => {
      const annotations = await tagChunks(model, heldChunks, held.length, tags, tokenizer.special.pad ?? 0, 16, 'viterbi', transitions, undefined, signal);
      pending = { step, epoch, ...scoreSpans(held, annotations.map((a) => a.spans)) };
      scores.set(step, pending);
      return pending.entityF1;
    };
    const progress = (p: TrainProgress): void => {
      onProgress?.(pending ? { ...p, validation: pending } : p);
      pending = null;
    };
    const result = await trainLoop(model, tokenClassificationBatches(model, examples, spec.train.maxSeqLen), spec.train, { onProgress: progress, resume: spec.resume, ...(signal ? { signal } : {}), ...(held.length ? { validate } : {}) });
    await model.save(spec.outputDir);
    saveTransitions(spec.outputDir, logProbs);
    let parameters = 0;
    for (const tensor of model.params.values()) parameters += tensor.length;
    // scores of epochs before a resume are not re-measured: their strict F1 is the loop's record
    const epochs = result.validations.map((v) => scores.get(v.step) ?? { step: v.step, epoch: v.epoch, tokenF1: NaN, entityF1: v.score });
    const validation = held.length ? { documents: held.length, epochs, bestStep: result.bestStep, stoppedEarly: result.stoppedEarly } : null;
    return { steps: result.steps, losses: result.losses, examples: examples.length, tags, parameters, validation };
  } finally {
    await model.dispose();
  }
}

/** The training documents and the validation documents: the caller's, or a seeded share of the training documents. */
function heldOutDocuments(spec: NerTrainSpec): { train: NerDocument[]; held: NerDocument[] } {
  if (!spec.validationDocuments?.length) return splitDocuments(spec.documents, spec.validationSplit ?? 0, spec.seed);
  if (spec.validationSplit) throw new Error(`give validationDocuments or validationSplit (${spec.validationSplit}), not both: validationDocuments are held out already`);
  return { train: [...spec.documents], held: [...spec.validationDocuments] };
}

/** A seeded share of the documents held out for validation (at least one, and at least one left to train on), in their original order. */
export function splitDocuments<D>(documents: readonly D[], share: number, seed: number): { train: D[]; held: D[] } {
  if (!(share >= 0 && share < 1)) throw new Error(`validationSplit must be in [0, 1), got ${share}`);
  if (!share) return { train: [...documents], held: [] };
  if (documents.length < 2) throw new Error(`validationSplit needs at least 2 documents, got ${documents.length}`);
  const count = Math.min(documents.length - 1, Math.max(1, Math.round(share * documents.length)));
  const heldOut = new Set(Rng.fromSeed(seed, 'validation-split').permutation(documents.length).slice(0, count));
  return { train: documents.filter((_, i) => !heldOut.has(i)), held: documents.filter((_, i) => heldOut.has(i)) };
}

/** The base model's tokenizer, or a WordPiece tokenizer trained on the training texts (deterministic, so a resumed run gets the same one). */
function prepareTokenizer(spec: NerTrainSpec, documents: NerDocument[]): TextTokenizer {
  if ('modelDir' in spec.base) {
    for (const file of TOKENIZER_FILES) {
      const from = path.join(spec.base.modelDir, file);
      if (fs.existsSync(from)) fs.copyFileSync(from, path.join(spec.outputDir, file));
    }
    if (!fs.existsSync(path.join(spec.outputDir, 'tokenizer.json'))) throw new Error(`${spec.base.modelDir} has no tokenizer.json; a Hugging Face model folder needs one`);
  } else {
    trainWordPiece(
      documents.map((doc) => doc.text),
      { vocabSize: spec.base.scratch.vocabSize },
    ).save(spec.outputDir);
  }
  return loadTokenizer(spec.outputDir);
}

export interface NerAnnotateSpec {
  modelDir: string;
  documents: { text: string }[];
  chunkWords: number;
  /** A chunk starts every this many words (default chunkWords: no overlap); see collectWordTags. */
  chunkStride?: number;
  /** 'viterbi' (default): the best valid BIO sequence over the words; 'greedy': each word's best tag, BIO repaired. */
  decoding?: 'greedy' | 'viterbi';
  /** Viterbi adds the tagger's counted label transitions (config.json's bio_transitions) at this weight (default DEFAULT_TRANSITION_WEIGHT; 0: none). */
  transitionWeight?: number;
  /** Words decoded O whose O has a probability under this go to the annotation's `ignore` (unsureWords; absent: none do). */
  unsureBelow?: number;
  batchSize: number;
  device?: Device;
  intraOpThreads?: number;
}

/** One document's machine annotation: its spans, and the ranges of words it left out of them unsure (NerDocument.ignore). */
export interface NerAnnotation {
  spans: NerSpan[];
  ignore: [number, number][];
}

/** The annotation of every document, in order. */
export async function annotateNer(spec: NerAnnotateSpec, onProgress?: (p: { done: number; total: number }) => void, signal?: AbortSignal): Promise<NerAnnotation[]> {
  refuseMaskedLm(spec.modelDir);
  const tokenizer = loadTokenizer(spec.modelDir);
  const model = await EncoderModel.fromPretrained(spec.modelDir, { frozen: true, ...(spec.intraOpThreads ? { intraOpThreads: spec.intraOpThreads } : {}), ...(spec.device ? { device: spec.device } : {}) });
  try {
    const tags = Array.from({ length: model.config.numLabels }, (_, i) => model.config.id2label[i]!);
    const chunks = encodeChunks(spec.documents, tokenizer, spec.chunkWords, encoderMaxTokens(model.config), spec.chunkStride ?? spec.chunkWords);
    const transitions = loadTransitions(spec.modelDir, tags.length, spec.transitionWeight ?? DEFAULT_TRANSITION_WEIGHT);
    return await tagChunks(model, chunks, spec.documents.length, tags, tokenizer.special.pad ?? 0, spec.batchSize, spec.decoding ?? 'viterbi', transitions, spec.unsureBelow, signal, onProgress);
  } finally {
    await model.dispose();
  }
}

/** A pre-trained encoder (a *ForMaskedLM checkpoint) predicts words, not tags: say how to get a tagger from it. */
function refuseMaskedLm(modelDir: string): void {
  const config = JSON.parse(fs.readFileSync(path.join(modelDir, 'config.json'), 'utf8')) as { architectures?: unknown };
  const architecture = Array.isArray(config.architectures) ? config.architectures.find((a) => typeof a === 'string' && a.endsWith('ForMaskedLM')) : undefined;
  if (architecture) throw new Error(`${modelDir} is a ${architecture}: a pre-trained encoder with a masked-LM head and no labels, so it cannot tag; fine-tune a tagger from it first (trainNerModel with it as baseModelId)`);
}

/** Each document's annotation from the model's logits on every chunk of those documents. */
async function tagChunks(
  model: EncoderModel,
  chunks: EncodedChunk[],
  documents: number,
  tags: string[],
  pad: number,
  batchSize: number,
  decoding: 'greedy' | 'viterbi',
  transitions: Transitions | undefined,
  unsureBelow: number | undefined,
  signal?: AbortSignal,
  onProgress?: (p: { done: number; total: number }) => void,
): Promise<NerAnnotation[]> {
  const words: Map<number, WordTag>[] = Array.from({ length: documents }, () => new Map());
  // Similar lengths together: less padding per batch.
  const order = chunks.map((_, i) => i).sort((a, b) => chunks[a]!.inputIds.length - chunks[b]!.inputIds.length);
  for (let at = 0; at < order.length; at += batchSize) {
    if (signal?.aborted) throw new Error('annotation cancelled');
    const batch = order.slice(at, at + batchSize).map((i) => chunks[i]!);
    const seqLen = Math.max(...batch.map((c) => c.inputIds.length));
    const inputIds = new Array<number>(batch.length * seqLen).fill(pad);
    const attentionMask = new Array<number>(batch.length * seqLen).fill(0);
    batch.forEach((chunk, b) => chunk.inputIds.forEach((id, t) => ((inputIds[b * seqLen + t] = id), (attentionMask[b * seqLen + t] = 1))));
    const logits = await model.forward({ batchSize: batch.length, seqLen, inputIds, attentionMask });
    const L = tags.length;
    batch.forEach((chunk, b) => collectWordTags(chunk, logits.subarray(b * seqLen * L, (b + 1) * seqLen * L), L, words[chunk.docIndex]!));
    onProgress?.({ done: Math.min(at + batchSize, order.length), total: order.length });
  }
  return words.map((doc) => {
    const sorted = [...doc.values()].sort((a, b) => a.start - b.start);
    const ids = decodeWordIds(sorted, tags, { viterbi: decoding === 'viterbi', ...(transitions ? { transitions } : {}) });
    return { spans: spansOfWordIds(sorted, ids, tags), ignore: unsureBelow ? unsureWords(sorted, ids, tags, unsureBelow) : [] };
  });
}
