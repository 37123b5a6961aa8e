// Token classification (NER) as a batch source for the training loop: tokenized examples with
// one label per token, padded per batch.
import type { EncoderBatch, EncoderModel } from '../models/bert/model.js';
import type { BatchSource } from './loop.js';

/** One tokenized example: token ids and one label id per token (-100 = ignored). */
export interface TokenClassificationExample {
  inputIds: number[];
  labels: number[];
}

/** Pad examples to the longest in the batch (at most maxSeqLen): attention 0 and label -100 on padding. */
export function collate(examples: readonly TokenClassificationExample[], padTokenId: number, maxSeqLen: number): EncoderBatch {
  const T = Math.min(maxSeqLen, Math.max(...examples.map((e) => e.inputIds.length)));
  const B = examples.length;
  const inputIds = new Int32Array(B * T).fill(padTokenId);
  const attentionMask = new Int32Array(B * T);
  const labels = new Int32Array(B * T).fill(-100);
  examples.forEach((e, b) => {
    if (e.labels.length !== e.inputIds.length) throw new Error(`example ${b}: ${e.inputIds.length} tokens but ${e.labels.length} labels`);
    const n = Math.min(T, e.inputIds.length);
    for (let t = 0; t < n; t++) {
      inputIds[b * T + t] = e.inputIds[t]!;
      attentionMask[b * T + t] = 1;
      labels[b * T + t] = e.labels[t]!;
    }
  });
  return { batchSize: B, seqLen: T, inputIds, attentionMask, labels };
}

/** The most tokens an encoder takes (RoBERTa's positions start after the padding index). */
export function encoderMaxTokens(config: EncoderModel['config']): number {
  return config.modelType === 'roberta' ? config.maxPositions - config.padTokenId - 1 : config.maxPositions;
}

/** Batches of `examples` for a token-classification `model`, truncated to maxSeqLen (default: the model's maximum). */
export function tokenClassificationBatches(model: EncoderModel, examples: readonly TokenClassificationExample[], maxSeqLen?: number): BatchSource<EncoderBatch> {
  if (model.head !== 'token-classification') throw new Error(`token classification needs a token-classification model, got head '${model.head}'`);
  const limit = Math.min(maxSeqLen ?? Infinity, encoderMaxTokens(model.config));
  return { size: examples.length, batch: (indices) => collate(indices.map((i) => examples[i]!), model.config.padTokenId, limit) };
}
