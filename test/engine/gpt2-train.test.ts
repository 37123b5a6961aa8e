// End to end on a from-scratch GPT-2: train a byte-level BPE tokenizer, size the model to it,
// take a few gradient steps, and stream generated text back through the tokenizer.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generate, TextStreamer } from '../../src/engine/generation/index.js';
import { loadConfig } from '../../src/engine/models/registry.js';
import { createDecoder, loadModel } from '../../src/engine/models/registry.js';
import { checkVocabFits, loadTokenizer, trainByteLevelBpe } from '../../src/engine/tokenizers/index.js';

const TEXTS = Array.from({ length: 60 }, (_, i) => `Paciente número ${i}: dolor torácico de ${20 + (i % 50)} años. Alta médica el día ${1 + (i % 28)}.`);

describe('GPT-2 from scratch', () => {
  it('should train on texts encoded with its own tokenizer, save, reload and stream generated text', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gpt2-scratch-'));
    trainByteLevelBpe(TEXTS, { vocabSize: 320 }).save(dir);
    const tok = loadTokenizer(dir);
    const model = createDecoder(
      { model_type: 'gpt2', vocab_size: tok.vocabSize, n_embd: 32, n_layer: 2, n_head: 2, n_positions: 64, bos_token_id: tok.special.bos, eos_token_id: tok.special.eos },
      { seed: 1, intraOpThreads: 2 },
    );
    checkVocabFits(tok, model.config);
    expect(() => checkVocabFits(tok, { ...model.config, vocabSize: 100 })).toThrow(/vocab_size 100/);

    const rows = TEXTS.slice(0, 8).map((t) => tok.encode(t).ids);
    const T = Math.max(...rows.map((r) => r.length));
    const ids = rows.flatMap((r) => [...r, ...new Array(T - r.length).fill(tok.special.pad)]);
    const mask = rows.flatMap((r) => [...r.map(() => 1), ...new Array(T - r.length).fill(0)]);
    const labels = ids.map((id, i) => (mask[i] ? id : -100));
    const batch = { batchSize: rows.length, seqLen: T, inputIds: ids, attentionMask: mask, labels };
    const losses: number[] = [];
    for (let step = 0; step < 8; step++) {
      const { loss, grads } = await model.lossAndGrads(batch);
      losses.push(loss);
      for (const [n, g] of grads) {
        const p = model.params.get(n)!;
        for (let i = 0; i < p.length; i++) p[i]! -= 0.5 * g[i]!;
      }
    }
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.9);

    await model.save(dir);
    expect(loadConfig(dir).vocabSize).toBe(tok.vocabSize);
    const loaded = await loadModel(dir);
    if (loaded.kind !== 'decoder') throw new Error('expected a decoder');
    const pieces: string[] = [];
    const prompt = tok.encode('Paciente').ids;
    const out = await generate(loaded.model, [prompt], { maxNewTokens: 12 }, { streamer: new TextStreamer(tok, { onText: (t) => pieces.push(t) }) });
    expect(pieces.join('')).toBe(tok.decode(out.newTokens[0]!));
    expect(out.newTokens[0]).toHaveLength(12);
    await model.dispose();
    await loaded.model.dispose();
  });
});
