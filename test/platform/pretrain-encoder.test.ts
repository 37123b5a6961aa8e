/**
 * Masked-LM pre-training of encoders through the API: pretrainModel with bert or roberta on
 * unannotated clinical text makes an ENCODER_PRETRAINED (held-out MLM loss streamed and reported,
 * lineage recorded as for decoders), which downloads as a Hugging Face folder, fine-tunes into a
 * MEDDOCAN tagger (trainNerModel with it as base), and is refused by annotateCorpus and as the
 * base of adaptGenerator.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unzipSync, zipSync } from 'fflate';
import { ApiClient } from '../support/client.js';
import { SHARED, startTestServer, type TestServer } from '../support/server.js';
import { base64, meddocanZip } from '../support/meddocan.js';
import { webgpuJob } from '../support/webgpu.js';

const TEXT_DIR = path.join(SHARED, 'data/spanish-clinical-text/docs');
const SIZE = { hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 64, vocabSize: 400 };
const PRETRAIN = `mutation($input: PretrainModelInput!) { pretrainModel(input: $input) { id } }`;
const TRAIN = `mutation($input: TrainNerModelInput!) { trainNerModel(input: $input) { id } }`;

describe('masked-LM pre-training of encoders (embedded database)', () => {
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
      input: { name: 'real', fileName: 'm.zip', contentBase64: base64(meddocanZip({ train: 20, dev: 4 }).bytes) },
    });
    realCorpusId = (await api.waitForJob(real.importCorpus.id)).result.corpusId;
  });
  afterAll(async () => server?.stop());

  // bert learns from the public text only; roberta also from the real (PHI) training split, which makes it private.
  it.each([
    ['bert', 'BertForMaskedLM', false],
    ['roberta', 'RobertaForMaskedLM', true],
  ] as const)('should pre-train a %s encoder, fine-tune a MEDDOCAN tagger from it, and refuse to tag or generate with it', async (architecture, hfClass, withReal) => {
    const { pretrainModel } = await api.query(PRETRAIN, {
      input: {
        name: `${architecture} from scratch`,
        architecture,
        corpusIds: [textCorpusId],
        ...(withReal ? { corpusId: realCorpusId, split: 'train' } : {}),
        size: SIZE,
        seqLen: 64,
        batchSize: 8,
        maxSteps: 30,
        learningRate: 0.003,
        heldOutFraction: 0.1,
        maskProbability: 0.15,
      },
    });
    const job = await api.waitForJob(pretrainModel.id, 180_000);
    expect(job.error).toBeNull();
    expect(job.result.steps).toBe(30);
    // Fresh weights score about ln V on the held-out masked tokens; 30 steps already do better.
    const lnV = Math.log(job.result.vocabSize);
    expect(job.result.initialHeldOutMlmLoss).toBeCloseTo(lnV, 0);
    expect(job.result.heldOutMlmLoss).toBeLessThan(lnV - 0.3);
    expect(job.result.finalLoss).toBeLessThan(lnV);

    const { model } = await api.query(
      `query($id: ID!) { model(id: $id) { kind architecture containsPhi baseModelId trainedOnCorpusId config trainingConfig metrics { name value step } } }`,
      { id: job.result.modelId },
    );
    expect(model).toMatchObject({ kind: 'ENCODER_PRETRAINED', architecture, containsPhi: withReal, baseModelId: null, trainedOnCorpusId: withReal ? realCorpusId : textCorpusId });
    expect(model.config.architectures).toEqual([hfClass]);
    expect(model.trainingConfig).toMatchObject({ architecture, corpusIds: [textCorpusId], maskProbability: 0.15, documents: withReal ? 54 : 36, heldOutDocuments: withReal ? 6 : 4 });
    const metric = (name: string) => model.metrics.filter((m: { name: string }) => m.name === name);
    expect(metric('heldout_mlm_loss')[0].value).toBeCloseTo(job.result.heldOutMlmLoss, 6);
    expect(metric('val_mlm_loss').at(-1)).toMatchObject({ step: 30 });
    expect(metric('train_loss').length).toBeGreaterThan(0);
    const { models } = await api.query(`{ models(kind: ENCODER_PRETRAINED) { edges { node { id } } } }`);
    expect(models.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(job.result.modelId);

    const response = await fetch(`${server.url}/models/${job.result.modelId}/download`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    const files = unzipSync(new Uint8Array(await response.arrayBuffer()));
    expect(Object.keys(files).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    expect(JSON.parse(new TextDecoder().decode(files['tokenizer_config.json'])).mask_token).toBe(architecture === 'bert' ? '[MASK]' : '<mask>');

    // A tagger fine-tuned from it: the pre-trained body, a fresh token-classification head.
    const { trainNerModel } = await api.query(TRAIN, { input: { name: `${architecture} tagger`, corpusId: realCorpusId, baseModelId: job.result.modelId, maxSteps: 4, batchSize: 8, learningRate: 0.003, chunkWords: 48 } });
    const tuned = await api.waitForJob(trainNerModel.id, 180_000);
    expect(tuned.error).toBeNull();
    const { model: tagger } = await api.query(`query($id: ID!) { model(id: $id) { kind baseModelId config } }`, { id: tuned.result.modelId });
    expect(tagger).toMatchObject({ kind: 'NER_ANNOTATOR', baseModelId: job.result.modelId });
    expect(tagger.config).toMatchObject({ architectures: [hfClass.replace('MaskedLM', 'TokenClassification')], hidden_size: SIZE.hiddenSize });

    // It predicts words, not tags; and it is no generator.
    const annotate = await api.raw(`mutation($m: ID!, $c: ID!) { annotateCorpus(modelId: $m, corpusId: $c, split: "dev") { id } }`, { m: job.result.modelId, c: realCorpusId });
    expect(annotate.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(annotate.errors?.[0]?.message).toMatch(/masked-LM head and no labels.*trainNerModel/);
    const adapt = await api.raw(`mutation($input: AdaptGeneratorInput!) { adaptGenerator(input: $input) { id } }`, { input: { name: 'x', baseModelId: job.result.modelId, corpusId: realCorpusId } });
    expect(adapt.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(adapt.errors?.[0]?.message).toMatch(/encoder; adaptation needs a causal LM/);
  });

  // Holds on either kind of machine: with a WebGPU adapter (a GPU, or Mesa's software lavapipe) the
  // encoder pre-trains there and the log says where the masked-LM step's nodes ran; without one
  // the job fails naming WebGPU.
  it('should pre-train on webgpu, logging where the masked-LM step ran, or fail naming webgpu', async () => {
    const { pretrainModel } = await api.query(PRETRAIN, {
      input: { name: 'bert on webgpu', architecture: 'bert', corpusIds: [textCorpusId], size: SIZE, seqLen: 64, batchSize: 8, maxSteps: 3, learningRate: 0.003, device: 'webgpu' },
    });
    const { job, placement } = await webgpuJob(api, pretrainModel.id, 'encoder masked-lm training step with AdamW, weights on the device');
    if (job.status === 'SUCCEEDED') {
      expect(job.result.steps).toBe(3);
      expect(placement).toHaveLength(1);
      expect(placement[0]).toMatch(/nodes on webgpu; \d+ on the CPU .*; the run took /);
      expect(placement[0]).not.toMatch(/LogSoftmax/); // its log-softmax is built from ops WebGPU has
    } else expect([job.status, job.error]).toEqual(['FAILED', expect.stringMatching(/webgpu/i)]);
  });

  it('should refuse a mask probability outside (0, 1)', async () => {
    const bad = await api.raw(PRETRAIN, { input: { name: 'x', architecture: 'bert', corpusIds: [textCorpusId], size: SIZE, seqLen: 64, maskProbability: 1 } });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.errors?.[0]?.message).toMatch(/maskProbability/);
  });
});
