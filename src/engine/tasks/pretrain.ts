/**
 * Pre-training from scratch (no pretrained weights reach these machines), with the one training
 * loop (every weight trained):
 * - decoders (GPT-2, LLaMA): a byte-level BPE tokenizer trained on the texts, a fresh model of the
 *   asked size, causal language modelling through the adaptation task;
 * - encoders (BERT, RoBERTa): a WordPiece (BERT) or byte-level BPE (RoBERTa) tokenizer trained on
 *   the texts, a fresh model with the masked-LM head, masked language modelling (train/mlm.ts).
 * The result is an ordinary Hugging Face folder: adaptation and generation load a decoder, and a
 * NER tagger fine-tunes an encoder (its masked-LM head dropped, a token-classification head added).
 *
 * Letters: B windows per batch, T tokens per window, V vocabulary.
 */
import fs from 'node:fs';
import { EncoderModel, parseEncoderConfig } from '../models/bert/index.js';
import { createDecoder } from '../models/registry.js';
import type { EncoderBatch } from '../models/bert/index.js';
import { Rng } from '../runtime/rng.js';
import { loadTokenizer, trainByteLevelBpe, trainWordPiece } from '../tokenizers/index.js';
import { MaskedLmBatches, packWindows, trainLoop, type MaskedLmTokens, type TrainProgress } from '../train/index.js';
import { adaptGenerator, heldOutHooks, languageModelTrainConfig, type AdaptGeneratorSpec, type AdaptProgress, type AdaptResult } from './adapt.js';

/** The size of a model trained from scratch, and of the vocabulary its tokenizer learns. */
export interface ModelSize {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** The MLP's width (LLaMA, BERT, RoBERTa; GPT-2 uses 4 × hiddenSize). */
  intermediateSize: number;
  /** The longest sequence in tokens (RoBERTa's max_position_embeddings adds padding_idx + 1 to it). */
  maxPositions: number;
  vocabSize: number;
}
export type DecoderSize = ModelSize;

/** The adaptation loop's settings (every weight trained), and what model to build first. */
export interface PretrainDecoderSpec extends Omit<AdaptGeneratorSpec, 'modelDir' | 'lora' | 'heldOutTexts'> {
  architecture: 'gpt2' | 'llama';
  size: DecoderSize;
  heldOutTexts: string[];
  /** Receives the trained model and its tokenizer; `${outputDir}.init` holds the untrained one meanwhile. */
  outputDir: string;
}

export async function pretrainDecoder(spec: PretrainDecoderSpec, onProgress?: (p: AdaptProgress) => void, signal?: AbortSignal): Promise<AdaptResult & { vocabSize: number }> {
  const initDir = `${spec.outputDir}.init`;
  fs.rmSync(initDir, { recursive: true, force: true });
  trainByteLevelBpe(spec.texts, { vocabSize: spec.size.vocabSize }).save(initDir);
  const tokenizer = loadTokenizer(initDir);
  const s = spec.size;
  const ids = { bos_token_id: tokenizer.special.bos, eos_token_id: tokenizer.special.eos };
  const config =
    spec.architecture === 'gpt2'
      ? { model_type: 'gpt2', vocab_size: tokenizer.vocabSize, n_embd: s.hiddenSize, n_layer: s.numLayers, n_head: s.numHeads, n_positions: s.maxPositions, ...ids }
      : {
          model_type: 'llama',
          vocab_size: tokenizer.vocabSize,
          hidden_size: s.hiddenSize,
          intermediate_size: s.intermediateSize,
          num_hidden_layers: s.numLayers,
          num_attention_heads: s.numHeads,
          num_key_value_heads: s.numHeads,
          max_position_embeddings: s.maxPositions,
          rms_norm_eps: 1e-6,
          tie_word_embeddings: false,
          ...ids,
        };
  const model = createDecoder(config, { seed: spec.seed, ...(spec.intraOpThreads ? { intraOpThreads: spec.intraOpThreads } : {}) });
  try {
    await model.save(initDir);
  } finally {
    await model.dispose();
  }
  try {
    const { architecture: _architecture, size: _size, ...training } = spec;
    const result = await adaptGenerator({ ...training, modelDir: initDir, lora: null }, onProgress, signal);
    return { ...result, vocabSize: tokenizer.vocabSize };
  } finally {
    fs.rmSync(initDir, { recursive: true, force: true });
  }
}

