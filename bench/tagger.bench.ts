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
import { flag, hasFlag, numberFlag } from '../src/bench/args.js';

const DATA = process.env.MEDDOCAN_DIR ?? path.resolve(PROJECT_ROOT, '../shared/data/meddocan');


async function main(): Promise<void> {
  rerunWithMallocEnv(import.meta.url);
  const d = TAGGER_DEFAULTS;
  const hidden = numberFlag('hidden', d.hidden);
  const o = {
    fraction: numberFlag('fraction', d.fraction),
    hidden,
    layers: numberFlag('layers', d.layers),
    heads: numberFlag('heads', d.heads),
    ffn: numberFlag('ffn', 4 * hidden),
    vocab: numberFlag('vocab', d.vocab),
    maxPositions: numberFlag('max-positions', d.maxPositions),
    epochs: numberFlag('epochs', d.epochs),
    batch: numberFlag('batch', d.batch),
    lr: numberFlag('lr', d.lr),
    warmup: numberFlag('warmup', d.warmup),
    chunkWords: numberFlag('chunk-words', d.chunkWords),
    seed: numberFlag('seed', d.seed),
    threads: numberFlag('threads', d.threads),
    labelWords: hasFlag('label-words'),
    stride: numberFlag('stride', numberFlag('chunk-words', d.chunkWords)),
    validationSplit: numberFlag('validation-split', d.validationSplit),
    patience: numberFlag('patience', d.patience),
  };
  const model = flag('model');
  const keep = flag('keep');
  const dev = flag('dev');
  if (!model) console.log(`training on MEDDOCAN train: ${JSON.stringify(o)}`);
  const r = await runTagger({
    ...o,
    data: DATA,
    greedy: hasFlag('greedy'),
    ...(model ? { modelDir: model } : {}),
    ...(keep ? { keepDir: keep } : {}),
    ...(dev ? { devDocuments: numberFlag('dev', 0) } : {}),
  });
  const f = (x: number): string => x.toFixed(3);
  console.log(`dev: ${r.devDocuments} documents, ${r.goldSpans} gold spans, ${r.predictedSpans} predicted; tagging ${r.tagSeconds.toFixed(0)} s`);
  console.log(`token F1 ${f(r.tokenF1)}  strict entity F1 ${f(r.entityF1)} (P ${f(r.entityPrecision)} R ${f(r.entityRecall)})  merged span F1 ${f(r.mergedSpanF1)}  training ${r.trainSeconds.toFixed(0)} s`);
}

await main();
