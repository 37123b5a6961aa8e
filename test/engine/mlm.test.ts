// Masked-LM pre-training of encoders from scratch: BERT's masking (rates, special tokens never
// masked, at least one per window, deterministic from the loop's rng), a tiny BERT and a tiny
// RoBERTa learning real clinical text (held-out MLM loss far below the uniform ln V), the saved
// Hugging Face folder fine-tuning as a tagger and refused for tagging, and a killed run resumed
// to the same losses and weights as an uninterrupted one.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/engine/io/safetensors.js';
import { EncoderModel } from '../../src/engine/models/bert/index.js';
import { annotateNer } from '../../src/engine/ner/index.js';
import { pretrainEncoder, type PretrainEncoderSpec } from '../../src/engine/tasks/index.js';
import { MaskedLmBatches, Rng, latestCheckpoint, packWindows, type MaskedLmTokens } from '../../src/engine/train/index.js';
import { MEDDOCAN_DIR } from '../support/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'engine-mlm-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// 200 short clinical texts: the first 600 characters of MEDDOCAN training notes (their header and
// the start of the case; the annotations are not used).
const TEXT_DIR = join(MEDDOCAN_DIR, 'train');
const TEXTS = readdirSync(TEXT_DIR)
  .filter((f) => f.endsWith('.txt'))
  .sort()
  .slice(0, 200)
  .map((f) => readFileSync(join(TEXT_DIR, f), 'utf8').slice(0, 600));

// ids 0–4 special, 5–99 ordinary
const TOKENS: MaskedLmTokens = { first: 2, last: 3, mask: 4, pad: 0, vocabSize: 100, special: [1] };

describe(MaskedLmBatches.name, () => {
  const windows = packWindows(
    Array.from({ length: 400 }, (_, i) => Array.from({ length: 30 + (i % 7) }, (_, t) => 5 + ((i * 31 + t * 7) % 95))),
    64,
    TOKENS,
  );

  it('should pack texts into windows opened and closed by the special tokens, the last one padded', () => {
    const w = packWindows([[], [5, 6, 7], [], [8, 9]], 5, TOKENS);
    expect(w).toEqual([
      [2, 5, 6, 7, 3],
      [2, 3, 8, 9, 3],
    ]);
    expect(packWindows([[5, 6, 7, 8]], 5, TOKENS)).toEqual([
      [2, 5, 6, 7, 3],
      [2, 8, 3, 0, 0],
    ]);
  });

  it('should mask 15% of the ordinary tokens: 80% [MASK], 10% random, 10% unchanged; labels -100 elsewhere', () => {
    const source = new MaskedLmBatches(windows, TOKENS);
    const batch = source.batch(
      windows.map((_, i) => i),
      Rng.fromSeed(1, 'batches'),
    );
    let ordinary = 0;
    let chosen = 0;
    let masked = 0;
    let random = 0;
    let same = 0;
    const original = windows.flat();
    for (let i = 0; i < original.length; i++) {
      const label = batch.labels![i]!;
      const input = batch.inputIds[i]!;
      if (original[i]! < 5) {
        expect(label).toBe(-100);
        expect(input).toBe(original[i]);
        continue;
      }
      ordinary++;
      if (label === -100) {
        expect(input).toBe(original[i]);
        continue;
      }
      chosen++;
      expect(label).toBe(original[i]);
      if (input === TOKENS.mask) masked++;
      else if (input === original[i]) same++;
      else {
        random++;
        expect(input).toBeGreaterThanOrEqual(5); // replacements are never special tokens
      }
    }
    expect(chosen / ordinary).toBeCloseTo(0.15, 2);
    expect(masked / chosen).toBeCloseTo(0.8, 1);
    expect(random / chosen).toBeCloseTo(0.1 * (94 / 95), 1);
    expect(same / chosen).toBeCloseTo(0.1 + 0.1 / 95, 1);
    // padding is ignored by attention
    expect(Array.from(batch.attentionMask!).filter((m) => m === 0).length).toBe(original.filter((id) => id === TOKENS.pad).length);
  });

  it('should choose at least one token in every window, even at a tiny maskProbability', () => {
    const source = new MaskedLmBatches(windows, TOKENS, { maskProbability: 0.001 });
    const batch = source.batch(
      windows.map((_, i) => i),
      Rng.fromSeed(2),
    );
    const T = batch.seqLen;
    for (let b = 0; b < batch.batchSize; b++) expect(Array.from(batch.labels!).slice(b * T, (b + 1) * T).filter((l) => l !== -100).length).toBeGreaterThanOrEqual(1);
  });

  it('should draw its masks only from the rng it is given', () => {
    const source = new MaskedLmBatches(windows, TOKENS);
    const [a, b] = [Rng.fromSeed(7), Rng.fromSeed(7)];
    const first = source.batch([3, 1, 4], a);
    expect(source.batch([3, 1, 4], b)).toEqual(first);
    expect(a.state).toEqual(b.state);
    expect(source.batch([3, 1, 4], a).inputIds).not.toEqual(first.inputIds);
  });

  it('should refuse a maskProbability outside (0, 1)', () => {
    expect(() => new MaskedLmBatches(windows, TOKENS, { maskProbability: 1 })).toThrow(/maskProbability/);
  });
});

