/**
 * Pre-training a decoder from scratch (no pretrained weights reach these machines): a byte-level
 * BPE tokenizer trained on the texts, a GPT-2 or LLaMA model of the asked size with fresh weights,
 * then causal language modelling on the texts with the adaptation loop (every weight trained).
 * The result is an ordinary Hugging Face folder that adaptation and generation load.
 */
import fs from 'node:fs';
import { createDecoder } from '../models/registry.js';
import { loadTokenizer, trainByteLevelBpe } from '../tokenizers/index.js';
import { adaptGenerator, type AdaptGeneratorSpec, type AdaptProgress, type AdaptResult } from './adapt.js';

export interface DecoderSize {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** The MLP's width (LLaMA; GPT-2 uses 4 × hiddenSize). */
  intermediateSize: number;
  maxPositions: number;
  vocabSize: number;
}

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
