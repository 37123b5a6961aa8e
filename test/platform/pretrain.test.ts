/**
 * Pre-training from scratch through the API: a generator learned from unannotated clinical text
 * (pretrainModel), and an experiment that needs no imported model at all (its generator is
 * pre-trained, then adapted, as one of its steps).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipSync } from 'fflate';
import { ApiClient } from '../support/client.js';
import { SHARED, startTestServer, type TestServer } from '../support/server.js';
import { base64, meddocanZip } from '../support/meddocan.js';

const TEXT_DIR = path.join(SHARED, 'data/spanish-clinical-text/docs');
const SIZE = { hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 64, vocabSize: 400 };

describe('pre-training from scratch (embedded database)', () => {
  let server: TestServer;
  let api: ApiClient;
  let textCorpusId: string;
  let realCorpusId: string;

  beforeAll(async () => {
    server = await startTestServer('embedded');
    api = new ApiClient(server.url, server.adminToken);
    const files = Object.fromEntries(fs.readdirSync(TEXT_DIR).sort().slice(0, 40).map((f) => [`docs/${f}`, fs.readFileSync(path.join(TEXT_DIR, f))]));
    const { importCorpus } = await api.query(`mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`, {
      input: { name: 'clinical text', fileName: 'text.zip', format: 'TEXT', containsPhi: false, contentBase64: base64(zipSync(files)) },
    });
    textCorpusId = (await api.waitForJob(importCorpus.id)).result.corpusId;
    const real = await api.query(`mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`, {
      input: { name: 'real', fileName: 'm.zip', contentBase64: base64(meddocanZip({ train: 12, dev: 3, test: { from: 'dev', skip: 3, take: 3 } }).bytes) },
    });
    realCorpusId = (await api.waitForJob(real.importCorpus.id)).result.corpusId;
  });
  afterAll(async () => server?.stop());

  it('should pre-train a generator on unannotated text, report held-out perplexity, and generate with it', async () => {
    const { pretrainModel } = await api.query(`mutation($input: PretrainModelInput!) { pretrainModel(input: $input) { id } }`, {
      input: { name: 'from scratch', corpusIds: [textCorpusId], size: SIZE, seqLen: 64, batchSize: 8, maxSteps: 30, learningRate: 0.003, heldOutFraction: 0.1 },
    });
    const job = await api.waitForJob(pretrainModel.id, 180_000);
    expect(job.error).toBeNull();
    expect(job.result.steps).toBe(30);
    // A uniform guess has perplexity vocabSize (loss ln V); 30 steps on real text already do far better.
    expect(job.result.heldOutPerplexity).toBeLessThan(job.result.vocabSize / 2);
    expect(job.result.finalLoss).toBeLessThan(Math.log(job.result.vocabSize) - 0.5);
    const { model } = await api.query(`query($id: ID!) { model(id: $id) { kind architecture containsPhi baseModelId trainingConfig metrics(name: "heldout_perplexity") { value } } }`, { id: job.result.modelId });
    expect(model).toMatchObject({ kind: 'GENERATOR', architecture: 'gpt2', containsPhi: false, baseModelId: null });
    expect(model.trainingConfig).toMatchObject({ documents: 36, heldOutDocuments: 4 });
    expect(model.metrics[0].value).toBeCloseTo(job.result.heldOutPerplexity, 6);

    const { generateSyntheticCorpus } = await api.query(`mutation($input: GenerateSyntheticCorpusInput!) { generateSyntheticCorpus(input: $input) { id } }`, {
      input: { name: 'notes', generatorModelId: job.result.modelId, promptCorpusId: realCorpusId, promptSplit: 'dev', maxNewTokens: 40 },
    });
    const generated = await api.waitForJob(generateSyntheticCorpus.id);
    expect(generated.error).toBeNull();
    expect(generated.result.documents).toBe(3);
    // Diversity of the sampled text: distinct n-grams over all n-grams, stored as metrics of the job.
    for (const n of ['1', '2', '3']) expect(generated.result.distinct[n]).toBeGreaterThan(0);
    expect(generated.result.distinct['1']).toBeLessThanOrEqual(generated.result.distinct['3']);
    const { metrics } = await api.query(`query($id: ID!) { metrics(filter: { jobId: $id, name: "distinct_2" }) { edges { node { value } } } }`, { id: generated.id });
    expect(metrics.edges[0].node.value).toBe(generated.result.distinct['2']);

    const bad = await api.raw(`mutation($input: PretrainModelInput!) { pretrainModel(input: $input) { id } }`, { input: { name: 'x', corpusIds: [textCorpusId], size: { ...SIZE, numHeads: 3 } } });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0]?.message).toMatch(/size\.numHeads/);
  });

  it('should run the whole method with no imported model: the experiment pre-trains its generator', async () => {
    const CREATE = `mutation($input: CreateExperimentInput!) { createExperiment(input: $input) { experiment { id } } }`;
    const input = {
      name: 'no imported model',
      corpusId: realCorpusId,
      annotator: { scratch: { hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 256, vocabSize: 1000 }, epochs: 1, maxSteps: 4, batchSize: 8, learningRate: 0.003 },
      generator: { pretraining: { corpusIds: [textCorpusId], size: SIZE, seqLen: 64, maxSteps: 10, learningRate: 0.003 }, adaptation: { seqLen: 64, batchSize: 4, maxSteps: 3, learningRate: 0.003 } },
      generation: { samplesPerPrompt: 1, maxNewTokens: 8 },
      guard: { action: 'FLAG' },
      evaluation: { bootstrapResamples: 20 },
    };
    const both = await api.raw(CREATE, { input: { ...input, generator: { ...input.generator, baseModelId: textCorpusId } } });
    expect(both.errors?.[0]?.message).toMatch(/generator\.baseModelId.*either/);
    const { createExperiment } = await api.query(CREATE, { input });
    const id = createExperiment.experiment.id;
    let experiment: any;
    for (const deadline = Date.now() + 300_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 300))) {
      experiment = (await api.query(`query($id: ID!) { experiment(id: $id) { status error steps { name status job { result } } results { synthetic { documents } generatedDocuments } } }`, { id })).experiment;
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(experiment.status)) break;
    }
    expect(experiment.error).toBeNull();
    expect(experiment.steps.map((s: { name: string }) => s.name).slice(0, 2).sort()).toEqual(['annotator', 'pretrain_generator']);
    expect(experiment.results.generatedDocuments).toBe(3);
    // The adapted generator's perplexity on the prompt split (the method's validation documents).
    const adapted = experiment.steps.find((s: { name: string }) => s.name === 'generator');
    expect(adapted.job.result.heldOutPerplexity).toBeGreaterThan(1);
    const { models } = await api.query(`{ models(kind: GENERATOR) { totalCount } }`);
    expect(models.totalCount).toBe(3); // the first test's, and this experiment's pre-trained and adapted ones
  });
});