const SIZE = { hiddenSize: 64, numLayers: 2, numHeads: 2, intermediateSize: 128, maxPositions: 64, vocabSize: 500 };

function spec(architecture: 'bert' | 'roberta', name: string, extra: Partial<PretrainEncoderSpec> = {}): PretrainEncoderSpec {
  return {
    architecture,
    size: SIZE,
    texts: TEXTS.slice(0, 180),
    heldOutTexts: TEXTS.slice(180),
    outputDir: join(tmp, name, 'model'),
    seqLen: 32,
    batchSize: 16,
    epochs: 3,
    maxSteps: 150,
    lr: 5e-3,
    warmupSteps: 10,
    seed: 3,
    dropout: 0,
    intraOpThreads: 2,
    ...extra,
  };
}

async function weights(dir: string): Promise<Map<string, number[]>> {
  return new Map([...(await readSafetensors(join(dir, 'model.safetensors')))].map(([name, t]) => [name, Array.from(t.data as Float32Array)]));
}

describe.each(['bert', 'roberta'] as const)('masked-LM pre-training of a %s encoder from scratch', (architecture) => {
  it('should learn clinical text (held-out MLM loss far below ln V) and save a Hugging Face folder a tagger fine-tunes', async () => {
    const s = spec(architecture, `${architecture}-learn`);
    const result = await pretrainEncoder(s);
    const lnV = Math.log(result.vocabSize);
    console.log(`${architecture}: V ${result.vocabSize} (ln V ${lnV.toFixed(3)}), ${result.windows} windows; train loss ${result.losses[0]!.toFixed(3)} → ${result.losses.at(-1)!.toFixed(3)}; held-out MLM loss ${result.heldOutInitial!.mlmLoss.toFixed(3)} → ${result.heldOut!.mlmLoss.toFixed(3)} on ${result.heldOut!.maskedTokens} masked tokens`);
    expect(result.steps).toBe(150);
    expect(result.heldOutInitial!.mlmLoss).toBeCloseTo(lnV, 0); // fresh weights: about uniform
    expect(result.heldOut!.mlmLoss).toBeLessThan(lnV - 1); // perplexity under V / e
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(result.losses.slice(-10))).toBeLessThan(mean(result.losses.slice(0, 10)) - 0.5);

    // A Hugging Face *ForMaskedLM folder: config, weights with the head (decoder tied: no decoder.weight), tokenizer with its mask token.
    const config = JSON.parse(readFileSync(join(s.outputDir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ model_type: architecture, architectures: [architecture === 'bert' ? 'BertForMaskedLM' : 'RobertaForMaskedLM'], vocab_size: result.vocabSize });
    const names = [...(await weights(s.outputDir)).keys()];
    const head = architecture === 'bert' ? ['cls.predictions.transform.dense.weight', 'cls.predictions.transform.LayerNorm.weight', 'cls.predictions.bias'] : ['lm_head.dense.weight', 'lm_head.layer_norm.weight', 'lm_head.bias'];
    expect(names).toEqual(expect.arrayContaining([`${architecture}.embeddings.word_embeddings.weight`, ...head]));
    expect(names.some((n) => n.includes('decoder'))).toBe(false);
    const tokenizer = JSON.parse(readFileSync(join(s.outputDir, 'tokenizer.json'), 'utf8'));
    const tokenizerConfig = JSON.parse(readFileSync(join(s.outputDir, 'tokenizer_config.json'), 'utf8'));
    const mask = architecture === 'bert' ? '[MASK]' : '<mask>';
    expect(tokenizerConfig.mask_token).toBe(mask);
    expect(tokenizer.added_tokens.map((t: { content: string }) => t.content)).toContain(mask);
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    const auto = await AutoTokenizer.from_pretrained(s.outputDir, { local_files_only: true });
    expect(auto.mask_token).toBe(mask);
    expect(auto.encode(`Paciente ${mask} años`)).toContain(auto.mask_token_id);

    // The body loads under a fresh token-classification head; the masked-LM head is left behind.
    const tagger = await EncoderModel.fromPretrained(s.outputDir, { id2label: { 0: 'O', 1: 'B-X', 2: 'I-X' } });
    const body = await weights(s.outputDir);
    const name = `${architecture}.encoder.layer.1.output.dense.weight`;
    expect(Array.from(tagger.params.get(name)!)).toEqual(body.get(name));
    expect([...tagger.params.keys()].some((n) => n.startsWith('cls.') || n.startsWith('lm_head.'))).toBe(false);
    expect(tagger.params.get('classifier.weight')!.length).toBe(3 * SIZE.hiddenSize);
    await tagger.dispose();
    // It has no labels: tagging with it is refused.
    await expect(annotateNer({ modelDir: s.outputDir, documents: [{ text: 'Paciente de 30 años.' }], chunkWords: 32, batchSize: 1 })).rejects.toThrow(/masked-LM.*no labels.*trainNerModel/);
  }, 120_000);
});

