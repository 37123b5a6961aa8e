import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EncoderModel, parseEncoderConfig } from '../../src/engine/models/bert/index.js';
import { NonFiniteLossError, latestCheckpoint, tokenClassificationBatches, trainLoop } from '../../src/engine/train/index.js';
import type { TokenClassificationExample, TrainConfig, TrainHooks, TrainProgress } from '../../src/engine/train/index.js';
import { MEDDOCAN_TRAIN, loadMeddocan } from './meddocan.js';

const tmp = await mkdtemp(join(tmpdir(), 'engine-train-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

function tinyModel(vocabSize: number, labels: string[], seed = 1): EncoderModel {
  const config = parseEncoderConfig({
    model_type: 'bert',
    vocab_size: vocabSize,
    hidden_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 128,
    max_position_embeddings: 128,
    id2label: Object.fromEntries(labels.map((l, i) => [i, l])),
  });
  return EncoderModel.fromConfig(config, { seed, intraOpThreads: 2 });
}

/** The loop on token classification, the way trainNer drives it. */
const trainTokenClassification = (model: EncoderModel, examples: TokenClassificationExample[], config: TrainConfig, hooks?: TrainHooks) => trainLoop(model, tokenClassificationBatches(model, examples), config, hooks);

describe('trainLoop on token classification', () => {
  it('should train a tiny encoder from scratch on MEDDOCAN (loss falls below 10% of its start, entities learnt)', async () => {
    const { examples, vocab, labels } = loadMeddocan(MEDDOCAN_TRAIN, { docs: 120, seqLen: 64 });
    const model = tinyModel(vocab.size, labels);
    const progress: TrainProgress[] = [];
    const t0 = performance.now();
    const { losses } = await trainTokenClassification(model, examples, { batchSize: 16, epochs: 6, lr: 2e-3, warmupSteps: 20, seed: 3 }, { onProgress: (p) => progress.push(p) });
    const first = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = losses.slice(-5).reduce((a, b) => a + b) / 5;
    console.log(`MEDDOCAN: ${examples.length} examples, vocab ${vocab.size}, ${labels.length} labels, ${losses.length} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s; loss ${first.toFixed(3)} -> ${last.toFixed(3)}`);
    expect(last).toBeLessThan(0.1 * first);
    // and it has learnt entities, not only 'O' (which alone gives a loss near 0.75): most labelled
    // entity tokens of the training text get their exact BIO label
    let entity = 0;
    let hit = 0;
    for (let i = 0; i < 64; i++) {
      const e = examples[i]!;
      const pred = await model.predict({ batchSize: 1, seqLen: e.inputIds.length, inputIds: e.inputIds });
      e.labels.forEach((l, t) => {
        if (l > 0) {
          entity++;
          if (pred[t] === l) hit++;
        }
      });
    }
    console.log(`MEDDOCAN: ${hit}/${entity} entity tokens labelled exactly`);
    expect(hit / entity).toBeGreaterThan(0.5);
    expect(progress.at(-1)!.percent).toBe(100);
    expect(progress.map((p) => p.step)).toEqual(losses.map((_, i) => i + 1));
  });

  it('should resume from a checkpoint exactly where an uninterrupted run would be', async () => {
    const { examples, vocab, labels } = loadMeddocan(MEDDOCAN_TRAIN, { docs: 10, seqLen: 32 });
    const cfg = { batchSize: 4, epochs: 2, maxSteps: 8, lr: 1e-3, warmupSteps: 2, seed: 5, checkpointEverySteps: 1 };
    const straight = tinyModel(vocab.size, labels, 7);
    const full = await trainTokenClassification(straight, examples, { ...cfg, checkpointDir: join(tmp, 'straight') });

    const dir = join(tmp, 'resumed');
    const a = tinyModel(vocab.size, labels, 7);
    await trainTokenClassification(a, examples, { ...cfg, checkpointDir: dir }, { onProgress: (p) => { if (p.step === 5) throw new Error('simulated crash'); } }).catch((e: Error) => expect(e.message).toBe('simulated crash'));
    expect(await latestCheckpoint(dir)).toBe(join(dir, 'checkpoint-4'));
    const b = tinyModel(vocab.size, labels, 99); // different init: everything must come from the checkpoint
    const resumed = await trainTokenClassification(b, examples, { ...cfg, checkpointDir: dir }, { resume: true });
    expect(resumed.losses).toEqual(full.losses);
    for (const [name, p] of straight.params) expect(Array.from(b.params.get(name)!), name).toEqual(Array.from(p));
  });

  it('should validate after every epoch, keep the best weights, stop early, and resume to the same end', async () => {
    const { examples, vocab, labels } = loadMeddocan(MEDDOCAN_TRAIN, { docs: 6, seqLen: 32 });
    const perEpoch = Math.ceil(examples.length / 4);
    const cfg = { batchSize: 4, epochs: 8, lr: 1e-3, seed: 2, earlyStoppingPatience: 2 };
    // scores by epoch: the best is epoch 2's, epochs 3 and 4 do not beat it, so training stops after 4
    const SCORES = [0.2, 0.6, 0.4, 0.5, 0.9];
    const scoreOf = ({ epoch }: { epoch: number }): Promise<number> => Promise.resolve(SCORES[epoch - 1]!);
    const straight = tinyModel(vocab.size, labels, 3);
    let atBest: Map<string, Float32Array> | null = null;
    const full = await trainTokenClassification(straight, examples, cfg, {
      validate: async (at) => {
        if (at.epoch === 2) atBest = new Map([...straight.params].map(([name, w]) => [name, w.slice()]));
        return scoreOf(at);
      },
    });
    expect(full.validations).toEqual(SCORES.slice(0, 4).map((score, i) => ({ step: (i + 1) * perEpoch, epoch: i + 1, score })));
    expect(full).toMatchObject({ steps: 4 * perEpoch, bestStep: 2 * perEpoch, stoppedEarly: true });
    for (const [name, w] of atBest!) expect(Array.from(straight.params.get(name)!), name).toEqual(Array.from(w));

    // crash in epoch 4: the checkpoint written at the end of epoch 3 holds the best weights beside the current ones
    const dir = join(tmp, 'validated');
    const a = tinyModel(vocab.size, labels, 3);
    const crash = (p: TrainProgress): void => {
      if (p.step === 3 * perEpoch + 1) throw new Error('simulated crash');
    };
    await trainTokenClassification(a, examples, { ...cfg, checkpointDir: dir }, { validate: scoreOf, onProgress: crash }).catch((e: Error) => expect(e.message).toBe('simulated crash'));
    expect(await latestCheckpoint(dir)).toBe(join(dir, `checkpoint-${3 * perEpoch}`));
    const b = tinyModel(vocab.size, labels, 99);
    const resumed = await trainTokenClassification(b, examples, { ...cfg, checkpointDir: dir }, { validate: scoreOf, resume: true });
    expect(resumed.losses).toEqual(full.losses);
    expect(resumed.validations).toEqual(full.validations);
    expect(resumed).toMatchObject({ steps: full.steps, bestStep: full.bestStep, stoppedEarly: true });
    for (const [name, p] of straight.params) expect(Array.from(b.params.get(name)!), name).toEqual(Array.from(p));
    // resuming a finished run trains no further and ends on the same best weights
    const c = tinyModel(vocab.size, labels, 98);
    const again = await trainTokenClassification(c, examples, { ...cfg, checkpointDir: dir }, { validate: scoreOf, resume: true });
    expect(again.steps).toBe(full.steps);
    for (const [name, p] of straight.params) expect(Array.from(c.params.get(name)!), name).toEqual(Array.from(p));
  });

  it('should stop on a NaN loss naming the step and keep the last good checkpoint', async () => {
    const { examples, vocab, labels } = loadMeddocan(MEDDOCAN_TRAIN, { docs: 4, seqLen: 32 });
    const model = tinyModel(vocab.size, labels);
    const dir = join(tmp, 'nan');
    const poison = (p: TrainProgress): void => {
      if (p.step === 2) model.params.get('bert.embeddings.LayerNorm.weight')!.fill(NaN);
    };
    const err = await trainTokenClassification(model, examples, { batchSize: 2, maxSteps: 5, checkpointDir: dir, checkpointEverySteps: 1 }, { onProgress: poison }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as NonFiniteLossError).step).toBe(3);
    expect((err as Error).message).toMatch(/loss became NaN at step 3.*checkpoint-2/);
    expect(await latestCheckpoint(dir)).toBe(join(dir, 'checkpoint-2'));
    const state = JSON.parse(await readFile(join(dir, 'checkpoint-2', 'trainer_state.json'), 'utf8')) as { step: number };
    expect(state.step).toBe(2);
  });

  it('should accumulate micro-batches into one optimizer step and follow a cosine schedule', async () => {
    const { examples, vocab, labels } = loadMeddocan(MEDDOCAN_TRAIN, { docs: 3, seqLen: 32 });
    const data = examples.slice(0, 12);
    const model = tinyModel(vocab.size, labels);
    const seen: TrainProgress[] = [];
    const res = await trainTokenClassification(model, data, { batchSize: 2, gradAccumSteps: 3, epochs: 2, lr: 1e-3, schedule: 'cosine', warmupSteps: 1 }, { onProgress: (p) => seen.push(p) });
    expect(res.steps).toBe(4); // 6 micro-batches per epoch / 3 = 2 steps per epoch
    expect(seen.map((p) => p.epoch)).toEqual([0, 1, 1, 2]);
    expect(seen.map((p) => +p.lr.toExponential(3))).toEqual([0, 1e-3, 7.5e-4, 2.5e-4]); // HF: multiplier at 0-based step s, warm-up 1
    expect(seen.every((p) => Number.isFinite(p.loss) && p.gradNorm > 0)).toBe(true);
  });
});
