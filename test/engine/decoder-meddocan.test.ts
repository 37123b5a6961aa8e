import { MEDDOCAN_DIR } from '../support/paths.js';
// A tiny LLaMA trained from scratch on MEDDOCAN text: byte-level BPE trained on the corpus,
// fixed 64-token windows of the token stream, AdamW. In 200 steps the loss must fall by a quarter
// and end below the unigram entropy of the corpus: the model has learned to use the context.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/engine/models/registry.js';
import { AdamW } from '../../src/engine/optim/index.js';
import { loadTokenizer, trainByteLevelBpe } from '../../src/engine/tokenizers/index.js';

const TRAIN = path.join(MEDDOCAN_DIR, 'train');
const B = 8;
const T = 64;

describe('LLaMA from scratch on MEDDOCAN', () => {
  it('should cut its causal-LM loss by a quarter, below the unigram entropy, in 200 AdamW steps', async () => {
    const texts = fs.readdirSync(TRAIN).filter((f) => f.endsWith('.txt')).sort().slice(0, 120).map((f) => fs.readFileSync(path.join(TRAIN, f), 'utf8'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llama-meddocan-'));
    trainByteLevelBpe(texts, { vocabSize: 800, template: 'bos' }).save(dir);
    const tok = loadTokenizer(dir);
    const stream = texts.flatMap((text) => tok.encode(text).ids);
    const windows = Math.floor(stream.length / T);
    const model = createDecoder(
      {
        model_type: 'llama', vocab_size: tok.vocabSize, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2,
        num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: T, rms_norm_eps: 1e-6, tie_word_embeddings: false,
      },
      { seed: 3, intraOpThreads: 2 },
    );
    const opt = new AdamW({ lr: 1e-2, weightDecay: 0.01 });
    const losses: number[] = [];
    for (let step = 0; step < 200; step++) {
      const inputIds: number[] = [];
      for (let b = 0; b < B; b++) {
        const w = (step * B + b) % windows;
        inputIds.push(...stream.slice(w * T, (w + 1) * T));
      }
      const { loss, grads } = await model.lossAndGrads({ batchSize: B, seqLen: T, inputIds, labels: inputIds });
      losses.push(loss);
      opt.step(model.params, grads);
    }
    const first = losses.slice(0, 3).reduce((a, b) => a + b) / 3;
    const last = losses.slice(-3).reduce((a, b) => a + b) / 3;
    console.log(`LLaMA on MEDDOCAN: loss ${first.toFixed(3)} → ${last.toFixed(3)} over ${losses.length} steps (${stream.length} tokens, vocab ${tok.vocabSize})`);
    expect(first).toBeGreaterThan(Math.log(tok.vocabSize) * 0.8);
    const counts = new Map<number, number>();
    for (const id of stream) counts.set(id, (counts.get(id) ?? 0) + 1);
    const unigramEntropy = -[...counts.values()].reduce((h, c) => h + (c / stream.length) * Math.log(c / stream.length), 0);
    console.log(`unigram entropy ${unigramEntropy.toFixed(3)} nats`);
    expect(last).toBeLessThan(first * 0.75);
    expect(last).toBeLessThan(unigramEntropy);
    model.dispose?.();
  });
});
