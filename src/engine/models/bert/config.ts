// Encoder (BERT / RoBERTa) configuration read from a Hugging Face config.json.
// Accepts transformers 4 and 5 spellings (torch_dtype/dtype, num_labels/id2label, ...).

import { expectModelType, type EncoderModelType } from '../model-types.js';

export type { EncoderModelType };

export const SUPPORTED_ACTIVATIONS = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'gelu_fast', 'relu', 'silu', 'swish'] as const;

export interface EncoderConfig {
  modelType: EncoderModelType;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  typeVocabSize: number;
  layerNormEps: number;
  padTokenId: number;
  hiddenAct: string;
  /** Dropout probabilities used in training (HF defaults 0.1; classifier_dropout null = hidden). */
  hiddenDropout: number;
  attentionDropout: number;
  classifierDropout: number;
  numLabels: number;
  id2label: Record<number, string>;
  /** The config.json this came from (kept so save() writes back fields it does not model). */
  raw: Record<string, unknown>;
}

function num(raw: Record<string, unknown>, names: string[], fallback?: number): number {
  for (const n of names) {
    const v = raw[n];
    if (typeof v === 'number') return v;
  }
  if (fallback !== undefined) return fallback;
  throw new Error(`config.json: missing '${names[0]}'${names.length > 1 ? ` (also looked for ${names.slice(1).join(', ')})` : ''}`);
}

export function parseEncoderConfig(raw: Record<string, unknown>): EncoderConfig {
  const modelType = expectModelType(raw.model_type, 'encoder');
  const hiddenAct = String(raw.hidden_act ?? raw.activation_function ?? 'gelu');
  if (!(SUPPORTED_ACTIVATIONS as readonly string[]).includes(hiddenAct)) {
    throw new Error(`unsupported hidden_act '${hiddenAct}'; supported: ${SUPPORTED_ACTIVATIONS.join(', ')}`);
  }
  const id2labelRaw = (raw.id2label ?? {}) as Record<string, string>;
  const id2label: Record<number, string> = {};
  for (const [k, v] of Object.entries(id2labelRaw)) id2label[Number(k)] = v;
  const numLabels = num(raw, ['num_labels'], Object.keys(id2label).length || 2);
  for (let i = 0; i < numLabels; i++) id2label[i] ??= `LABEL_${i}`;
  const hiddenSize = num(raw, ['hidden_size', 'dim', 'd_model']);
  const cfg: EncoderConfig = {
    modelType,
    vocabSize: num(raw, ['vocab_size']),
    hiddenSize,
    numLayers: num(raw, ['num_hidden_layers', 'n_layers', 'num_layers']),
    numHeads: num(raw, ['num_attention_heads', 'n_heads']),
    intermediateSize: num(raw, ['intermediate_size', 'hidden_dim'], 4 * hiddenSize),
    maxPositions: num(raw, ['max_position_embeddings'], 512),
    typeVocabSize: num(raw, ['type_vocab_size'], 2),
    layerNormEps: num(raw, ['layer_norm_eps', 'layer_norm_epsilon'], 1e-12),
    padTokenId: num(raw, ['pad_token_id'], modelType === 'roberta' ? 1 : 0),
    hiddenAct,
    hiddenDropout: num(raw, ['hidden_dropout_prob', 'hidden_dropout', 'dropout'], 0.1),
    attentionDropout: num(raw, ['attention_probs_dropout_prob', 'attention_dropout'], 0.1),
    classifierDropout: num(raw, ['classifier_dropout'], num(raw, ['hidden_dropout_prob', 'hidden_dropout', 'dropout'], 0.1)),
    numLabels,
    id2label,
    raw,
  };
  if (cfg.hiddenSize % cfg.numHeads) throw new Error(`config.json: hidden_size ${cfg.hiddenSize} is not divisible by num_attention_heads ${cfg.numHeads}`);
  return cfg;
}

/** A config.json for `cfg`, in transformers' layout (both 4 and 5 read it). */
export function encoderConfigJson(cfg: EncoderConfig, architecture: string): Record<string, unknown> {
  const id2label: Record<string, string> = {};
  const label2id: Record<string, number> = {};
  for (let i = 0; i < cfg.numLabels; i++) {
    id2label[String(i)] = cfg.id2label[i]!;
    label2id[cfg.id2label[i]!] = i;
  }
  return {
    ...cfg.raw,
    architectures: [architecture],
    model_type: cfg.modelType,
    vocab_size: cfg.vocabSize,
    hidden_size: cfg.hiddenSize,
    num_hidden_layers: cfg.numLayers,
    num_attention_heads: cfg.numHeads,
    intermediate_size: cfg.intermediateSize,
    max_position_embeddings: cfg.maxPositions,
    type_vocab_size: cfg.typeVocabSize,
    layer_norm_eps: cfg.layerNormEps,
    pad_token_id: cfg.padTokenId,
    hidden_act: cfg.hiddenAct,
    hidden_dropout_prob: cfg.hiddenDropout,
    attention_probs_dropout_prob: cfg.attentionDropout,
    classifier_dropout: cfg.raw.classifier_dropout ?? null,
    initializer_range: cfg.raw.initializer_range ?? 0.02,
    id2label,
    label2id,
    torch_dtype: 'float32',
    dtype: 'float32',
  };
}
