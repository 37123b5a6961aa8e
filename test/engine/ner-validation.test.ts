// trainNer's explicit validation documents (a dev split, as bench:quality passes): every training
// document is trained on, the given documents are scored after every epoch, and they cannot be
// combined with validationSplit.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { annotateNer, trainNer, type NerDocument, type NerTrainSpec } from '../../src/engine/ner/index.js';

const tmp = await mkdtemp(join(tmpdir(), 'ner-validation-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

const NAMES = ['Juan Pérez', 'Ana López', 'Luis García', 'Marta Ruiz', 'Pedro Gil', 'Rosa Díaz', 'Carlos Sanz', 'Elena Vidal'];
const doc = (name: string, day: number): NerDocument => {
  const date = `${day}/03/2019`;
  const text = `Paciente ${name} ingresa el ${date} por dolor.`;
  const at = text.indexOf(date);
  return { text, spans: [{ start: 9, end: 9 + name.length, label: 'NOMBRE' }, { start: at, end: at + date.length, label: 'FECHAS' }] };
};
const TRAIN = NAMES.slice(0, 6).map((name, i) => doc(name, i + 1));
const DEV = NAMES.slice(6).map((name, i) => doc(name, i + 20));

const spec = (outputDir: string, extra: Partial<NerTrainSpec>): NerTrainSpec => ({
  documents: TRAIN,
  labels: ['NOMBRE', 'FECHAS'],
  outputDir: join(tmp, outputDir),
  base: { scratch: { hiddenSize: 16, numLayers: 1, numHeads: 2, intermediateSize: 32, maxPositions: 64, vocabSize: 120 } },
  chunkWords: 32,
  resume: false,
  seed: 1,
  intraOpThreads: 1,
  train: { epochs: 2, batchSize: 4, lr: 3e-3, seed: 1 },
  ...extra,
});

describe('trainNer with validationDocuments', () => {
  it('should train on every document and validate on the given ones after every epoch', async () => {
    const result = await trainNer(spec('given', { validationDocuments: DEV }));
    expect(result.examples).toBe(TRAIN.length); // one chunk per short document, none held out
    expect(result.validation!.documents).toBe(DEV.length);
    expect(result.validation!.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(result.validation!.bestStep).not.toBeNull();
    const split = await trainNer(spec('split', { validationSplit: 0.5 }));
    expect(split.examples).toBe(TRAIN.length / 2);
  });

  it('should save the training labels\' counted transitions in the config, and tag with or without them', async () => {
    const dir = join(tmp, 'given');
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { id2label: Record<string, string>; bio_transitions: (number | null)[] };
    expect(Object.values(config.id2label)).toEqual(['O', 'B-NOMBRE', 'I-NOMBRE', 'B-FECHAS', 'I-FECHAS']);
    expect(config.bio_transitions).toHaveLength(6 * 5);
    expect(config.bio_transitions[0 * 5 + 2]).toBeNull(); // O → I-NOMBRE
    expect(config.bio_transitions[1 * 5 + 2]).toBeLessThan(0); // B-NOMBRE → I-NOMBRE: a log-probability
    expect(config.bio_transitions[0 * 5 + 1]).toBe(0); // O → B-NOMBRE: no prior on starting an entity
    const documents = DEV.map((d) => ({ text: d.text }));
    for (const transitionWeight of [0, 0.5]) {
      const spans = await annotateNer({ modelDir: dir, documents, chunkWords: 32, batchSize: 4, intraOpThreads: 1, transitionWeight });
      expect(spans).toHaveLength(DEV.length);
    }
  });

  it('should refuse validationDocuments together with validationSplit', async () => {
    await expect(trainNer(spec('both', { validationDocuments: DEV, validationSplit: 0.2 }))).rejects.toThrow(/validationDocuments or validationSplit/);
  });
});