/** The loop's settings (every weight trained), and what encoder to build first. */
export interface PretrainEncoderSpec extends Omit<AdaptGeneratorSpec, 'modelDir' | 'lora' | 'heldOutTexts'> {
  architecture: 'bert' | 'roberta';
  size: ModelSize;
  /** Their masked-LM loss is measured after every epoch (and every validateEverySteps); the best weights are saved. */
  heldOutTexts: string[];
  /** Share of the tokens chosen for prediction (default 0.15). */
  maskProbability?: number;
  /** Hidden and attention dropout (default 0.1, as BERT). */
  dropout?: number;
  /** Receives config.json (BertForMaskedLM / RobertaForMaskedLM), model.safetensors and the tokenizer files. */
  outputDir: string;
}

/** Mean cross-entropy (nats) over the masked positions of held-out text, and how many there were. */
export interface HeldOutMlmLoss {
  mlmLoss: number;
  maskedTokens: number;
}

/** Training progress; `validation` comes with the steps that measured the held-out text. */
export type PretrainEncoderProgress = TrainProgress & { validation?: HeldOutMlmLoss };

export interface PretrainEncoderResult {
  steps: number;
  losses: number[];
  /** Tokens in the training windows (special tokens and padding included), and the windows. */
  tokens: number;
  windows: number;
  vocabSize: number;
  trainableParameters: number;
  /** The held-out loss of the fresh weights (about ln V) and of the saved ones; null without held-out texts. */
  heldOutInitial: HeldOutMlmLoss | null;
  heldOut: HeldOutMlmLoss | null;
  validations: Array<{ step: number } & HeldOutMlmLoss>;
  bestStep: number | null;
  stoppedEarly: boolean;
}

