/**
 * Tagger quality benchmark: trains a NER tagger from scratch through the engine (trainNer, no
 * server) on MEDDOCAN train, tags MEDDOCAN dev with annotateNer and scores it with src/scoring.
 *   npm run build && npm run bench:tagger -- [options]
 * Options (defaults in brackets): --fraction F of train's documents, the first by id [1];
 * --hidden [256] --layers [2] --heads [4] --ffn [4 × hidden] --vocab [8000] --max-positions [512];
 * --epochs [2] --batch [16] --lr [1e-3] --warmup [0.1] --chunk-words [128] --seed [0]
 * --threads [2]; --label-words (train on each word's first sub-token only); --stride N (tag with
 * chunks starting every N words, overlapping; default chunk-words); --greedy (each word's best tag,
 * BIO repaired, instead of the best valid BIO sequence); --model DIR tags with a trained model folder instead of training one;
 * --keep DIR saves the trained model there; --validation-split F holds out that share of the
 * training documents, validates after every epoch, keeps the best epoch and stops early after
 * --patience N [2] epochs without a better strict entity F1; --dev N scores the first N dev documents [all].
 * Prints token F1, strict entity F1, merged span F1 (labels ignored) and training seconds.
 * Results: docs/engine-benchmark.md, "Tagger quality".
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROJECT_ROOT } from '../src/common/paths.js';
import { annotateNer, trainNer } from '../src/engine/ner/index.js';
import { MEDDOCAN_LABELS, evaluate, readBratDirectory } from '../src/scoring/index.js';

const DATA = path.resolve(PROJECT_ROOT, '../shared/data/meddocan');
/** Same glibc tunables as bench:engine (docs/engine-benchmark.md, "Method"); set before the process starts. */
const MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: '33554432', MALLOC_TRIM_THRESHOLD_: '68719476736' };

const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const num = (name: string, fallback: number): number => {
  const v = arg(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${v}`);
  return n;
};

async function main(): Promise<void> {
  if (!process.env.MALLOC_MMAP_THRESHOLD_) {
    const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...argv], { stdio: 'inherit', env: { ...process.env, ...MALLOC_ENV } });
    process.exit(r.status ?? 1);
  }
  const hidden = num('hidden', 256);
  const o = {
    fraction: num('fraction', 1),
    hidden,
    layers: num('layers', 2),
    heads: num('heads', 4),
    ffn: num('ffn', 4 * hidden),
    vocab: num('vocab', 8000),
    maxPositions: num('max-positions', 512),
    epochs: num('epochs', 2),
    batch: num('batch', 16),
    lr: num('lr', 1e-3),
    warmup: num('warmup', 0.1),
    chunkWords: num('chunk-words', 128),
    seed: num('seed', 0),
    threads: num('threads', 2),
    labelWords: argv.includes('--label-words'),
    stride: num('stride', num('chunk-words', 128)),
    validationSplit: num('validation-split', 0),
    patience: num('patience', 2),
  };
  const train = readBratDirectory(path.join(DATA, 'train'));
  const trainDocs = train.slice(0, Math.max(1, Math.round(o.fraction * train.length)));
  const devAll = readBratDirectory(path.join(DATA, 'dev'));
  const dev = devAll.slice(0, num('dev', devAll.length));
  const labels = [...MEDDOCAN_LABELS];

  let modelDir = arg('model');
  let trainSeconds = 0;
  let steps = 0;
  if (!modelDir) {
    modelDir = arg('keep') ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tagger-bench-'));
    console.log(`training on ${trainDocs.length} train documents: ${JSON.stringify(o)}`);
    const started = performance.now();
    let lastPrint = 0;
    const result = await trainNer(
      {
        documents: trainDocs.map((d) => ({ text: d.text, spans: d.spans })),
        labels,
        outputDir: modelDir,
        base: { scratch: { hiddenSize: o.hidden, numLayers: o.layers, numHeads: o.heads, intermediateSize: o.ffn, maxPositions: o.maxPositions, vocabSize: o.vocab } },
        chunkWords: o.chunkWords,
        labelWords: o.labelWords,
        validationSplit: o.validationSplit,
        resume: false,
        seed: o.seed,
        intraOpThreads: o.threads,
        train: { epochs: o.epochs, batchSize: o.batch, lr: o.lr, schedule: 'linear', warmupRatio: o.warmup, seed: o.seed, earlyStoppingPatience: o.patience },
      },
      (p) => {
        if (p.validation) console.log(`  epoch ${p.validation.epoch} (step ${p.step}): validation token F1 ${p.validation.tokenF1.toFixed(3)}, strict entity F1 ${p.validation.entityF1.toFixed(3)}`);
        if (performance.now() - lastPrint > 30_000 || p.step === p.totalSteps) {
          lastPrint = performance.now();
          console.log(`  step ${p.step}/${p.totalSteps} epoch ${p.epoch} loss ${p.loss.toFixed(4)} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
        }
      },
    );
    trainSeconds = (performance.now() - started) / 1000;
    steps = result.steps;
    console.log(`trained ${result.parameters} parameters, ${result.examples} examples, ${steps} steps in ${trainSeconds.toFixed(0)} s`);
    if (result.validation) console.log(`validation on ${result.validation.documents} held-out documents: kept step ${result.validation.bestStep}${result.validation.stoppedEarly ? ', stopped early' : ''}`);
  }
  const tagStarted = performance.now();
  const predicted = await annotateNer({ modelDir, documents: dev.map((d) => ({ text: d.text })), chunkWords: o.chunkWords, chunkStride: o.stride, decoding: argv.includes('--greedy') ? 'greedy' : 'viterbi', batchSize: 16, intraOpThreads: o.threads });
  const tagSeconds = (performance.now() - tagStarted) / 1000;
  const scores = evaluate(
    dev,
    dev.map((d, i) => ({ id: d.id, spans: predicted[i]! })),
    { bootstrap: false },
  );
  const f = (x: number): string => x.toFixed(3);
  console.log(`dev: ${dev.length} documents, ${scores.entity.micro.tp + scores.entity.micro.fn} gold spans, ${scores.entity.micro.tp + scores.entity.micro.fp} predicted; tagging ${tagSeconds.toFixed(0)} s`);
  console.log(`token F1 ${f(scores.token.micro.f1)}  strict entity F1 ${f(scores.entity.micro.f1)} (P ${f(scores.entity.micro.precision)} R ${f(scores.entity.micro.recall)})  merged span F1 ${f(scores.spans.merged.f1)}  training ${trainSeconds.toFixed(0)} s`);
  if (!arg('model') && !arg('keep')) fs.rmSync(modelDir, { recursive: true, force: true });
}

await main();
