// A NER tagger trained from scratch on MEDDOCAN train (trainNer: a WordPiece tokenizer trained on
// the training texts, a fresh BERT encoder), tagging MEDDOCAN dev (annotateNer) and scored with
// src/scoring. Shared by `bench:tagger` and `check:device`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { annotateNer, trainNer, type NerTrainProgress } from '../engine/ner/index.js';
import type { Device } from '../engine/runtime/session.js';
import { MEDDOCAN_LABELS, evaluate, readBratDirectory } from '../scoring/index.js';

export interface TaggerOptions {
  /** MEDDOCAN in BRAT: `<data>/train` and `<data>/dev`. */
  data: string;
  /** Share of train's documents, the first by id. */
  fraction: number;
  hidden: number;
  layers: number;
  heads: number;
  ffn: number;
  vocab: number;
  maxPositions: number;
  epochs: number;
  /** Cap on optimizer steps (the schedule is laid out for this many). */
  maxSteps?: number;
  batch: number;
  lr: number;
  warmup: number;
  chunkWords: number;
  seed: number;
  threads: number;
  labelWords: boolean;
  stride: number;
  greedy: boolean;
  validationSplit: number;
  patience: number;
  /** Score only the first N dev documents (default all 250). */
  devDocuments?: number;
  device?: Device;
  /** Tag with this trained model folder instead of training one. */
  modelDir?: string;
  /** Keep the trained model here (default: a temporary folder, removed). */
  keepDir?: string;
}

/** bench:tagger's defaults: all of train, hidden 256, 2 layers, 2 epochs of 16. */
export const TAGGER_DEFAULTS: Omit<TaggerOptions, 'data'> = {
  fraction: 1, hidden: 256, layers: 2, heads: 4, ffn: 1024, vocab: 8000, maxPositions: 512, epochs: 2, batch: 16, lr: 1e-3,
  warmup: 0.1, chunkWords: 128, seed: 0, threads: 2, labelWords: false, stride: 128, greedy: false, validationSplit: 0, patience: 2,
};

export interface TaggerResult {
  trainDocuments: number;
  devDocuments: number;
  steps: number;
  parameters: number;
  trainSeconds: number;
  tagSeconds: number;
  goldSpans: number;
  predictedSpans: number;
  tokenF1: number;
  entityF1: number;
  entityPrecision: number;
  entityRecall: number;
  mergedSpanF1: number;
}

/** Trains (unless `modelDir`), tags dev and scores it; `log` gets progress lines. */
export async function runTagger(o: TaggerOptions, log: (line: string) => void = console.log, signal?: AbortSignal): Promise<TaggerResult> {
  const train = readBratDirectory(path.join(o.data, 'train'));
  const trainDocs = train.slice(0, Math.max(1, Math.round(o.fraction * train.length)));
  const devAll = readBratDirectory(path.join(o.data, 'dev'));
  const dev = devAll.slice(0, o.devDocuments ?? devAll.length);
  const labels = [...MEDDOCAN_LABELS];
  const device = o.device ? { device: o.device } : {};

  let modelDir = o.modelDir;
  let trainSeconds = 0;
  let steps = 0;
  let parameters = 0;
  if (!modelDir) {
    modelDir = o.keepDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tagger-'));
    const started = performance.now();
    let lastPrint = 0;
    const progress = (p: NerTrainProgress): void => {
      if (p.validation) log(`  epoch ${p.validation.epoch} (step ${p.step}): validation token F1 ${p.validation.tokenF1.toFixed(3)}, strict entity F1 ${p.validation.entityF1.toFixed(3)}`);
      if (performance.now() - lastPrint > 30_000 || p.step === p.totalSteps) {
        lastPrint = performance.now();
        log(`  step ${p.step}/${p.totalSteps} epoch ${p.epoch} loss ${p.loss.toFixed(4)} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
      }
    };
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
        ...device,
        train: {
          epochs: o.epochs, batchSize: o.batch, lr: o.lr, schedule: 'linear', warmupRatio: o.warmup, seed: o.seed, earlyStoppingPatience: o.patience,
          ...(o.maxSteps ? { maxSteps: o.maxSteps } : {}),
        },
      },
      progress,
      signal,
    );
    trainSeconds = (performance.now() - started) / 1000;
    steps = result.steps;
    parameters = result.parameters;
    log(`  trained ${result.parameters} parameters, ${result.examples} examples, ${steps} steps in ${trainSeconds.toFixed(0)} s`);
    if (result.validation) log(`  validation on ${result.validation.documents} held-out documents: kept step ${result.validation.bestStep}${result.validation.stoppedEarly ? ', stopped early' : ''}`);
  }
  try {
    const tagStarted = performance.now();
    const predicted = await annotateNer(
      { modelDir, documents: dev.map((d) => ({ text: d.text })), chunkWords: o.chunkWords, chunkStride: o.stride, decoding: o.greedy ? 'greedy' : 'viterbi', batchSize: 16, intraOpThreads: o.threads, ...device },
      undefined,
      signal,
    );
    const tagSeconds = (performance.now() - tagStarted) / 1000;
    // every MEDDOCAN label: an undertrained tagger may predict one that dev's gold never holds
    const scores = evaluate(dev, dev.map((d, i) => ({ id: d.id, spans: predicted[i]!.spans })), { bootstrap: false, labels });
    const m = scores.entity.micro;
    return {
      trainDocuments: trainDocs.length, devDocuments: dev.length, steps, parameters, trainSeconds, tagSeconds,
      goldSpans: m.tp + m.fn, predictedSpans: m.tp + m.fp,
      tokenF1: scores.token.micro.f1, entityF1: m.f1, entityPrecision: m.precision, entityRecall: m.recall, mergedSpanF1: scores.spans.merged.f1,
    };
  } finally {
    if (!o.modelDir && !o.keepDir) fs.rmSync(modelDir, { recursive: true, force: true });
  }
}