describe('masked-LM pre-training with checkpoints', () => {
  it('should resume a killed run to the same losses, masks and weights as an uninterrupted one', async () => {
    const short = { texts: TEXTS.slice(0, 40), heldOutTexts: TEXTS.slice(40, 44), maxSteps: 9, batchSize: 4, dropout: 0.1, size: { ...SIZE, hiddenSize: 32, numLayers: 1, vocabSize: 300 } };
    const straight = await pretrainEncoder(spec('roberta', 'straight', { ...short, validateEverySteps: 3 }));
    const checkpointDir = join(tmp, 'ckpt');
    const crashing = spec('roberta', 'resumed', { ...short, validateEverySteps: 3, checkpointDir, checkpointEverySteps: 2 });
    await expect(
      pretrainEncoder(crashing, (p) => {
        if (p.step === 5) throw new Error('simulated crash');
      }),
    ).rejects.toThrow('simulated crash');
    expect(await latestCheckpoint(checkpointDir)).toBe(join(checkpointDir, 'checkpoint-4'));
    const resumed = await pretrainEncoder({ ...crashing, resume: true });
    expect(resumed.steps).toBe(9);
    expect(resumed.losses).toEqual(straight.losses);
    expect(resumed.validations.map((v) => v.step)).toEqual([3, 6, 9]);
    expect(resumed.heldOut).toEqual(straight.heldOut);
    const [a, b] = [await weights(crashing.outputDir), await weights(spec('roberta', 'straight').outputDir)];
    for (const [name, w] of b) expect(a.get(name), name).toEqual(w);
  }, 120_000);
});
