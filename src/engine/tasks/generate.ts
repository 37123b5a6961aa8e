/**
 * Synthetic notes from prompts: nucleus sampling with a causal LM (GPT-2 or LLaMA, optionally
 * with a LoRA adapter), several samples per prompt, batched with a KV cache, each row's text
 * streamed as it is sampled. Seeded: the same spec gives the same texts.
 */
import { BatchTextStreamer, Rng, generate, loadGenerationConfig, type RngState } from '../generation/index.js';
import { loadModel } from '../models/registry.js';
import type { Device } from '../runtime/session.js';
import { loadTokenizer } from '../tokenizers/index.js';

export interface GenerateTextsSpec {
  /** A Hugging Face folder of a decoder (config.json, model.safetensors, tokenizer.json). */
  modelDir: string;
  prompts: string[];
  samplesPerPrompt: number;
  batchSize: number;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  topK: number | null;
  seed: number;
  /**
   * Positions a text may attend before it goes on from its latest half (generate's contextWindow).
   * Default: a GPT-2's max_position_embeddings (its learned positions end there); none for LLaMA.
   * Give the training windows' length when the model was trained on shorter ones.
   */
  contextWindow?: number | null;
  device?: Device;
  intraOpThreads?: number;
  /** Continue after the first `done` sequences (a multiple of batchSize) with the generator state saved then. */
  resume?: { done: number; rngState: RngState; newTokens: number };
}

export type GenerateTextsProgress =
  /** A piece of sequence `index`'s new text (whole words); `final` on its last piece. */
  | { kind: 'text'; index: number; text: string; final: boolean }
  | { kind: 'progress'; done: number; total: number; newTokens: number }
  /** A finished batch: sequences start.. with their full texts, and what resuming after them needs. */
  | { kind: 'batch'; start: number; texts: string[]; resume: { done: number; rngState: RngState; newTokens: number } };

export interface GenerateTextsResult {
  /**
   * Sequence i = prompt ⌊i / samplesPerPrompt⌋ (verbatim) followed by exactly the text streamed
   * for it; sample i mod samplesPerPrompt. When resumed, only the sequences generated in this run.
   */
  texts: string[];
  newTokens: number;
}

export async function generateTexts(spec: GenerateTextsSpec, onProgress?: (p: GenerateTextsProgress) => void, signal?: AbortSignal): Promise<GenerateTextsResult> {
  const loaded = await loadModel(spec.modelDir, { frozen: true, ...(spec.device ? { device: spec.device } : {}), ...(spec.intraOpThreads ? { intraOpThreads: spec.intraOpThreads } : {}) });
  if (loaded.kind !== 'decoder') throw new Error(`${loaded.modelType} is not a causal language model; generation needs gpt2 or llama`);
  const model = loaded.model;
  const tokenizer = loadTokenizer(spec.modelDir);
  try {
    const config = loadGenerationConfig(spec.modelDir, {
      maxNewTokens: spec.maxNewTokens,
      doSample: true,
      temperature: spec.temperature,
      topP: spec.topP,
      ...(spec.topK ? { topK: spec.topK } : {}),
    });
    const window = spec.contextWindow ?? (model.config.modelType === 'gpt2' ? model.config.maxPositionEmbeddings : null);
    if (window !== null) config.contextWindow = window;
    // One generator across batches, so the whole corpus follows from one seed (and a resumed run
    // continues it from its saved state: same batches, same draws).
    if (spec.resume && spec.resume.done % spec.batchSize !== 0) throw new Error(`resume.done ${spec.resume.done} is not a multiple of the batch size ${spec.batchSize}`);
    const rng = spec.resume ? Rng.fromState(spec.resume.rngState) : Rng.fromSeed(spec.seed);
    const jobs = spec.prompts.flatMap((prompt) => Array.from({ length: spec.samplesPerPrompt }, () => prompt));
    const texts: string[] = [];
    let newTokens = spec.resume?.newTokens ?? 0;
    for (let at = spec.resume?.done ?? 0; at < jobs.length; at += spec.batchSize) {
      if (signal?.aborted) throw new Error('generation cancelled');
      const prompts = jobs.slice(at, at + spec.batchSize);
      const continuations = prompts.map(() => '');
      const streamer = new BatchTextStreamer(tokenizer, (row, text, final) => {
        continuations[row] += text;
        onProgress?.({ kind: 'text', index: at + row, text, final });
      });
      const out = await generate(model, prompts.map((p) => tokenizer.encode(p).ids), config, { streamer, rng, ...(signal ? { signal } : {}) });
      // The prompt as written (decoding its tokens could tidy its spacing), then the new text.
      const batch = prompts.map((prompt, row) => prompt + continuations[row]);
      texts.push(...batch);
      newTokens += out.newTokens.reduce((n, row) => n + row.length, 0);
      const done = at + prompts.length;
      onProgress?.({ kind: 'batch', start: at, texts: batch, resume: { done, rngState: rng.state, newTokens } });
      onProgress?.({ kind: 'progress', done, total: jobs.length, newTokens });
    }
    return { texts, newTokens };
  } finally {
    model.dispose();
  }
}
