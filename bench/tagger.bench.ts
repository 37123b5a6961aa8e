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
import path from 'node:path';
import { PROJECT_ROOT } from '../src/common/paths.js';
import { rerunWithMallocEnv } from '../src/bench/malloc-env.js';
import { TAGGER_DEFAULTS, runTagger } from '../src/bench/tagger.js';

const DATA = process.env.MEDDOCAN_DIR ?? path.resolve(PROJECT_ROOT, '../shared/data/meddocan');

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
  rerunWithMallocEnv(import.meta.url);
  const d = TAGGER_DEFAULTS;
  const hidden = num('hidden', d.hidden);
  const o = {
    fraction: num('fraction', d.fraction),
    hidden,
    layers: num('layers', d.layers),
    heads: num('heads', d.heads),
    ffn: num('ffn', 4 * hidden),
    vocab: num('vocab', d.vocab),
    maxPositions: num('max-positions', d.maxPositions),
    epochs: num('epochs', d.epochs),
    batch: num('batch', d.batch),
    lr: num('lr', d.lr),
    warmup: num('warmup', d.warmup),
    chunkWords: num('chunk-words', d.chunkWords),
    seed: num('seed', d.seed),
    threads: num('threads', d.threads),
    labelWords: argv.includes('--label-words'),
    stride: num('stride', num('chunk-words', d.chunkWords)),
    validationSplit: num('validation-split', d.validationSplit),
    patience: num('patience', d.patience),
  };
  const model = arg('model');
  const keep = arg('keep');
  const dev = arg('dev');
  if (!model) console.log(`training on MEDDOCAN train: ${JSON.stringify(o)}`);
  const r = await runTagger({
    ...o,
    data: DATA,
    greedy: argv.includes('--greedy'),
    ...(model ? { modelDir: model } : {}),
    ...(keep ? { keepDir: keep } : {}),
    ...(dev ? { devDocuments: num('dev', 0) } : {}),
  });
  const f = (x: number): string => x.toFixed(3);
  console.log(`dev: ${r.devDocuments} documents, ${r.goldSpans} gold spans, ${r.predictedSpans} predicted; tagging ${r.tagSeconds.toFixed(0)} s`);
  console.log(`token F1 ${f(r.tokenF1)}  strict entity F1 ${f(r.entityF1)} (P ${f(r.entityPrecision)} R ${f(r.entityRecall)})  merged span F1 ${f(r.mergedSpanF1)}  training ${r.trainSeconds.toFixed(0)} s`);
}

await main();
