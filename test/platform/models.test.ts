/**
 * NER models through the API: training from scratch on MEDDOCAN with a live loss stream,
 * machine annotation, download and re-import in the Hugging Face layout, fine-tuning, access
 * control, cancellation and bad input.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unzipSync, zipSync } from 'fflate';
import { ApiClient } from '../support/client.js';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';
import { webgpuJob } from '../support/webgpu.js';
import { HF_TINY } from '../support/paths.js';
import { base64, meddocanZip } from '../support/meddocan.js';

const TRAIN = `mutation($input: TrainNerModelInput!) { trainNerModel(input: $input) { id status } }`;
const EVENTS = `subscription($id: ID!) { jobEvents(id: $id) { seq kind status progress etaSeconds message metricName metricValue metricStep } }`;
const TINY = { hiddenSize: 64, numLayers: 1, numHeads: 2, intermediateSize: 128, maxPositions: 256, vocabSize: 1500 };

describe.each(DATABASES)('models (%s database)', (database) => {
  let server: TestServer;
  let admin: ApiClient;
  let other: ApiClient;
  let corpusId: string;
  let modelId: string;

  beforeAll(async () => {
    server = await startTestServer(database);
    admin = new ApiClient(server.url, server.adminToken);
    const { importCorpus } = await admin.query(`mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`, {
      input: { name: 'meddocan-small', fileName: 'm.zip', contentBase64: base64(meddocanZip({ train: 60, dev: 10 }).bytes) },
    });
    corpusId = (await admin.waitForJob(importCorpus.id)).result.corpusId;
    const { createUser } = await admin.query(`mutation { createUser(input: { email: "other@test.local", name: "Other" }) { id } }`);
    const { createApiToken } = await admin.query(`mutation($id: ID!) { createApiToken(userId: $id, name: "t") { secret } }`, { id: createUser.id });
    other = new ApiClient(server.url, createApiToken.secret);
  });
  afterAll(async () => server?.stop());

  it('should train a tagger from scratch, streaming progress with an ETA and a falling loss', async () => {
    const { trainNerModel } = await admin.query(TRAIN, { input: { name: 'tiny-annotator', corpusId, scratch: TINY, epochs: 30, maxSteps: 60, batchSize: 8, learningRate: 0.003, seed: 1 } });
    const ws = admin.ws();
    const events = (await admin.collect(ws, EVENTS, { id: trainNerModel.id })).map((e) => e.jobEvents);
    await ws.dispose();
    expect(events.at(-1)!.status).toBe('SUCCEEDED');
    const losses = events.filter((e) => e.kind === 'METRIC' && e.metricName === 'train_loss');
    expect(losses.length).toBeGreaterThanOrEqual(5);
    expect(losses.at(-1)!.metricValue).toBeLessThan(losses[0]!.metricValue * 0.6);
    const progress = events.filter((e) => e.kind === 'PROGRESS');
    expect(progress.some((e) => e.etaSeconds !== null && e.progress > 0 && e.progress < 1)).toBe(true);

    const job = await admin.waitForJob(trainNerModel.id);
    modelId = job.result.modelId;
    const { model } = await admin.query(`query($id: ID!) { model(id: $id) { kind architecture trainedOnCorpusId config metrics(name: "train_loss") { step value } } }`, { id: modelId });
    expect(model).toMatchObject({ kind: 'NER_ANNOTATOR', architecture: 'bert', trainedOnCorpusId: corpusId });
    expect(model.config.hidden_size).toBe(64);
    // the counted BIO transitions its tagging decodes with are stored with the model
    const labels = Object.keys(model.config.id2label).length;
    expect(model.config.bio_transitions).toHaveLength((labels + 1) * labels);
    expect(model.metrics.map((m: { step: number }) => m.step)).toEqual([...model.metrics.map((m: { step: number }) => m.step)].sort((a, b) => a - b));
    const { model: plotted } = await admin.query(`query($id: ID!) { model(id: $id) { lossCurve lossCurveSvg } }`, { id: modelId });
    // The Vega-Lite spec holds every loss point; the SVG is that spec rendered.
    expect(plotted.lossCurve.data.values.map((p: { x: number; y: number }) => [p.x, p.y])).toEqual(model.metrics.map((m: { step: number; value: number }) => [m.step, m.value]));
    expect(plotted.lossCurveSvg).toMatch(/^<svg[^>]*>.*<\/svg>$/s);
    expect(plotted.lossCurveSvg).toContain('training loss');
    expect(plotted.lossCurveSvg).toMatch(/<path[^>]* d="M[^"]*L/);
    if (process.env.PLOTS_DIR) fs.writeFileSync(`${process.env.PLOTS_DIR}/loss.svg`, plotted.lossCurveSvg);
  });

  it('should tag a corpus with the model as machine annotations', async () => {
    const { annotateCorpus } = await admin.query(`mutation($m: ID!, $c: ID!) { annotateCorpus(modelId: $m, corpusId: $c, split: "dev") { id } }`, { m: modelId, c: corpusId });
    const job = await admin.waitForJob(annotateCorpus.id);
    expect(job.status).toBe('SUCCEEDED');
    expect(job.result.documents).toBe(10);
    expect(job.result.spans).toBeGreaterThan(0);
    const { corpus } = await admin.query(`query($id: ID!) { corpus(id: $id) { documents(split: "dev", first: 10) { edges { node { charCount annotations(source: MACHINE) { start end label modelId } } } } } }`, { id: corpusId });
    const spans = corpus.documents.edges.flatMap((e: any) => e.node.annotations.map((a: any) => ({ ...a, charCount: e.node.charCount })));
    expect(spans.length).toBe(job.result.spans);
    for (const span of spans) {
      expect(span.modelId).toBe(modelId);
      expect(span.start).toBeLessThan(span.end);
      expect(span.end).toBeLessThanOrEqual(span.charCount);
    }
  });

  it('should store the words it was unsure of when asked, and a tagger trained on its annotations skips them', async () => {
    const ANNOTATE = `mutation($m: ID!, $c: ID!, $u: Float) { annotateCorpus(modelId: $m, corpusId: $c, split: "dev", unsureBelow: $u) { id } }`;
    const bad = await admin.raw(ANNOTATE, { m: modelId, c: corpusId, u: 1.5 });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0]?.message).toMatch(/unsureBelow.*\(0, 1\].*1\.5/);
    const annotate = async (u: number | null) => {
      const job = await admin.waitForJob((await admin.query(ANNOTATE, { m: modelId, c: corpusId, u })).annotateCorpus.id);
      expect(job.status).toBe('SUCCEEDED');
      const { corpus } = await admin.query(`query($id: ID!) { corpus(id: $id) { documents(split: "dev", first: 10) { edges { node { machine: annotations(source: MACHINE) { start } unsure: annotations(source: UNSURE) { start end label modelId } } } } } }`, { id: corpusId });
      const nodes = corpus.documents.edges.map((e: any) => e.node);
      return { job, machine: nodes.flatMap((n: any) => n.machine), unsure: nodes.flatMap((n: any) => n.unsure) };
    };
    // a tagger trained 60 steps is unsure of many words at 0.99; its spans are the same as without unsureBelow
    const plain = await annotate(null);
    const asked = await annotate(0.99);
    expect(asked.job.result.unsure).toBeGreaterThan(0);
    expect(asked.unsure).toHaveLength(asked.job.result.unsure);
    expect(asked.machine).toEqual(plain.machine);
    for (const range of asked.unsure) expect(range).toMatchObject({ label: '', modelId });

    // trained on the model's machine annotations, the new tagger is told which words it skips
    const { trainNerModel } = await admin.query(TRAIN, { input: { name: 'from machine tags', corpusId, split: 'dev', annotationModelId: modelId, scratch: TINY, maxSteps: 2, batchSize: 8, kind: 'NER_SYNTHETIC' } });
    const trained = await admin.waitForJob(trainNerModel.id);
    expect(trained.status).toBe('SUCCEEDED');
    const { job } = await admin.query(`query($id: ID!) { job(id: $id) { logs { message } } }`, { id: trainNerModel.id });
    expect(job.logs.map((l: { message: string }) => l.message).join('\n')).toContain(`skipping ${asked.job.result.unsure} ranges of words the annotator was unsure of`);

    // annotating again without unsureBelow replaces them too
    const again = await annotate(null);
    expect(again.job.result.unsure).toBe(0);
    expect(again.unsure).toEqual([]);
  });

  it('should download the model as a Hugging Face folder that imports back and fine-tunes', async () => {
    const response = await fetch(`${server.url}/models/${modelId}/download`, { headers: { authorization: `Bearer ${admin.token}` } });
    expect(response.status).toBe(200);
    const zip = new Uint8Array(await response.arrayBuffer());
    expect(Object.keys(unzipSync(zip)).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const { importModel } = await admin.query(`mutation($input: ImportModelInput!) { importModel(input: $input) { id architecture kind } }`, {
      input: { name: 'reimported', kind: 'ENCODER_PRETRAINED', contentBase64: base64(zip) },
    });
    expect(importModel).toMatchObject({ architecture: 'bert', kind: 'ENCODER_PRETRAINED' });
    const { trainNerModel } = await admin.query(TRAIN, { input: { name: 'fine-tuned', corpusId, baseModelId: importModel.id, maxSteps: 4, batchSize: 8 } });
    const job = await admin.waitForJob(trainNerModel.id);
    expect(job.status).toBe('SUCCEEDED');
    const { model } = await admin.query(`query($id: ID!) { model(id: $id) { baseModelId config } }`, { id: job.result.modelId });
    expect(model.baseModelId).toBe(importModel.id);
    expect(model.config.hidden_size).toBe(64);
  });

  it('should import a Hugging Face checkpoint folder and refuse to fine-tune a decoder as a tagger', async () => {
    const dir = path.join(HF_TINY, 'gpt2-tiny');
    const files = Object.fromEntries(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => [`gpt2-tiny/${f}`, fs.readFileSync(path.join(dir, f))]));
    const { importModel } = await admin.query(`mutation($input: ImportModelInput!) { importModel(input: $input) { id architecture } }`, {
      input: { name: 'gpt2-tiny', kind: 'GENERATOR', contentBase64: base64(zipSync(files)) },
    });
    expect(importModel.architecture).toBe('gpt2');
    expect(await admin.errorCode(TRAIN, { input: { name: 'x', corpusId, baseModelId: importModel.id } })).toBe('BAD_USER_INPUT');
    const broken = zipSync({ 'config.json': new TextEncoder().encode('{"model_type":"t5"}') });
    expect(await admin.errorCode(`mutation($input: ImportModelInput!) { importModel(input: $input) { id } }`, { input: { name: 'bad', kind: 'GENERATOR', contentBase64: base64(broken) } })).toBe('BAD_USER_INPUT');
  });

  it('should keep models trained on PHI to their owner, and validate training input', async () => {
    expect(await other.errorCode(`query($id: ID!) { model(id: $id) { id } }`, { id: modelId })).toBe('NOT_FOUND');
    expect((await other.query(`{ models { totalCount } }`)).models.totalCount).toBe(0);
    expect(await other.errorCode(TRAIN, { input: { name: 'x', corpusId } })).toBe('NOT_FOUND');
    expect(await admin.errorCode(TRAIN, { input: { name: 'x', corpusId, documentFraction: 2 } })).toBe('BAD_USER_INPUT');
    expect(await admin.errorCode(TRAIN, { input: { name: 'x', corpusId, epochs: 0 } })).toBe('BAD_USER_INPUT');
    expect(await admin.errorCode(TRAIN, { input: { name: 'x', corpusId, validationSplit: 1 } })).toBe('BAD_USER_INPUT');
    expect(await admin.errorCode(TRAIN, { input: { name: 'x', corpusId, validationSplit: 0.2, earlyStoppingPatience: 0 } })).toBe('BAD_USER_INPUT');
    expect(await admin.errorCode(TRAIN, { input: { name: 'x', corpusId, learningRate: 0 } })).toBe('BAD_USER_INPUT');
    expect(await admin.errorCode(TRAIN, { input: { name: 'x', corpusId, warmupRatio: 1 } })).toBe('BAD_USER_INPUT');
  });

  it('should validate on held-out documents after every epoch, streaming val_token_f1 and val_entity_f1, and keep the best epoch', async () => {
    const { trainNerModel } = await admin.query(TRAIN, { input: { name: 'validated', corpusId, scratch: TINY, epochs: 3, batchSize: 8, learningRate: 0.003, seed: 1, validationSplit: 0.2 } });
    const ws = admin.ws();
    const events = (await admin.collect(ws, EVENTS, { id: trainNerModel.id })).map((e) => e.jobEvents);
    await ws.dispose();
    expect(events.at(-1)!.status).toBe('SUCCEEDED');
    const job = await admin.waitForJob(trainNerModel.id);
    const { model } = await admin.query(`query($id: ID!) { model(id: $id) { config trainingConfig } }`, { id: job.result.modelId });
    const { steps, bestStep, validationDocuments, documents } = model.trainingConfig;
    expect([validationDocuments, documents]).toEqual([12, 60]);
    const perEpoch = steps / 3;
    for (const name of ['val_token_f1', 'val_entity_f1']) {
      const points = events.filter((e) => e.kind === 'METRIC' && e.metricName === name);
      // one per epoch, at the step that ended it (patience 2 lets all 3 epochs run)
      expect(points.map((e) => e.metricStep), name).toEqual([1, 2, 3].map((epoch) => epoch * perEpoch));
      for (const p of points) {
        expect(p.metricValue).toBeGreaterThanOrEqual(0);
        expect(p.metricValue).toBeLessThanOrEqual(1);
      }
    }
    const entity = events.filter((e) => e.metricName === 'val_entity_f1').map((e) => e.metricValue);
    // the best epoch (the first of equals) is the one kept
    expect(bestStep).toBe((entity.indexOf(Math.max(...entity)) + 1) * perEpoch);
    expect(events.some((e) => e.kind === 'LOG' && /epoch 1: validation token F1/.test(e.message))).toBe(true);
    // the saved model keeps the Hugging Face layout and labels
    expect(model.config.id2label['0']).toBe('O');
  });

  it('should train and tag on WebGPU, logging where the nodes ran, or fail naming WebGPU, never falling back to the CPU', async () => {
    const { trainNerModel } = await admin.query(TRAIN, { input: { name: 'gpu', corpusId, scratch: TINY, maxSteps: 2, device: 'webgpu' } });
    const trained = await webgpuJob(admin, trainNerModel.id, 'encoder token-classification training step with AdamW, weights on the device');
    expect((await admin.query(`query($id: ID!) { job(id: $id) { device } }`, { id: trainNerModel.id })).job.device).toBe('webgpu');
    // Holds on either kind of machine: with a WebGPU adapter (a GPU, or Mesa's software lavapipe)
    // the job trains there and its log says, after the second step, which nodes ran on the CPU
    // instead (index and shape work; the loss's log-softmax, which has no WebGPU kernel, is built
    // from ops that run there); without one it fails naming WebGPU.
    if (trained.job.status !== 'SUCCEEDED') {
      expect([trained.job.status, trained.job.error]).toEqual(['FAILED', expect.stringMatching(/webgpu/i)]);
      return;
    }
    expect(trained.placement).toHaveLength(1);
    expect(trained.placement[0]).toMatch(/: \d+ of \d+ nodes on webgpu; \d+ on the CPU .*; the run took \d/);
    expect(trained.placement[0]).not.toMatch(/LogSoftmax/);
    // AdamW runs in the graph and the weights and moments stay on the device: a step fetches the
    // loss and the gradient norm alone (no gradients: this model's are 0.57 MiB)
    expect(/copying [\d.]+ MiB of feeds in and ([\d.]+) MiB of fetches out/.exec(trained.placement[0]!)?.[1]).toBe('0.0');
    // Tagging there too. The frozen model's weights are constants of its session, so the feeds are
    // the batch alone (ids, positions, types, mask: well under this model's 0.57 MiB of weights).
    const { annotateCorpus } = await admin.query(`mutation($m: ID!, $c: ID!) { annotateCorpus(modelId: $m, corpusId: $c, split: "dev", device: webgpu) { id } }`, { m: trained.job.result.modelId, c: corpusId });
    const tagged = await webgpuJob(admin, annotateCorpus.id, 'encoder token-classification inference');
    expect(tagged.job.status).toBe('SUCCEEDED');
    expect(tagged.placement).toHaveLength(1);
    expect(Number(/nodes on webgpu.*copying ([\d.]+) MiB of feeds in/.exec(tagged.placement[0]!)?.[1])).toBeLessThan(0.3);
  });

  it('should fail a cuda job naming the missing CUDA provider and its setup step, never falling back to the CPU', async () => {
    const { trainNerModel } = await admin.query(TRAIN, { input: { name: 'cuda', corpusId, scratch: TINY, maxSteps: 2, device: 'cuda' } });
    const job = await admin.waitForJob(trainNerModel.id);
    expect(job.status).toBe('FAILED');
    expect(job.error).toMatch(/device 'cuda' is unavailable: .*CUDA provider.*npm run setup:cuda/);
  });

  it('should cancel a running training job', async () => {
    const { trainNerModel } = await admin.query(TRAIN, { input: { name: 'long', corpusId, scratch: TINY, epochs: 500, batchSize: 4 } });
    const ws = admin.ws();
    await admin.collect(ws, EVENTS, { id: trainNerModel.id }, (e: any) => e.jobEvents.kind === 'METRIC');
    await admin.query(`mutation($id: ID!) { cancelJob(id: $id) { id } }`, { id: trainNerModel.id });
    const job = await admin.waitForJob(trainNerModel.id, 30_000);
    await ws.dispose();
    expect(job.status).toBe('CANCELLED');
    // Regression: stopping a thread inside onnxruntime used to abort the whole server.
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect((await admin.query(`{ me { email } }`)).me.email).toBe('admin@test.local');
  });
});
