/**
 * Pre-training from scratch through the API: a generator learned from unannotated clinical text
 * (pretrainModel), an experiment that needs no imported model at all (its generator is
 * pre-trained, then adapted, as one of its steps), and one whose annotator is fine-tuned from an
 * encoder it pre-trains (masked LM) as a step.
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
const SCRATCH = { hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 256, vocabSize: 1000 };
const TERMINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

describe('pre-training from scratch (embedded database)', () => {
  let server: TestServer;
  let api: ApiClient;
  let textCorpusId: string;
  let phiTextCorpusId: string;
  let realCorpusId: string;
  // The generator of the experiments below: pre-trained and adapted (the same settings, so later experiments reuse it).
  const generator = () => ({ pretraining: { corpusIds: [textCorpusId], size: SIZE, seqLen: 64, maxSteps: 10, learningRate: 0.003 }, adaptation: { seqLen: 64, batchSize: 4, maxSteps: 3, learningRate: 0.003 } });

  /** The clinical text files from..to (sorted) as zip entries. */
  const textFiles = (from: number, to: number) => Object.fromEntries(fs.readdirSync(TEXT_DIR).sort().slice(from, to).map((f) => [`docs/${f}`, fs.readFileSync(path.join(TEXT_DIR, f))]));

  beforeAll(async () => {
    server = await startTestServer('embedded');
    api = new ApiClient(server.url, server.adminToken);
    const files = textFiles(0, 40);
    const { importCorpus } = await api.query(`mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`, {
      input: { name: 'clinical text', fileName: 'text.zip', format: 'TEXT', containsPhi: false, contentBase64: base64(zipSync(files)) },
    });
    textCorpusId = (await api.waitForJob(importCorpus.id)).result.corpusId;
    // Other text, marked as holding PHI: what is pre-trained on it is private.
    const phiFiles = textFiles(40, 60);
    const phiText = await api.query(`mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`, {
      input: { name: 'clinical text with PHI', fileName: 'phi.zip', format: 'TEXT', containsPhi: true, contentBase64: base64(zipSync(phiFiles)) },
    });
    phiTextCorpusId = (await api.waitForJob(phiText.importCorpus.id)).result.corpusId;
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
      input: { name: 'notes', generatorModelId: job.result.modelId, promptCorpusId: realCorpusId, promptSplit: 'dev', maxNewTokens: 80 },
    });
    const generated = await api.waitForJob(generateSyntheticCorpus.id);
    expect(generated.error).toBeNull();
    // 80 new tokens pass the 64 positions the model has: the notes slide their context instead of failing.
    const { job: generation } = await api.query(`query($id: ID!) { job(id: $id) { logs { message } } }`, { id: generateSyntheticCorpus.id });
    expect(generation.logs.map((l: { message: string }) => l.message).join('\n')).toMatch(/attends at most its latest 64 tokens/);
    expect(generated.result.documents).toBe(3);
    // Diversity of the sampled text: distinct n-grams over all n-grams, stored as metrics of the job.
    for (const n of ['1', '2', '3']) expect(generated.result.distinct[n]).toBeGreaterThan(0);
    expect(generated.result.distinct['1']).toBeLessThanOrEqual(generated.result.distinct['3']);
    const { metrics } = await api.query(`query($id: ID!) { metrics(filter: { jobId: $id, name: "distinct_2" }) { edges { node { value } } } }`, { id: generated.id });
    expect(metrics.edges[0].node.value).toBe(generated.result.distinct['2']);

    const bad = await api.raw(`mutation($input: PretrainModelInput!) { pretrainModel(input: $input) { id } }`, { input: { name: 'x', corpusIds: [textCorpusId], size: { ...SIZE, numHeads: 3 } } });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0]?.message).toMatch(/size\.numHeads/);
    const uphill = await api.raw(`mutation($input: PretrainModelInput!) { pretrainModel(input: $input) { id } }`, { input: { name: 'x', corpusIds: [textCorpusId], size: SIZE, seqLen: 64, learningRate: 0 } });
    expect(uphill.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'learningRate' });
  });

  it('should run the whole method with no imported model: the experiment pre-trains its generator', async () => {
    const CREATE = `mutation($input: CreateExperimentInput!) { createExperiment(input: $input) { experiment { id } } }`;
    const input = {
      name: 'no imported model',
      corpusId: realCorpusId,
      annotator: { scratch: SCRATCH, epochs: 1, maxSteps: 4, batchSize: 8, learningRate: 0.003 },
      generator: generator(),
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

  it("should pre-train the annotator's encoder as a step, fine-tune the annotator from it, reuse it on a rerun, and refuse bad settings", async () => {
    const CREATE = `mutation($input: CreateExperimentInput!, $dryRun: Boolean) {
      createExperiment(input: $input, dryRun: $dryRun) { stepsToRun stepsReused experiment { id } steps { name kind action inputHash jobId } }
    }`;
    const EXPERIMENT = `query($id: ID!) { experiment(id: $id) {
      status error config steps { name kind status reused jobId params job { result } } results { annotatorModelId syntheticTaggerModelId gold { documents } }
    } }`;
    const MODEL = `query($id: ID!) { model(id: $id) { kind architecture containsPhi baseModelId trainedOnCorpusId config trainingConfig } }`;
    const pretraining = { corpusIds: [textCorpusId], architecture: 'bert', size: SIZE, seqLen: 64, batchSize: 8, maxSteps: 10, learningRate: 0.003, heldOutFraction: 0.1, maskProbability: 0.2 };
    const spec = (annotator: Record<string, unknown> = {}) => ({
      name: 'pre-trained annotator',
      corpusId: realCorpusId,
      annotator: { pretraining, epochs: 1, maxSteps: 4, batchSize: 8, learningRate: 0.003, chunkWords: 48, ...annotator },
      syntheticTagger: { scratch: SCRATCH, epochs: 1, maxSteps: 4, batchSize: 8, learningRate: 0.003 },
      generator: generator(),
      generation: { samplesPerPrompt: 1, maxNewTokens: 8 },
      guard: { action: 'FLAG' },
      evaluation: { bootstrapResamples: 20 },
    });
    const run = async (input: Record<string, unknown>) => {
      const { createExperiment } = await api.query(CREATE, { input });
      for (const deadline = Date.now() + 300_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 300))) {
        const { experiment } = await api.query(EXPERIMENT, { id: createExperiment.experiment.id });
        if (TERMINAL.includes(experiment.status)) {
          expect(experiment.error).toBeNull();
          return { ...experiment, step: (name: string) => experiment.steps.find((s: { name: string }) => s.name === name) };
        }
      }
      throw new Error('the experiment did not finish');
    };

    // Refused before anything runs, naming the field.
    const { jobs: before } = await api.query(`{ jobs { totalCount } }`);
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ baseModelId: textCorpusId }, 'BAD_USER_INPUT', /annotator\.pretraining.*annotator\.baseModelId.*not both/],
      [{ pretraining: { ...pretraining, architecture: 'gpt2' } }, 'BAD_USER_INPUT', /annotator\.pretraining\.architecture/],
      [{ pretraining: { ...pretraining, maskProbability: 1 } }, 'BAD_USER_INPUT', /annotator\.pretraining\.maskProbability/],
      [{ pretraining: { ...pretraining, size: { ...SIZE, numHeads: 3 } } }, 'BAD_USER_INPUT', /annotator\.pretraining\.size\.numHeads/],
      [{ pretraining: { ...pretraining, seqLen: 128 } }, 'BAD_USER_INPUT', /annotator\.pretraining\.seqLen.*maxPositions/],
      [{ pretraining: { ...pretraining, maxSteps: 0 } }, 'BAD_USER_INPUT', /annotator\.pretraining\.maxSteps/],
      [{ pretraining: { ...pretraining, heldOutFraction: 0.9 } }, 'BAD_USER_INPUT', /annotator\.pretraining\.heldOutFraction/],
      [{ pretraining: { ...pretraining, corpusIds: [] } }, 'BAD_USER_INPUT', /annotator\.pretraining\.corpusIds/],
      [{ pretraining: { ...pretraining, corpusIds: [textCorpusId, realCorpusId] } }, 'BAD_USER_INPUT', /annotator\.pretraining\.corpusIds: corpus .* is the experiment's own corpus.*test split "test"/],
      [{ pretraining: { ...pretraining, learningRate: -0.001 } }, 'BAD_USER_INPUT', /annotator\.pretraining\.learningRate: must be above 0/],
      [{ pretraining: { ...pretraining, warmupSteps: -1 } }, 'BAD_USER_INPUT', /annotator\.pretraining\.warmupSteps: must be a non-negative integer/],
      [{ pretraining: { ...pretraining, corpusIds: ['00000000-0000-0000-0000-000000000000'] } }, 'NOT_FOUND', /Corpus/],
    ];
    for (const [annotator, code, message] of cases) {
      const result = await api.raw(CREATE, { input: spec(annotator) });
      expect(result.errors?.[0]?.extensions?.code, JSON.stringify(annotator)).toBe(code);
      expect(result.errors?.[0]?.message, JSON.stringify(annotator)).toMatch(message);
    }
    const both = await api.raw(CREATE, { input: spec({ baseModelId: textCorpusId }) });
    expect(both.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'annotator.pretraining' });
    expect((await api.query(`{ jobs { totalCount } }`)).jobs.totalCount).toBe(before.totalCount);

    // The dry run shows the step; the annotator's inputs are not known until it has run.
    const { createExperiment: dry } = await api.query(CREATE, { input: spec(), dryRun: true });
    expect(dry.experiment).toBeNull();
    const planned = Object.fromEntries(dry.steps.map((s: { name: string }) => [s.name, s]));
    expect(dry.steps[0]).toMatchObject({ name: 'pretrain_annotator', kind: 'PRETRAIN', action: 'RUN', jobId: null });
    expect(dry.steps[0].inputHash).toMatch(/^[0-9a-f]{64}$/);
    expect(planned.annotator).toMatchObject({ kind: 'TRAIN_NER', action: 'RUN', inputHash: null });

    const first = await run(spec());
    expect(first.config.annotator.pretraining).toMatchObject({ architecture: 'bert', maskProbability: 0.2, seed: null });
    const step = first.step('pretrain_annotator');
    expect(step).toMatchObject({ kind: 'PRETRAIN', status: 'SUCCEEDED', reused: false });
    expect(step.params).toMatchObject({ architecture: 'bert', corpusIds: [textCorpusId], maskProbability: 0.2, maxSteps: 10 });
    expect(step.job.result.steps).toBe(10);
    const encoderId = step.job.result.modelId;
    // Text without PHI: the encoder is not private; the annotator (real notes) is, and starts from it.
    const { model: encoder } = await api.query(MODEL, { id: encoderId });
    expect(encoder).toMatchObject({ kind: 'ENCODER_PRETRAINED', architecture: 'bert', containsPhi: false, baseModelId: null, trainedOnCorpusId: textCorpusId });
    expect(encoder.trainingConfig).toMatchObject({ maskProbability: 0.2, documents: 36, heldOutDocuments: 4 });
    expect(first.step('annotator').params.baseModelId).toBe(encoderId);
    const { model: annotator } = await api.query(MODEL, { id: first.results.annotatorModelId });
    expect(annotator).toMatchObject({ kind: 'NER_ANNOTATOR', baseModelId: encoderId, containsPhi: true });
    expect(annotator.config).toMatchObject({ architectures: ['BertForTokenClassification'], hidden_size: SIZE.hiddenSize });
    expect(first.results.gold.documents).toBe(3);
    // The synthetic tagger does not start from it.
    const { model: syntheticTagger } = await api.query(MODEL, { id: first.results.syntheticTaggerModelId });
    expect(syntheticTagger.baseModelId).toBeNull();

    // The same spec again: every step, the pre-training included, is answered by the finished jobs.
    const { createExperiment: again } = await api.query(CREATE, { input: spec(), dryRun: true });
    expect(again).toMatchObject({ stepsToRun: 0, stepsReused: first.steps.length });
    expect(again.steps[0]).toMatchObject({ name: 'pretrain_annotator', action: 'REUSE', jobId: step.jobId });
    const second = await run(spec());
    expect(second.step('pretrain_annotator')).toMatchObject({ status: 'SUCCEEDED', reused: true, jobId: step.jobId });
    expect(second.results.annotatorModelId).toBe(first.results.annotatorModelId);

    // RoBERTa, also on text with PHI: a new encoder, private as its corpora are.
    const phi = await run(spec({ pretraining: { ...pretraining, architecture: 'roberta', corpusIds: [textCorpusId, phiTextCorpusId] } }));
    expect(phi.step('pretrain_annotator')).toMatchObject({ status: 'SUCCEEDED', reused: false });
    expect(phi.step('generator').reused).toBe(true);
    const phiEncoderId = phi.step('pretrain_annotator').job.result.modelId;
    const { model: phiEncoder } = await api.query(MODEL, { id: phiEncoderId });
    expect(phiEncoder).toMatchObject({ kind: 'ENCODER_PRETRAINED', architecture: 'roberta', containsPhi: true, trainedOnCorpusId: textCorpusId });
    const { model: phiAnnotator } = await api.query(MODEL, { id: phi.results.annotatorModelId });
    expect(phiAnnotator).toMatchObject({ baseModelId: phiEncoderId, containsPhi: true });
    expect(phiAnnotator.config.architectures).toEqual(['RobertaForTokenClassification']);

    // The public text imported again, marked as PHI: the same spec on it reuses nothing of the
    // public copy's pre-training, and its encoder is private.
    const twin = await api.query(`mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`, {
      input: { name: 'clinical text, as PHI', fileName: 'text.zip', format: 'TEXT', containsPhi: true, contentBase64: base64(zipSync(textFiles(0, 40))) },
    });
    const twinId = (await api.waitForJob(twin.importCorpus.id)).result.corpusId;
    const onTwin = await run(spec({ pretraining: { ...pretraining, corpusIds: [twinId] } }));
    expect(onTwin.step('pretrain_annotator')).toMatchObject({ status: 'SUCCEEDED', reused: false });
    expect(onTwin.step('pretrain_annotator').jobId).not.toBe(step.jobId);
    const { model: twinEncoder } = await api.query(MODEL, { id: onTwin.step('pretrain_annotator').job.result.modelId });
    expect(twinEncoder).toMatchObject({ kind: 'ENCODER_PRETRAINED', containsPhi: true, trainedOnCorpusId: twinId });
  }, 300_000);
});
