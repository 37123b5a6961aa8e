/**
 * Kill -9 in the middle of work: a generation resumes after its last saved batch and ends with
 * exactly the notes of an uninterrupted run; an experiment killed mid-training and again
 * mid-generation completes with no step run twice after it finished and no duplicate job or note.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipSync } from 'fflate';
import { ApiClient } from '../support/client.js';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';
import { HF_TINY } from '../support/paths.js';
import { base64, meddocanZip } from '../support/meddocan.js';

const SCRATCH = { hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 256, vocabSize: 1000 };
const GENERATION = { maxPrompts: 4, samplesPerPrompt: 8, maxNewTokens: 12 };

describe.each(DATABASES)('resuming killed work (%s database)', (database) => {
  let server: TestServer;
  let api: ApiClient;
  let corpusId: string;
  let generatorId: string;

  beforeAll(async () => {
    server = await startTestServer(database);
    api = new ApiClient(server.url, server.adminToken);
    const { importCorpus } = await api.query(`mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`, {
      input: { name: 'real', fileName: 'm.zip', contentBase64: base64(meddocanZip({ train: 12, dev: 4, test: { from: 'dev', skip: 4, take: 3 } }).bytes) },
    });
    corpusId = (await api.waitForJob(importCorpus.id)).result.corpusId;
    const files = Object.fromEntries(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => [f, fs.readFileSync(path.join(HF_TINY, 'gpt2-tiny', f))]));
    const { importModel } = await api.query(`mutation($input: ImportModelInput!) { importModel(input: $input) { id } }`, { input: { name: 'gpt2', kind: 'GENERATOR', contentBase64: base64(zipSync(files)) } });
    generatorId = importModel.id;
  });
  afterAll(async () => server?.stop());

  /** Restarts the server with (or without) a crash point, and reconnects. */
  const restart = async (crashAt: string | null) => {
    if (crashAt) server.env.DEID_CRASH_AT = crashAt;
    else delete server.env.DEID_CRASH_AT;
    await server.restart();
    api = new ApiClient(server.url, server.adminToken);
  };

  const texts = async (id: string) => {
    const { corpus } = await api.query(`query($id: ID!) { corpus(id: $id) { documents(first: 100) { totalCount edges { node { externalId text } } } } }`, { id });
    return corpus.documents.edges.map((e: { node: { externalId: string; text: string } }) => `${e.node.externalId}\t${e.node.text}`);
  };

  const generate = async (name: string, seed: number) => {
    const { generateSyntheticCorpus } = await api.query(`mutation($input: GenerateSyntheticCorpusInput!) { generateSyntheticCorpus(input: $input) { id } }`, {
      input: { name, generatorModelId: generatorId, promptCorpusId: corpusId, promptSplit: 'dev', ...GENERATION, seed },
    });
    return generateSyntheticCorpus.id as string;
  };

  it('should resume a killed generation after its last saved batch, with the notes of an uninterrupted run', async () => {
    await restart('generation-batch-1');
    const jobId = await generate('killed', 5);
    await server.exited();
    await restart(null);
    const resumed = await api.waitForJob(jobId, 120_000);
    expect(resumed).toMatchObject({ status: 'SUCCEEDED', attempts: 2, result: { documents: 32, resumedFrom: 16 } });

    const whole = await api.waitForJob(await generate('whole', 5), 120_000);
    expect(whole.result.resumedFrom).toBe(0);
    const [a, b] = [await texts(resumed.result.corpusId), await texts(whole.result.corpusId)];
    expect(a).toHaveLength(32);
    expect(a).toEqual(b);
    const { corpora } = await api.query(`{ corpora(nameContains: "killed") { totalCount } }`);
    expect(corpora.totalCount).toBe(1);
  });

  it('should complete an experiment killed mid-training and mid-generation, running no finished step twice', async () => {
    // One job at a time, so the kills land where intended: the annotator trains first, then the generation runs.
    server.env.JOB_CONCURRENCY = '1';
    await restart('training-step-2');
    const spec = {
      name: 'killed twice',
      corpusId,
      seed: 7,
      annotator: { scratch: SCRATCH, epochs: 20, maxSteps: 12, batchSize: 4, learningRate: 0.003 },
      generator: { baseModelId: generatorId },
      generation: { ...GENERATION, seed: 6 },
      guard: { action: 'FLAG' },
      evaluation: { bootstrapResamples: 20 },
    };
    const { createExperiment } = await api.query(`mutation($input: CreateExperimentInput!) { createExperiment(input: $input) { experiment { id } } }`, { input: spec });
    const id = createExperiment.experiment.id;
    await server.exited(); // killed at the annotator's second step
    await restart('generation-batch-1');
    await server.exited(); // killed after the generation saved its first batch
    await restart(null);

    const STEPS = `query($id: ID!) { experiment(id: $id) { status error steps { name reused job { id status attempts result } } } }`;
    let experiment: any;
    for (const deadline = Date.now() + 300_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
      experiment = (await api.query(STEPS, { id })).experiment;
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(experiment.status)) break;
    }
    expect(experiment.error).toBeNull();
    expect(experiment.status).toBe('SUCCEEDED');
    const byName = Object.fromEntries(experiment.steps.map((s: { name: string; job: unknown }) => [s.name, s.job]));
    expect(byName.annotator.attempts).toBeGreaterThanOrEqual(2);
    expect(byName.generation.attempts).toBeGreaterThanOrEqual(2);
    expect(byName.generation.result.resumedFrom).toBe(16);
    // Steps that ran after the kills ran once, and every step has its own job: nothing was queued twice.
    for (const step of experiment.steps) {
      expect(step.reused, step.name).toBe(false);
      if (!['annotator', 'generation'].includes(step.name)) expect(step.job.attempts, step.name).toBe(1);
    }
    const { jobs } = await api.query(`{ jobs(first: 100) { totalCount } }`);
    // 1 import + 2 generations of the first test + one job per step
    expect(jobs.totalCount).toBe(3 + experiment.steps.length);

    // The killed generation's notes equal an uninterrupted run's.
    const whole = await api.waitForJob(await generate('whole again', 6), 120_000);
    expect(await texts(byName.generation.result.corpusId)).toEqual(await texts(whole.result.corpusId));
    // And the killed training's model equals an uninterrupted one: the same loss at every step.
    const { trainNerModel } = await api.query(`mutation($input: TrainNerModelInput!) { trainNerModel(input: $input) { id } }`, {
      input: { name: 'uninterrupted', corpusId, split: 'train', subsetSeed: 7, seed: 7, ...spec.annotator },
    });
    const fresh = await api.waitForJob(trainNerModel.id, 120_000);
    const curve = async (modelId: string) => (await api.query(`query($id: ID!) { model(id: $id) { metrics(name: "train_loss") { step value } } }`, { id: modelId })).model.metrics;
    expect(await curve(byName.annotator.result.modelId)).toEqual(await curve(fresh.result.modelId));
    server.env.JOB_CONCURRENCY = '2';
  });
});