export async function pretrainEncoder(spec: PretrainEncoderSpec, onProgress?: (p: PretrainEncoderProgress) => void, signal?: AbortSignal): Promise<PretrainEncoderResult> {
  const s = spec.size;
  const T = spec.seqLen;
  if (T > s.maxPositions) throw new Error(`seqLen ${T} exceeds size.maxPositions ${s.maxPositions}`);
  // 1. Tokenizer (deterministic: a resumed run trains the same one), with the mask token among its specials.
  fs.mkdirSync(spec.outputDir, { recursive: true });
  if (spec.architecture === 'bert') trainWordPiece(spec.texts, { vocabSize: s.vocabSize }).save(spec.outputDir);
  else trainByteLevelBpe(spec.texts, { vocabSize: s.vocabSize, template: 'bos-eos' }).save(spec.outputDir);
  const tokenizer = loadTokenizer(spec.outputDir);
  const sp = tokenizer.special;
  const [first, last] = spec.architecture === 'bert' ? [sp.cls, sp.sep] : [sp.bos, sp.eos];
  if (first === null || last === null || sp.mask === null || sp.pad === null) throw new Error(`the ${spec.architecture} tokenizer lacks a start, end, mask or padding token`);
  const tokens: MaskedLmTokens = {
    first,
    last,
    mask: sp.mask,
    pad: sp.pad,
    vocabSize: tokenizer.vocabSize,
    special: Object.values(sp).filter((id): id is number => id !== null),
  };

  // 2. A fresh encoder with the masked-LM head.
  const dropout = spec.dropout ?? 0.1;
  const common = {
    vocab_size: tokenizer.vocabSize,
    hidden_size: s.hiddenSize,
    num_hidden_layers: s.numLayers,
    num_attention_heads: s.numHeads,
    intermediate_size: s.intermediateSize,
    hidden_dropout_prob: dropout,
    attention_probs_dropout_prob: dropout,
    pad_token_id: sp.pad,
  };
  const config =
    spec.architecture === 'bert'
      ? parseEncoderConfig({ model_type: 'bert', ...common, max_position_embeddings: s.maxPositions, type_vocab_size: 2 })
      : // RoBERTa's positions start at padding_idx + 1
        parseEncoderConfig({ model_type: 'roberta', ...common, max_position_embeddings: s.maxPositions + sp.pad + 1, type_vocab_size: 1, layer_norm_eps: 1e-5, bos_token_id: first, eos_token_id: last });
  const model = EncoderModel.fromConfig(config, {
    head: 'masked-lm',
    seed: spec.seed,
    ...(spec.device ? { device: spec.device } : {}),
    ...(spec.intraOpThreads ? { intraOpThreads: spec.intraOpThreads } : {}),
  });
  try {
    // 3. Windows of T tokens, masked afresh every batch; held-out windows masked once (seeded).
    const ids = (texts: string[]) => texts.map((text) => tokenizer.encode(text, { addSpecialTokens: false }).ids);
    const windows = packWindows(ids(spec.texts), T, tokens);
    if (!windows.length) throw new Error('the texts hold no tokens to pre-train on');
    const source = new MaskedLmBatches(windows, tokens, { maskProbability: spec.maskProbability ?? 0.15 });
    const B = Math.min(spec.batchSize, windows.length);
    const heldWindows = spec.heldOutTexts.length ? packWindows(ids(spec.heldOutTexts), T, tokens) : [];
    const held = heldWindows.length ? new MaskedLmBatches(heldWindows, tokens, { maskProbability: source.maskProbability }).fixedBatches(B, Rng.fromSeed(spec.seed, 'heldout-mask')) : null;
    const heldOutInitial = held ? await heldOutMlmLoss(model, held) : null;
    // 4. The one training loop.
    const { hooks, measured } = heldOutHooks(held ? () => heldOutMlmLoss(model, held) : null, (m) => m.mlmLoss, spec, onProgress, signal);
    const result = await trainLoop(model, source, languageModelTrainConfig(spec, B), hooks);
    // the saved weights' held-out loss: measured when they were validated (a resumed run measures again)
    const heldOut = held ? (measured.get(result.bestStep ?? -1) ?? (await heldOutMlmLoss(model, held))) : null;
    await model.save(spec.outputDir);
    const validations = result.validations.map((v) => ({ step: v.step, ...(measured.get(v.step) ?? { mlmLoss: -v.score, maskedTokens: heldOut?.maskedTokens ?? 0 }) }));
    return {
      steps: result.steps,
      losses: result.losses,
      tokens: windows.length * T,
      windows: windows.length,
      vocabSize: tokenizer.vocabSize,
      trainableParameters: model.specs.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0),
      heldOutInitial,
      heldOut,
      validations,
      bestStep: result.bestStep,
      stoppedEarly: result.stoppedEarly,
    };
  } finally {
    await model.dispose();
  }
}

/** Mean cross-entropy over the masked positions (labels ≠ -100) of fixed batches, without dropout. */
export async function heldOutMlmLoss(model: { forward(batch: EncoderBatch): Promise<Float32Array> }, batches: readonly EncoderBatch[]): Promise<HeldOutMlmLoss> {
  let total = 0;
  let count = 0;
  for (const batch of batches) {
    const logits = await model.forward(batch); // [B,T,V]
    const n = batch.batchSize * batch.seqLen;
    const V = logits.length / n;
    for (let i = 0; i < n; i++) {
      const label = batch.labels![i]!;
      if (label === -100) continue;
      const base = i * V;
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, logits[base + v]!);
      let sum = 0;
      for (let v = 0; v < V; v++) sum += Math.exp(logits[base + v]! - max);
      total += Math.log(sum) + max - logits[base + label]!;
      count++;
    }
  }
  return { mlmLoss: count ? total / count : 0, maskedTokens: count };
}
