/**
 * The whole method through the API, at toy scale: import real annotated notes, train an annotator,
 * adapt a generator, generate synthetic notes, tag them with the annotator, train a tagger on the
 * synthetic notes alone, score both taggers on held-out real notes, and measure what the synthetic
 * notes copied. Every step is a job whose result names what it made.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipSync } from 'fflate';
import { ApiClient } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { HF_TINY } from '../support/paths.js';
import { base64, meddocanZip } from '../support/meddocan.js';

const SCRATCH = { hiddenSize: 64, numLayers: 1, numHeads: 2, intermediateSize: 128, maxPositions: 256, vocabSize: 2000 };

describe('the synthesis method end to end (embedded database)', () => {
  let server: TestServer;
  let api: ApiClient;

  beforeAll(async () => {
    server = await startTestServer('embedded');
    api = new ApiClient(server.url, server.adminToken);
  });
  afterAll(async () => server?.stop());

  const run = async (mutation: string, input: Record<string, unknown>) => {
    const data = await api.query(mutation, { input });
    const job = await api.waitForJob((Object.values(data)[0] as { id: string }).id, 180_000);
    expect(job.error, mutation.slice(0, 40)).toBeNull();
    return job.result;
  };

  it('should take real notes to a shareable synthetic corpus and a tagger trained on it alone', async () => {
    const real = await run(`mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`, {
      name: 'real', fileName: 'meddocan.zip', contentBase64: base64(meddocanZip({ train: 60, dev: 15 }).bytes),
    });
    const train = { corpusId: real.corpusId, split: 'train', scratch: SCRATCH, epochs: 30, maxSteps: 80, batchSize: 8, learningRate: 0.003, seed: 1 };
    const annotator = await run(`mutation($input: TrainNerModelInput!) { trainNerModel(input: $input) { id } }`, { name: 'annotator', ...train });

    const files = Object.fromEntries(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => [f, fs.readFileSync(path.join(HF_TINY, 'gpt2-tiny', f))]));
    const { importModel } = await api.query(`mutation($input: ImportModelInput!) { importModel(input: $input) { id } }`, { input: { name: 'gpt2', kind: 'GENERATOR', contentBase64: base64(zipSync(files)) } });
    const generator = await run(`mutation($input: AdaptGeneratorInput!) { adaptGenerator(input: $input) { id } }`, {
      name: 'adapted', baseModelId: importModel.id, corpusId: real.corpusId, split: 'train', seqLen: 64, batchSize: 8, maxSteps: 20, learningRate: 0.01,
    });
    const synthetic = await run(`mutation($input: GenerateSyntheticCorpusInput!) { generateSyntheticCorpus(input: $input) { id } }`, {
      name: 'synthetic', generatorModelId: generator.modelId, promptCorpusId: real.corpusId, promptSplit: 'dev', samplesPerPrompt: 4, maxNewTokens: 48, seed: 2,
    });
    expect(synthetic.documents).toBe(60);

    // The annotator tags the synthetic notes; a new tagger learns from those tags alone.
    const tagged = await api.waitForJob((await api.query(`mutation($m: ID!, $c: ID!) { annotateCorpus(modelId: $m, corpusId: $c) { id } }`, { m: annotator.modelId, c: synthetic.corpusId })).annotateCorpus.id);
    expect(tagged.error).toBeNull();
    const { corpus } = await api.query(`query($id: ID!) { corpus(id: $id) { kind labels documents(first: 60) { edges { node { annotations(source: MACHINE) { label } } } } } }`, { id: synthetic.corpusId });
    expect(corpus.kind).toBe('SYNTHETIC');
    const machineSpans = corpus.documents.edges.reduce((n: number, e: { node: { annotations: unknown[] } }) => n + e.node.annotations.length, 0);
    expect(machineSpans).toBe(tagged.result.spans);

    const syntheticNer = await run(`mutation($input: TrainNerModelInput!) { trainNerModel(input: $input) { id } }`, {
      ...train, name: 'synthetic tagger', corpusId: synthetic.corpusId, split: '', annotationModelId: annotator.modelId, kind: 'NER_SYNTHETIC',
    });

    // Both taggers tag the held-out real notes and are scored against the gold annotations.
    const f1 = async (modelId: string) => {
      const annotated = await api.waitForJob((await api.query(`mutation($m: ID!, $c: ID!) { annotateCorpus(modelId: $m, corpusId: $c, split: "dev") { id } }`, { m: modelId, c: real.corpusId })).annotateCorpus.id);
      expect(annotated.error).toBeNull();
      const scored = await run(`mutation($input: EvaluateInput!) { evaluate(input: $input) { id } }`, { goldCorpusId: real.corpusId, split: 'dev', modelId, bootstrapResamples: 100 });
      return scored.entity.f1 as number;
    };
    const goldF1 = await f1(annotator.modelId);
    const syntheticF1 = await f1(syntheticNer.modelId);
    console.log(`toy pipeline: annotator F1 ${goldF1.toFixed(3)}, synthetic-trained F1 ${syntheticF1.toFixed(3)}, ${machineSpans} machine spans on ${synthetic.documents} synthetic notes`);
    expect(goldF1).toBeGreaterThan(0);
    const { models } = await api.query(`{ models(kind: NER_SYNTHETIC) { edges { node { id trainedOnCorpusId } } } }`);
    expect(models.edges[0].node).toEqual({ id: syntheticNer.modelId, trainedOnCorpusId: synthetic.corpusId });

    // What the synthetic notes copied from the real ones.
    const { privacyReport } = await api.query(`mutation($s: ID!, $r: ID!) { privacyReport(syntheticCorpusId: $s, realCorpusId: $r, realSplit: "train") { id } }`, { s: synthetic.corpusId, r: real.corpusId });
    const privacy = await api.waitForJob(privacyReport.id);
    expect(privacy.status).toBe('SUCCEEDED');
  });
});
