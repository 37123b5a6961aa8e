/**
 * Synthetic notes through the API: a GPT-2 checkpoint (the Hugging Face fixture, imported as a
 * user would) prompted with the first words of real notes, text streamed over WebSocket while it is
 * sampled, the notes kept as a SYNTHETIC corpus with its SyntheticDataset, reproducible by seed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipSync } from 'fflate';
import { ApiClient } from '../support/client.js';
import { DATABASES, startSibling, startTestServer, type TestServer } from '../support/server.js';
import { HF_TINY } from '../support/paths.js';
import { base64, meddocanZip } from '../support/meddocan.js';
import { webgpuJob } from '../support/webgpu.js';

const GENERATE = `mutation($input: GenerateSyntheticCorpusInput!) { generateSyntheticCorpus(input: $input) { id status } }`;
const TOKENS = `subscription($id: ID!) { generatedTokens(jobId: $id) { sequenceIndex text done } }`;
const EVENTS = `subscription($id: ID!) { jobEvents(id: $id) { seq status } }`;
const DOCS = `query($id: ID!) { corpus(id: $id) { kind containsPhi documents(first: 50) { edges { node { externalId text } } } } }`;

async function setUp(api: ApiClient) {
  const { importCorpus } = await api.query(`mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`, {
    input: { name: 'real', fileName: 'm.zip', contentBase64: base64(meddocanZip({ train: 5, dev: 4 }).bytes) },
  });
  const corpusId = (await api.waitForJob(importCorpus.id)).result.corpusId as string;
  const dir = path.join(HF_TINY, 'gpt2-tiny');
  const files = Object.fromEntries(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => [f, fs.readFileSync(path.join(dir, f))]));
  const { importModel } = await api.query(`mutation($input: ImportModelInput!) { importModel(input: $input) { id } }`, {
    input: { name: 'gpt2-tiny', kind: 'GENERATOR', contentBase64: base64(zipSync(files)) },
  });
  return { corpusId, generatorModelId: importModel.id as string };
}

const input = (ids: { corpusId: string; generatorModelId: string }, seed = 7) => ({
  name: `synthetic-${seed}`,
  generatorModelId: ids.generatorModelId,
  promptCorpusId: ids.corpusId,
  promptSplit: 'dev',
  samplesPerPrompt: 2,
  maxNewTokens: 16,
  seed,
});

/** Each sequence's streamed pieces, joined. */
function streamed(items: { generatedTokens: { sequenceIndex: number; text: string; done: boolean } }[]) {
  const texts = new Map<number, { text: string; done: boolean }>();
  for (const { generatedTokens: t } of items) {
    const current = texts.get(t.sequenceIndex) ?? { text: '', done: false };
    texts.set(t.sequenceIndex, { text: current.text + t.text, done: current.done || t.done });
  }
  return texts;
}

