/**
 * Experiments through the API at toy scale: the whole method from one mutation, a result table,
 * live events, reuse of identical steps across experiments, a dry run, the privacy guard, bad
 * input refused before anything runs, and an outsider refused everywhere.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipSync } from 'fflate';
import { ApiClient } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { HF_TINY } from '../support/paths.js';
import { base64, meddocanZip } from '../support/meddocan.js';

const SCRATCH = { hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 256, vocabSize: 1000 };
const TAGGER = { scratch: SCRATCH, epochs: 2, maxSteps: 6, batchSize: 8, learningRate: 0.003 };

const CREATE = `mutation($input: CreateExperimentInput!, $dryRun: Boolean) {
  createExperiment(input: $input, dryRun: $dryRun) { stepsToRun stepsReused experiment { id status } steps { name kind action inputHash jobId } }
}`;
const EXPERIMENT = `query($id: ID!) { experiment(id: $id) {
  id status error finishedAt
  steps { name kind status reused jobId inputHash job { id status device durationSeconds } }
  results {
    annotatorModelId syntheticTaggerModelId generatedDocuments syntheticDocuments syntheticCorpusId
    gold { jobId documents scorers { family micro { f1 ciLow ciHigh } perLabel { label f1 } } }
    synthetic { jobId scorers { family micro { f1 } perLabel { label f1 } } }
    comparison { documents metrics { metric difference pValue } }
    guard { action checked flagged removed kept ngramOverlap copiedPassage phiStrings }
    privacy { syntheticDocuments ngramOverlap { corpus } }
  }
} }`;

describe('experiments (embedded database)', () => {
  let server: TestServer;
  let api: ApiClient;
  let corpusId: string;
  let generatorId: string;
  let outsider: ApiClient;

  const spec = (overrides: Record<string, unknown> = {}) => ({
    name: 'toy',
    corpusId,
    seed: 3,
    annotator: TAGGER,
    // The synthetic tagger picks its best epoch on a quarter of the synthetic notes.
    syntheticTagger: { ...TAGGER, validationSplit: 0.25, earlyStoppingPatience: 1 },
    generator: { baseModelId: generatorId, adaptation: { seqLen: 32, batchSize: 4, maxSteps: 3, learningRate: 0.01 } },
    generation: { maxPrompts: 4, samplesPerPrompt: 2, maxNewTokens: 16 },
    guard: { action: 'FLAG' },
    evaluation: { bootstrapResamples: 50 },
    ...overrides,
  });

  beforeAll(async () => {
    server = await startTestServer('embedded');
    api = new ApiClient(server.url, server.adminToken);
    const { importCorpus } = await api.query(`mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`, {
      input: { name: 'real', fileName: 'meddocan.zip', contentBase64: base64(meddocanZip({ train: 16, dev: 4, test: { from: 'dev', skip: 4, take: 4 } }).bytes) },
    });
    corpusId = (await api.waitForJob(importCorpus.id)).result.corpusId;
    const files = Object.fromEntries(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => [f, fs.readFileSync(path.join(HF_TINY, 'gpt2-tiny', f))]));
    const { importModel } = await api.query(`mutation($input: ImportModelInput!) { importModel(input: $input) { id } }`, { input: { name: 'gpt2', kind: 'GENERATOR', contentBase64: base64(zipSync(files)) } });
    generatorId = importModel.id;
    const { createUser } = await api.query(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, { input: { email: 'outsider@example.org', name: 'outsider', role: 'RESEARCHER' } });
    const { createApiToken } = await api.query(`mutation($id: ID!) { createApiToken(userId: $id, name: "t") { secret } }`, { id: createUser.id });
    outsider = new ApiClient(server.url, createApiToken.secret);
  });
  afterAll(async () => server?.stop());

  const waitForExperiment = async (id: string, timeoutMs = 300_000) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { experiment } = await api.query(EXPERIMENT, { id });
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(experiment.status)) return experiment;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`experiment ${id} did not finish`);
  };

  it('should refuse bad specs before anything runs, naming the field', async () => {
    const { jobs: before } = await api.query(`{ jobs { totalCount } }`);
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ testSplit: 'train' }, 'BAD_USER_INPUT', /splits\.test/],
      [{ testSplit: 'dev' }, 'BAD_USER_INPUT', /splits\.test.*prompt/],
      [{ promptSplit: 'nope' }, 'BAD_USER_INPUT', /splits\.prompt.*"nope"/],
      [{ annotator: { ...TAGGER, fraction: 0 } }, 'BAD_USER_INPUT', /annotator\.fraction/],
      [{ annotator: { ...TAGGER, fraction: 1.5 } }, 'BAD_USER_INPUT', /annotator\.fraction/],
      [{ annotator: { ...TAGGER, unsureBelow: 0 } }, 'BAD_USER_INPUT', /annotator\.unsureBelow/],
      [{ generator: { baseModelId: generatorId, adaptation: { fraction: 0 } } }, 'BAD_USER_INPUT', /generator\.adaptation\.fraction/],
      [{ generation: { topP: 0 } }, 'BAD_USER_INPUT', /generation\.topP/],
      [{ syntheticTagger: { ...TAGGER, validationSplit: 1 } }, 'BAD_USER_INPUT', /syntheticTagger\.validationSplit/],
      [{ corpusId: '00000000-0000-0000-0000-000000000000' }, 'NOT_FOUND', /Corpus/],
      [{ generator: { baseModelId: '00000000-0000-0000-0000-000000000000' } }, 'NOT_FOUND', /Model/],
    ];
    for (const [overrides, code, message] of cases) {
      const result = await api.raw(CREATE, { input: spec(overrides) });
      expect(result.errors?.[0]?.extensions?.code, JSON.stringify(overrides)).toBe(code);
      expect(result.errors?.[0]?.message).toMatch(message);
    }
    const { jobs: after } = await api.query(`{ jobs { totalCount } }`);
    expect(after.totalCount).toBe(before.totalCount);
  });

  it('should run the method from one mutation, stream it, and give a result table', async () => {
    const { createExperiment: dry } = await api.query(CREATE, { input: spec(), dryRun: true });
    expect(dry.experiment).toBeNull();
    expect(dry.steps.map((s: { name: string }) => s.name)).toEqual([
      'annotator', 'generator', 'generation', 'guard', 'annotation', 'synthetic_tagger',
      'annotate_test_gold', 'evaluate_gold', 'annotate_test_synthetic', 'evaluate_synthetic', 'privacy_report',
    ]);
    expect(dry).toMatchObject({ stepsToRun: 11, stepsReused: 0 });

    const { createExperiment } = await api.query(CREATE, { input: spec() });
    const id = createExperiment.experiment.id;
    expect(createExperiment.steps.filter((s: { action: string }) => s.action === 'RUN').map((s: { name: string }) => s.name)).toEqual(['annotator', 'generator']);

    // Live: transitions until the experiment ends (the stream opens with the current state).
    const ws = api.ws();
    const events = await api.collect(ws, `subscription($id: ID!) { experimentEvents(id: $id, tokens: true) { kind status step jobId progress metricName text } }`, { id });
    await ws.dispose();
    const kinds = new Set(events.map((e) => e.experimentEvents.kind));
    expect(events.at(-1)!.experimentEvents).toMatchObject({ kind: 'EXPERIMENT', status: 'SUCCEEDED' });
    expect(kinds.has('STEP')).toBe(true);
    const succeededSteps = new Set(events.filter((e) => e.experimentEvents.kind === 'STEP' && e.experimentEvents.status === 'SUCCEEDED').map((e) => e.experimentEvents.step));
    expect(succeededSteps.has('privacy_report')).toBe(true);

    const experiment = await waitForExperiment(id);
    expect(experiment.status).toBe('SUCCEEDED');
    expect(experiment.steps).toHaveLength(11);
    for (const step of experiment.steps) {
      expect(step).toMatchObject({ status: 'SUCCEEDED', reused: false });
      expect(step.inputHash).toMatch(/^[0-9a-f]{64}$/);
      expect(step.job).toMatchObject({ status: 'SUCCEEDED', device: 'cpu' });
    }
    const r = experiment.results;
    expect(r.generatedDocuments).toBe(8);
    expect(r.guard).toMatchObject({ action: 'FLAG', checked: 8, removed: 0, kept: 8 });
    expect(r.syntheticDocuments).toBe(8);
    expect(r.gold.documents).toBe(4);
    const entity = r.gold.scorers.find((s: { family: string }) => s.family === 'entity');
    expect(entity.micro.f1).toBeGreaterThanOrEqual(0);
    expect(entity.micro.ciLow).not.toBeNull();
    expect(r.synthetic.scorers.map((s: { family: string }) => s.family)).toContain('token');
    expect(r.comparison.metrics.map((m: { metric: string }) => m.metric)).toContain('entity');
    expect(r.privacy.syntheticDocuments).toBe(8);

    // Every metric row of the steps it ran is filed under the experiment.
    const counts = await api.query(`query($id: ID!) {
      loss: metrics(filter: { experimentId: $id, name: "train_loss" }) { totalCount }
      f1: metrics(filter: { experimentId: $id, name: "entity_f1" }) { totalCount }
      overlap: metrics(filter: { experimentId: $id, name: "ngram5_overlap" }) { totalCount }
      validation: metrics(filter: { experimentId: $id, name: "val_entity_f1" }) { totalCount }
    }`, { id });
    expect(counts.validation.totalCount).toBeGreaterThan(0);
    expect(counts.loss.totalCount).toBeGreaterThan(0);
    const entityRows = (e: { scorers: { family: string; perLabel: unknown[] }[] }) => 1 + e.scorers.find((s) => s.family === 'entity')!.perLabel.length;
    expect(counts.f1.totalCount).toBe(entityRows(r.gold) + entityRows(r.synthetic));
    expect(counts.overlap.totalCount).toBe(1);
  });

  it('should reuse the steps a second experiment shares, with no second job', async () => {
    const { jobs: trainings } = await api.query(`{ jobs(type: "TRAIN_NER") { totalCount } }`);
    // Same annotator and generator; other sampling seed: generation and what follows it run again.
    const other = spec({ name: 'other seed', generation: { maxPrompts: 4, samplesPerPrompt: 2, maxNewTokens: 16, seed: 99 } });
    const { createExperiment: dry } = await api.query(CREATE, { input: other, dryRun: true });
    const planned = Object.fromEntries(dry.steps.map((s: { name: string; action: string }) => [s.name, s.action]));
    expect(planned).toMatchObject({ annotator: 'REUSE', generator: 'REUSE', generation: 'RUN', annotate_test_gold: 'REUSE', evaluate_gold: 'REUSE', evaluate_synthetic: 'RUN' });

    const { createExperiment } = await api.query(CREATE, { input: other });
    const second = await waitForExperiment(createExperiment.experiment.id);
    expect(second.status).toBe('SUCCEEDED');
    const { experiments } = await api.query(`{ experiments(first: 10) { edges { node { id name steps { name reused jobId } } } } }`);
    const first = experiments.edges.find((e: { node: { name: string } }) => e.node.name === 'toy').node;
    const stepOf = (exp: { steps: { name: string; reused: boolean; jobId: string }[] }, name: string) => exp.steps.find((s) => s.name === name)!;
    for (const name of ['annotator', 'generator', 'annotate_test_gold', 'evaluate_gold']) {
      expect(stepOf(second, name), name).toMatchObject({ reused: true, jobId: stepOf(first, name).jobId });
    }
    expect(stepOf(second, 'generation').reused).toBe(false);
    // One more tagger trained (the synthetic one), not two.
    const { jobs: after } = await api.query(`{ jobs(type: "TRAIN_NER") { totalCount } }`);
    expect(after.totalCount).toBe(trainings.totalCount + 1);

    // The same spec again: everything would be reused.
    const { createExperiment: again } = await api.query(CREATE, { input: spec(), dryRun: true });
    expect(again).toMatchObject({ stepsToRun: 0, stepsReused: 11 });
    // With unsureBelow the annotation of the synthetic notes differs, and so does all that learns from it
    const { createExperiment: unsure } = await api.query(CREATE, { input: spec({ annotator: { ...TAGGER, unsureBelow: 0.9 } }), dryRun: true });
    const actions = Object.fromEntries(unsure.steps.map((s: { name: string; action: string }) => [s.name, s.action]));
    expect(actions).toMatchObject({ annotator: 'REUSE', generation: 'REUSE', guard: 'REUSE', annotate_test_gold: 'REUSE', annotation: 'RUN', synthetic_tagger: 'RUN' });
  });

  it('should drop planted notes that copy the training text or its PHI, and say why with numbers only', async () => {
    const train = Object.entries(meddocanZip({ train: 16 }).files).filter(([name]) => name.endsWith('.txt')).map(([, bytes]) => Buffer.from(bytes).toString('utf8').replace(/^\uFEFF/, ''));
    const { corpus: real } = await api.query(`query($id: ID!) { corpus(id: $id) { documents(first: 1, split: "train") { edges { node { text annotations { start end label } } } } } }`, { id: corpusId });
    const doc = real.documents.edges[0].node;
    // The longest PHI string of a training note (a name or an address; short ones like "Mujer" are not counted).
    const span = doc.annotations.reduce((a: { start: number; end: number }, b: { start: number; end: number }) => (b.end - b.start > a.end - a.start ? b : a));
    const name = Array.from(doc.text as string).slice(span.start, span.end).join('');
    expect(name.length).toBeGreaterThanOrEqual(8);
    const notes = [
      { id: 'copied-1', text: train[0]! },
      { id: 'copied-2', text: train[1]!.slice(0, 600) },
      { id: 'phi-only', text: `Paciente ingresado por dolor abdominal. Consta en el informe: ${name}. Viene acompañado.` },
      { id: 'fresh-1', text: 'Varón de edad media con fiebre de tres días, tos seca y astenia. Se pauta paracetamol y reposo.' },
      { id: 'fresh-2', text: 'Mujer joven con cefalea pulsátil de predominio matutino, sin focalidad neurológica en la exploración.' },
    ];
    const jsonl = notes.map((n) => JSON.stringify({ ...n, spans: [] })).join('\n');
    const { importCorpus } = await api.query(`mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`, { input: { name: 'planted', fileName: 'planted.jsonl', contentBase64: base64(Buffer.from(jsonl)) } });
    const syntheticCorpusId = (await api.waitForJob(importCorpus.id)).result.corpusId;

    const { runPrivacyGuard } = await api.query(`mutation($input: RunPrivacyGuardInput!) { runPrivacyGuard(input: $input) { id } }`, {
      input: { name: 'guarded', syntheticCorpusId, realCorpusId: corpusId, realSplit: 'train', action: 'DROP' },
    });
    const job = await api.waitForJob(runPrivacyGuard.id);
    expect(job.status).toBe('SUCCEEDED');
    expect(job.result).toMatchObject({ action: 'DROP', checked: 5, flagged: 3, removed: 3, kept: 2, reasons: { ngramOverlap: 2, copiedPassage: 2 } });
    expect(job.result.reasons.phiStrings).toBeGreaterThanOrEqual(1);
    const byId = Object.fromEntries(job.result.notes.map((n: { id: string }) => [n.id, n]));
    expect(Object.keys(byId).sort()).toEqual(['copied-1', 'copied-2', 'phi-only']);
    expect(byId['copied-1']).toMatchObject({ ngramOverlap: 1, reasons: expect.arrayContaining(['NGRAM_OVERLAP', 'COPIED_PASSAGE']) });
    expect(byId['phi-only'].reasons).toContain('PHI_STRINGS');
    // The result names notes and numbers, never their text.
    expect(JSON.stringify(job.result)).not.toContain(name);
    const kept = await api.query(`query($id: ID!) { corpus(id: $id) { kind documents(first: 10) { edges { node { externalId } } } } }`, { id: job.result.corpusId });
    expect(kept.corpus.kind).toBe('SYNTHETIC');
    expect(kept.corpus.documents.edges.map((e: { node: { externalId: string } }) => e.node.externalId)).toEqual(['fresh-1', 'fresh-2']);
    expect(await api.errorCode(`mutation($input: RunPrivacyGuardInput!) { runPrivacyGuard(input: $input) { id } }`, { input: { name: 'x', syntheticCorpusId, realCorpusId: corpusId, maxNgramOverlap: 2 } })).toBe('BAD_USER_INPUT');
  });

  it('should cancel a running experiment and delete one without touching what another reuses', async () => {
    const { createExperiment } = await api.query(CREATE, { input: spec({ name: 'to cancel', seed: 11 }) });
    const { cancelExperiment } = await api.query(`mutation($id: ID!) { cancelExperiment(id: $id) { status error } }`, { id: createExperiment.experiment.id });
    expect(cancelExperiment).toEqual({ status: 'CANCELLED', error: 'Cancelled by request.' });
    for (const step of createExperiment.steps) {
      const job = await api.waitForJob(step.jobId);
      expect(['CANCELLED', 'SUCCEEDED']).toContain(job.status);
    }
    expect(await api.errorCode(`mutation($id: ID!) { cancelExperiment(id: $id) { id } }`, { id: createExperiment.experiment.id })).toBe('INVALID_STATE');

    // 'other seed' reused the first experiment's annotator and gold evaluation, and made its own synthetic notes.
    const { experiments } = await api.query(`{ experiments(first: 10) { edges { node { id name results { syntheticCorpusId annotatorModelId } steps { name jobId } } } } }`);
    const node = (n: string) => experiments.edges.find((e: { node: { name: string } }) => e.node.name === n).node;
    const [first, other] = [node('toy'), node('other seed')];
    const before = (await api.query(EXPERIMENT, { id: other.id })).experiment.results;
    // Deleting the experiment that ran the shared steps leaves them, and their scores, to the other.
    expect(await api.query(`mutation($id: ID!) { deleteExperiment(id: $id) }`, { id: first.id })).toEqual({ deleteExperiment: first.id });
    expect(await api.errorCode(`query($id: ID!) { experiment(id: $id) { id } }`, { id: first.id })).toBe('NOT_FOUND');
    expect(await api.errorCode(`query($id: ID!) { corpus(id: $id) { id } }`, { id: first.results.syntheticCorpusId })).toBe('NOT_FOUND');
    const { experiment } = await api.query(EXPERIMENT, { id: other.id });
    expect(experiment.status).toBe('SUCCEEDED');
    expect(experiment.results).toEqual(before);
    expect(experiment.results.gold.scorers.length).toBeGreaterThan(0);
  });

  it('should refuse an outsider on every experiment query, mutation and subscription', async () => {
    const { experiments } = await api.query(`{ experiments(first: 1) { edges { node { id } } } }`);
    const id = experiments.edges[0].node.id;
    expect(await outsider.errorCode(`query($id: ID!) { experiment(id: $id) { id } }`, { id })).toBe('NOT_FOUND');
    expect((await outsider.query(`{ experiments { totalCount } }`)).experiments.totalCount).toBe(0);
    expect(await outsider.errorCode(`mutation($id: ID!) { cancelExperiment(id: $id) { id } }`, { id })).toBe('NOT_FOUND');
    expect(await outsider.errorCode(`mutation($id: ID!) { deleteExperiment(id: $id) }`, { id })).toBe('NOT_FOUND');
    // The admin's corpus is private (PHI): an outsider cannot plan on it, not even a dry run.
    expect(await outsider.errorCode(CREATE, { input: spec(), dryRun: true })).toBe('NOT_FOUND');
    const ws = outsider.ws();
    await expect(outsider.collect(ws, `subscription($id: ID!) { experimentEvents(id: $id) { kind } }`, { id })).rejects.toThrow(/NOT_FOUND/);
    await ws.dispose();
  });
});
