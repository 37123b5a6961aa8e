// Pre-training a decoder from scratch: tokenizer and weights from nothing, causal LM on the texts,
// held-out perplexity well under the uniform guess, and a folder that loads and generates.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pretrainDecoder } from '../../src/engine/tasks/index.js';
import { generateTexts } from '../../src/engine/tasks/generate.js';

const TEXTS = Array.from({ length: 80 }, (_, i) => `Paciente número ${i}: dolor torácico de ${20 + (i % 50)} años. Alta médica el día ${1 + (i % 28)} sin complicaciones.`);

describe.each(['gpt2', 'llama'] as const)('pre-training a %s decoder from scratch', (architecture) => {
  it('should learn the texts (held-out perplexity far below uniform) and save a model that generates', async () => {
    const outputDir = join(mkdtempSync(join(tmpdir(), 'pretrain-')), 'model');
    const losses: number[] = [];
    const result = await pretrainDecoder(
      {
        architecture,
        size: { hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 64, vocabSize: 300 },
        texts: TEXTS.slice(0, 70),
        heldOutTexts: TEXTS.slice(70),
        outputDir,
        seqLen: 32,
        batchSize: 8,
        epochs: 30,
        maxSteps: 120,
        lr: 3e-3,
        warmupSteps: 10,
        seed: 1,
        intraOpThreads: 2,
      },
      (p) => losses.push(p.loss),
    );
    expect(result.steps).toBe(120);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! / 2);
    // A uniform guess over the vocabulary has perplexity = vocabSize.
    expect(result.heldOut!.perplexity).toBeLessThan(result.vocabSize / 10);
    const { texts } = await generateTexts({ modelDir: outputDir, prompts: ['Paciente número'], samplesPerPrompt: 1, batchSize: 1, maxNewTokens: 8, temperature: 1, topP: 0.95, topK: null, seed: 1, intraOpThreads: 2 });
    expect(texts[0]!.startsWith('Paciente número')).toBe(true);
  }, 120_000);
});