describe.each(DATABASES)('synthetic notes (%s database)', (database) => {
  let server: TestServer;
  let api: ApiClient;
  let ids: { corpusId: string; generatorModelId: string };

  beforeAll(async () => {
    server = await startTestServer(database);
    api = new ApiClient(server.url, server.adminToken);
    ids = await setUp(api);
  });
  afterAll(async () => server?.stop());

  it('should sample notes from prompts, stream their text, and keep them as a synthetic corpus', async () => {
    const { generateSyntheticCorpus } = await api.query(GENERATE, { input: input(ids) });
    const ws = api.ws();
    const items = await api.collect(ws, TOKENS, { id: generateSyntheticCorpus.id });
    await ws.dispose();
    const job = await api.waitForJob(generateSyntheticCorpus.id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('SUCCEEDED');
    expect(job.result.documents).toBe(8);
    expect(job.result.newTokens).toBeGreaterThan(0);

    const { corpus } = await api.query(DOCS, { id: job.result.corpusId });
    expect(corpus.kind).toBe('SYNTHETIC');
    // As private as the notes its prompts came from.
    expect(corpus.containsPhi).toBe(true);
    const texts = corpus.documents.edges.map((e: { node: { externalId: string; text: string } }) => e.node);
    expect(texts.map((t: { externalId: string }) => t.externalId)).toEqual(['synthetic-1', 'synthetic-2', 'synthetic-3', 'synthetic-4', 'synthetic-5', 'synthetic-6', 'synthetic-7', 'synthetic-8']);
    // The stream may have started before we subscribed: whatever arrived ends each stored note.
    for (const [index, piece] of streamed(items)) {
      expect(piece.done).toBe(true);
      expect(texts[index].text.endsWith(piece.text)).toBe(true);
    }
    const { syntheticDataset } = await api.query(`query($id: ID!) { syntheticDataset(id: $id) { corpusId generatorModelId sourceCorpusId prompts sampling } }`, { id: job.result.syntheticDatasetId });
    expect(syntheticDataset).toMatchObject({ corpusId: job.result.corpusId, generatorModelId: ids.generatorModelId, sourceCorpusId: ids.corpusId });
    expect(syntheticDataset.prompts).toHaveLength(4);
    for (const prompt of syntheticDataset.prompts) expect(prompt.split(/\s+/)).toHaveLength(3);
    expect(syntheticDataset.sampling).toMatchObject({ samplesPerPrompt: 2, topP: 0.95, temperature: 1, seed: 7 });
    // Two samples of one prompt start alike and go their own way.
    expect(texts[0].text.startsWith(syntheticDataset.prompts[0])).toBe(true);
    expect(texts[1].text.startsWith(syntheticDataset.prompts[0])).toBe(true);
    expect(texts[0].text).not.toBe(texts[1].text);

    // The same seed gives the same notes; another seed other notes.
    const again = await api.waitForJob((await api.query(GENERATE, { input: input(ids) })).generateSyntheticCorpus.id);
    const other = await api.waitForJob((await api.query(GENERATE, { input: input(ids, 8) })).generateSyntheticCorpus.id);
    const textsOf = async (corpusId: string) => (await api.query(DOCS, { id: corpusId })).corpus.documents.edges.map((e: { node: { text: string } }) => e.node.text);
    expect(await textsOf(again.result.corpusId)).toEqual(texts.map((t: { text: string }) => t.text));
    expect(await textsOf(other.result.corpusId)).not.toEqual(texts.map((t: { text: string }) => t.text));
  });

  // Holds on either kind of machine: with a WebGPU adapter (a GPU, or Mesa's software lavapipe) the
  // adapter trains and the notes are sampled there, each log saying where its session's nodes ran;
  // without one both jobs fail naming WebGPU. Regression: an empty KV cache fed as zero-length
  // tensors crashed the whole server on WebGPU.
  it('should adapt a LoRA adapter and sample on webgpu, logging where the nodes ran, or fail naming webgpu; the server stays up', async () => {
    const { adaptGenerator } = await api.query(`mutation($input: AdaptGeneratorInput!) { adaptGenerator(input: $input) { id } }`, {
      input: { name: 'lora on webgpu', baseModelId: ids.generatorModelId, corpusId: ids.corpusId, split: 'train', lora: { r: 4, alpha: 8 }, seqLen: 64, batchSize: 4, maxSteps: 3, seed: 3, device: 'webgpu' },
    });
    const adapted = await webgpuJob(api, adaptGenerator.id, 'decoder training step with AdamW, weights on the device');
    const { generateSyntheticCorpus } = await api.query(GENERATE, { input: { ...input(ids), device: 'webgpu' } });
    const sampled = await webgpuJob(api, generateSyntheticCorpus.id, 'decoder step with a KV cache (generation)');
    if (adapted.job.status === 'SUCCEEDED') {
      expect(adapted.placement).toHaveLength(1);
      expect(adapted.placement[0]).toMatch(/nodes on webgpu; \d+ on the CPU .*; the run took /);
      expect(adapted.placement[0]).not.toMatch(/LogSoftmax/); // its log-softmax is built from ops WebGPU has
      expect(sampled.job.status).toBe('SUCCEEDED');
      expect(sampled.job.result.documents).toBe(8);
      expect(sampled.placement).toHaveLength(1);
      expect(sampled.placement[0]).toMatch(/: (\d+) of \1 nodes on webgpu; the run took /);
    } else {
      for (const { job } of [adapted, sampled]) expect([job.status, job.error]).toEqual(['FAILED', expect.stringMatching(/webgpu/i)]);
    }
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });

  it('should adapt the generator to the corpus (all weights, or a LoRA adapter), lowering its loss, and generate from it', async () => {
    const ADAPT = `mutation($input: AdaptGeneratorInput!) { adaptGenerator(input: $input) { id } }`;
    const adapt = async (lora: unknown) => {
      const { adaptGenerator } = await api.query(ADAPT, {
        input: { name: lora ? 'lora' : 'full', baseModelId: ids.generatorModelId, corpusId: ids.corpusId, split: 'train', lora, seqLen: 64, batchSize: 4, epochs: 40, maxSteps: 60, learningRate: 0.01, seed: 3 },
      });
      const job = await api.waitForJob(adaptGenerator.id);
      expect(job.error).toBeNull();
      return job;
    };
    // Optimizer numbers that would train uphill or never warm up are refused before any job starts.
    for (const [bad, field] of [[{ learningRate: -0.01 }, 'learningRate'], [{ warmupSteps: -5 }, 'warmupSteps']] as const) {
      const refused = await api.raw(ADAPT, { input: { name: 'bad', baseModelId: ids.generatorModelId, corpusId: ids.corpusId, ...bad } });
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    const full = await adapt(null);
    // The fixture is a random model: 60 seeded steps on five notes cut its loss by more than 15%.
    expect(full.result.finalLoss).toBeLessThan(full.result.firstLoss * 0.85);
    const lora = await adapt({ r: 8, alpha: 32 });
    expect(lora.result.finalLoss).toBeLessThan(lora.result.firstLoss);
    const { model } = await api.query(`query($id: ID!) { model(id: $id) { kind architecture baseModelId trainedOnCorpusId trainingConfig metrics(name: "train_loss") { step } } }`, { id: lora.result.modelId });
    expect(model).toMatchObject({ kind: 'GENERATOR', architecture: 'gpt2', baseModelId: ids.generatorModelId, trainedOnCorpusId: ids.corpusId });
    expect(model.trainingConfig.lora).toMatchObject({ r: 8, alpha: 32 });
    expect(model.metrics.length).toBeGreaterThanOrEqual(6);
    // Only the adapter trained: a small fraction of what full adaptation trained.
    const fullModel = (await api.query(`query($id: ID!) { model(id: $id) { trainingConfig } }`, { id: full.result.modelId })).model;
    expect(model.trainingConfig.trainableParameters).toBeLessThan(fullModel.trainingConfig.trainableParameters / 5);
    const generated = await api.waitForJob((await api.query(GENERATE, { input: { ...input(ids), generatorModelId: lora.result.modelId } })).generateSyntheticCorpus.id);
    expect(generated.status).toBe('SUCCEEDED');
    expect(await api.errorCode(ADAPT, { input: { name: 'x', baseModelId: ids.generatorModelId, corpusId: ids.corpusId, seqLen: 0 } })).toBe('BAD_USER_INPUT');
  });

  it('should refuse an encoder as generator and bad sampling settings', async () => {
    const { trainNerModel } = await api.query(`mutation($input: TrainNerModelInput!) { trainNerModel(input: $input) { id } }`, {
      input: { name: 'enc', corpusId: ids.corpusId, maxSteps: 1, scratch: { hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 256, vocabSize: 500 } },
    });
    const encoderId = (await api.waitForJob(trainNerModel.id)).result.modelId;
    expect(await api.errorCode(GENERATE, { input: { ...input(ids), generatorModelId: encoderId } })).toBe('BAD_USER_INPUT');
    expect(await api.errorCode(GENERATE, { input: { ...input(ids), topP: 1.5 } })).toBe('BAD_USER_INPUT');
    expect(await api.errorCode(GENERATE, { input: { ...input(ids), samplesPerPrompt: 0 } })).toBe('BAD_USER_INPUT');
  });
});

describe.runIf(DATABASES.includes('postgres'))('token streaming from a worker process (PostgreSQL)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('postgres', { RUN_JOBS: '0' });
  });
  afterAll(async () => server?.stop());

  it('should stream every sequence in full to a client of the API while a worker samples it', async () => {
    const api = new ApiClient(server.url, server.adminToken);
    const worker = await startSibling(server, 'worker');
    const ids = await setUp(api);
    await worker.kill();
    // Subscribe while no worker runs, then start one: nothing can be missed.
    const { generateSyntheticCorpus } = await api.query(GENERATE, { input: input(ids) });
    const ws = api.ws();
    const stream = api.collect(ws, TOKENS, { id: generateSyntheticCorpus.id });
    // The token stream has no opening item; jobEvents, sent next on the same socket, opens with the
    // job's state, one database read after it registered: by then the token stream listens too.
    let registered!: () => void;
    const events = api.collect(ws, EVENTS, { id: generateSyntheticCorpus.id }, undefined, () => registered());
    await new Promise<void>((resolve) => (registered = resolve));
    const second = await startSibling(server, 'worker');
    const items = await stream;
    expect((await events).at(-1)!.jobEvents.status).toBe('SUCCEEDED');
    await ws.dispose();
    await second.kill();
    const job = await api.waitForJob(generateSyntheticCorpus.id);
    const texts = (await api.query(DOCS, { id: job.result.corpusId })).corpus.documents.edges.map((e: { node: { text: string } }) => e.node.text);
    const { syntheticDataset } = await api.query(`query($id: ID!) { syntheticDataset(id: $id) { prompts } }`, { id: job.result.syntheticDatasetId });
    const pieces = streamed(items);
    expect([...pieces.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const [index, piece] of pieces) {
      expect(piece.done).toBe(true);
      expect(piece.text.length).toBeGreaterThan(0);
      // Every word of the continuation was streamed: the note is its prompt and the stream.
      expect(texts[index]).toBe(syntheticDataset.prompts[Math.floor(index / 2)] + piece.text);
    }
  });
});
