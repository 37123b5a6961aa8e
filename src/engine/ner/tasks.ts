/**
 * NER as plain-data tasks: train a token-classification encoder on annotated documents (from
 * scratch with a freshly trained WordPiece tokenizer, or fine-tuning a Hugging Face folder), and
 * tag documents with a trained model. Both run in a worker thread (./worker.ts) for the platform.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EncoderModel, parseEncoderConfig } from '../models/bert/index.js';
import { loadTokenizer, trainWordPiece, type TextTokenizer } from '../tokenizers/index.js';
import { trainTokenClassification, type TrainConfig, type TrainProgress } from '../train/index.js';
import type { Device } from '../runtime/session.js';
import { bioLabels, collectWordTags, decodeWordTags, encodeChunks, labelChunks, type NerDocument, type NerSpan, type WordTag } from './examples.js';

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
  train: TrainConfig;
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
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'];

export async function trainNer(spec: NerTrainSpec, onProgress?: (p: TrainProgress) => void, signal?: AbortSignal): Promise<NerTrainResult> {
  fs.mkdirSync(spec.outputDir, { recursive: true });
  const tags = bioLabels(spec.labels);
  const id2label = Object.fromEntries(tags.map((tag, i) => [i, tag]));
  const tokenizer = prepareTokenizer(spec);
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
    const chunks = encodeChunks(spec.documents, tokenizer, spec.chunkWords, maxTokens(model));
    const examples = labelChunks(chunks, spec.documents, tags, { firstSubTokenOnly: spec.labelWords ?? false });
    const result = await trainTokenClassification(model, examples, spec.train, { ...(onProgress ? { onProgress } : {}), resume: spec.resume, ...(signal ? { signal } : {}) });
    await model.save(spec.outputDir);
    let parameters = 0;
    for (const tensor of model.params.values()) parameters += tensor.length;
    return { steps: result.steps, losses: result.losses, examples: examples.length, tags, parameters };
  } finally {
    await model.release();
  }
}

/** The base model's tokenizer, or a WordPiece tokenizer trained on the training texts (deterministic, so a resumed run gets the same one). */
function prepareTokenizer(spec: NerTrainSpec): TextTokenizer {
  if ('modelDir' in spec.base) {
    for (const file of TOKENIZER_FILES) {
      const from = path.join(spec.base.modelDir, file);
      if (fs.existsSync(from)) fs.copyFileSync(from, path.join(spec.outputDir, file));
    }
    if (!fs.existsSync(path.join(spec.outputDir, 'tokenizer.json'))) throw new Error(`${spec.base.modelDir} has no tokenizer.json; a Hugging Face model folder needs one`);
  } else {
    trainWordPiece(
      spec.documents.map((doc) => doc.text),
      { vocabSize: spec.base.scratch.vocabSize },
    ).save(spec.outputDir);
  }
  return loadTokenizer(spec.outputDir);
}

function maxTokens(model: EncoderModel): number {
  const { maxPositions, modelType, padTokenId } = model.config;
  return modelType === 'roberta' ? maxPositions - padTokenId - 1 : maxPositions;
}

export interface NerAnnotateSpec {
  modelDir: string;
  documents: { text: string }[];
  chunkWords: number;
  /** A chunk starts every this many words (default chunkWords: no overlap); see collectWordTags. */
  chunkStride?: number;
  /** 'viterbi' (default): the best valid BIO sequence over the words; 'greedy': each word's best tag, BIO repaired. */
  decoding?: 'greedy' | 'viterbi';
  batchSize: number;
  device?: Device;
  intraOpThreads?: number;
}

/** Predicted spans for every document, in order. */
export async function annotateNer(spec: NerAnnotateSpec, onProgress?: (p: { done: number; total: number }) => void, signal?: AbortSignal): Promise<NerSpan[][]> {
  const tokenizer = loadTokenizer(spec.modelDir);
  const model = await EncoderModel.fromPretrained(spec.modelDir, { ...(spec.intraOpThreads ? { intraOpThreads: spec.intraOpThreads } : {}), ...(spec.device ? { device: spec.device } : {}) });
  try {
    const tags = Array.from({ length: model.config.numLabels }, (_, i) => model.config.id2label[i]!);
    const chunks = encodeChunks(spec.documents, tokenizer, spec.chunkWords, maxTokens(model), spec.chunkStride ?? spec.chunkWords);
    const words: Map<number, WordTag>[] = spec.documents.map(() => new Map());
    const pad = tokenizer.special.pad ?? 0;
    // Similar lengths together: less padding per batch.
    const order = chunks.map((_, i) => i).sort((a, b) => chunks[a]!.inputIds.length - chunks[b]!.inputIds.length);
    for (let at = 0; at < order.length; at += spec.batchSize) {
      if (signal?.aborted) throw new Error('annotation cancelled');
      const batch = order.slice(at, at + spec.batchSize).map((i) => chunks[i]!);
      const seqLen = Math.max(...batch.map((c) => c.inputIds.length));
      const inputIds = new Array<number>(batch.length * seqLen).fill(pad);
      const attentionMask = new Array<number>(batch.length * seqLen).fill(0);
      batch.forEach((chunk, b) => chunk.inputIds.forEach((id, t) => ((inputIds[b * seqLen + t] = id), (attentionMask[b * seqLen + t] = 1))));
      const logits = await model.forward({ batchSize: batch.length, seqLen, inputIds, attentionMask });
      const L = tags.length;
      batch.forEach((chunk, b) => collectWordTags(chunk, logits.subarray(b * seqLen * L, (b + 1) * seqLen * L), L, words[chunk.docIndex]!));
      onProgress?.({ done: Math.min(at + spec.batchSize, order.length), total: order.length });
    }
    return words.map((doc) => decodeWordTags([...doc.values()].sort((a, b) => a.start - b.start), tags, { viterbi: (spec.decoding ?? 'viterbi') === 'viterbi' }));
  } finally {
    await model.release();
  }
}
