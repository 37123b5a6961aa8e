/**
 * One experiment at MEDDOCAN scale through the API, timed step by step: the annotator trained on
 * all 500 training notes (from scratch), the tiny GPT-2 fixture adapted on them, twice the training
 * corpus in synthetic notes prompted from the first half of dev, the privacy guard, machine
 * annotation, the synthetic tagger, both taggers scored on the second half of dev, the privacy
 * report. Prints each step's wall time and the result table. No pretrained weights reach this
 * machine, so the generator is the small fixture: the numbers measure the platform, not the method.
 *
 *   npm run build && npm run bench:experiment [-- epochs]
 */
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { zipSync } from 'fflate';
import { ApiClient } from '../test/support/client.js';
import { base64, meddocanZip } from '../test/support/meddocan.js';
import { HF_TINY } from '../test/support/paths.js';
import { startTestServer } from '../test/support/server.js';

const epochs = Number(process.argv[2] ?? 4);
const server = await startTestServer('embedded', { LOG_LEVEL: 'warn' });
try {
  const api = new ApiClient(server.url, server.adminToken);
  const started = performance.now();
  const upload = meddocanZip({ train: undefined, prompt: { from: 'dev', skip: 0, take: 125 }, test: { from: 'dev', skip: 125, take: 125 } });
  const { importCorpus } = await api.query(`mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`, {
    input: { name: 'meddocan', fileName: 'meddocan.zip', contentBase64: base64(upload.bytes) },
  });
  const corpusId = (await api.waitForJob(importCorpus.id, 600_000)).result.corpusId;
  const files = Object.fromEntries(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => [f, fs.readFileSync(path.join(HF_TINY, 'gpt2-tiny', f))]));
  const { importModel } = await api.query(`mutation($input: ImportModelInput!) { importModel(input: $input) { id } }`, { input: { name: 'gpt2-tiny', kind: 'GENERATOR', contentBase64: base64(zipSync(files)) } });

  const tagger = { epochs, batchSize: 16, learningRate: 0.001, scratch: { hiddenSize: 128, numLayers: 2, numHeads: 4, intermediateSize: 512, maxPositions: 512, vocabSize: 8000 } };
  const { createExperiment } = await api.query(`mutation($input: CreateExperimentInput!) { createExperiment(input: $input) { experiment { id } stepsToRun } }`, {
    input: {
      name: 'meddocan bench',
      corpusId,
      trainSplit: 'train',
      promptSplit: 'prompt',
      testSplit: 'test',
      seed: 1,
      annotator: tagger,
      generator: { baseModelId: importModel.id, adaptation: { epochs: 1, seqLen: 128, batchSize: 8, learningRate: 0.001 } },
      generation: { sizeMultiple: 2, maxNewTokens: 96 },
      guard: { action: 'DROP' },
      evaluation: { bootstrapResamples: 1000 },
    },
  });
  const id = createExperiment.experiment.id;
  console.log(`experiment ${id}: ${createExperiment.stepsToRun} steps on ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'})`);

  const QUERY = `query($id: ID!) { experiment(id: $id) { status error steps { name status job { progress durationSeconds result } } } }`;
  let experiment: any;
  const printed = new Set<string>();
  while (true) {
    experiment = (await api.query(QUERY, { id })).experiment;
    for (const step of experiment.steps) {
      if (step.status === 'SUCCEEDED' && !printed.has(step.name)) {
        printed.add(step.name);
        console.log(`  ${step.name.padEnd(24)} ${step.job.durationSeconds.toFixed(1).padStart(8)} s`);
      }
    }
    if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(experiment.status)) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  console.log(`status ${experiment.status}${experiment.error ? `: ${experiment.error}` : ''}; total ${((performance.now() - started) / 1000 / 60).toFixed(1)} min including the import`);
  const { experiment: done } = await api.query(
    `query($id: ID!) { experiment(id: $id) { results {
      generatedDocuments syntheticDocuments guard { removed ngramOverlap copiedPassage phiStrings }
      gold { scorers { family micro { f1 ciLow ciHigh } } } synthetic { scorers { family micro { f1 ciLow ciHigh } } }
      privacy { ngramOverlap { corpus } phiReproduction { share } longestCopied { words } }
    } } }`,
    { id },
  );
  const r = done.results;
  console.log(`notes: ${r.generatedDocuments} generated, ${r.syntheticDocuments} kept; guard ${JSON.stringify(r.guard)}`);
  const row = (e: any, family: string) => {
    const m = e?.scorers.find((s: any) => s.family === family)?.micro;
    return m ? `${m.f1.toFixed(3)} [${m.ciLow.toFixed(3)}, ${m.ciHigh.toFixed(3)}]` : 'n/a';
  };
  for (const family of ['token', 'entity', 'span_merged']) console.log(`  ${family.padEnd(12)} gold ${row(r.gold, family)}   synthetic ${row(r.synthetic, family)}`);
  console.log(`privacy: 5-gram overlap ${r.privacy?.ngramOverlap.corpus.toFixed(3)}, PHI reproduced ${r.privacy?.phiReproduction.share.toFixed(3)}, longest copy ${r.privacy?.longestCopied?.words ?? 0} words`);
} finally {
  await server.stop();
}
