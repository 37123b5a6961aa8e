/**
 * Generator training length: where between word salad and memorisation? Pre-trains a small decoder
 * from scratch on the unannotated Spanish clinical text (pretrainDecoder), then adapts it to the
 * text of MEDDOCAN train (adaptGenerator) for a growing number of steps, and at each point measures
 * held-out perplexity on MEDDOCAN dev, samples notes prompted with the first words of train notes,
 * and scores their diversity (distinct-1/2/3, as the generation job records it) and how much of the
 * training text they copy (5-gram overlap and longest copied passage, the privacy report's).
 *   npm run build && npm run bench:generator -- [options]
 * Options (defaults in brackets):
 *   pre-training: --architecture gpt2|llama [gpt2] --hidden [160] --layers [3] --heads [4]
 *   --ffn [4 × hidden] --vocab [6000] --max-positions [256] --pretrain-steps [400]
 *   --pretrain-lr [1e-3] --pretrain-docs N documents of the domain text [all];
 *   --base DIR adapts a saved model folder instead of pre-training one; --save-base DIR keeps the
 *   pre-trained model there for a later --base.
 *   adaptation: --epochs-points [1,2,4,8,16] measure after these many epochs in all, or
 *   --points 100,200,… after these many optimizer steps in all; --lr [5e-4] --warmup steps per
 *   segment [20] --batch [16] --seq-len [128] --lora R (LoRA of rank R, alpha 4R, merged at each
 *   point; default all weights); --fraction F of train's documents, the first by id [1].
 *   measuring: --notes [64] prompts (the first N train notes), one sample each; --prompt-words [3];
 *   --max-new-tokens [120] --top-p [0.95] --temperature [1] --sample-seed [0]; --dev N documents of
 *   MEDDOCAN dev for perplexity [all]; --max-overlap [0.35] the privacy floor of the sweet-spot rule.
 *   --seed [0] --threads [2] --keep DIR keeps every point's model (DIR/base, DIR/point-1, …);
 *   --measure-only with --base DIR measures that folder alone (no adaptation).
 * Each point continues from the previous point's saved model with its own warm-up and linear decay
 * (a restart schedule): the checkpoint of one run cannot be resumed with a longer plan (the loop
 * refuses a changed configuration), and a decay-to-zero per point makes every point a finished model.
 * Results: docs/engine-benchmark.md, "Generator training length".
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/common/paths.js';
import { adaptGenerator, generateTexts, measureHeldOut, pretrainDecoder } from '../src/engine/tasks/index.js';
import { distinctN, indexRealCorpus, privacyReport, readBratDirectory } from '../src/scoring/index.js';
import { firstWords } from '../src/synthesis/prompts.js';
import { flag, hasFlag, numberFlag } from '../src/bench/args.js';
import { rerunWithMallocEnv } from '../src/bench/malloc-env.js';

const MEDDOCAN = path.resolve(PROJECT_ROOT, '../shared/data/meddocan');
const DOMAIN = path.resolve(PROJECT_ROOT, '../shared/data/spanish-clinical-text/docs');

const list = (name: string): number[] | null => {
  const v = flag(name);
  if (v === undefined) return null;
  const xs = v.split(',').map(Number);
  if (!xs.length || xs.some((x, i) => !Number.isInteger(x) || x < 1 || (i > 0 && x <= xs[i - 1]!))) throw new Error(`--${name} must be increasing positive integers separated by commas (e.g. 1,2,4,8), got ${v}`);
  return xs;
};

interface Row {
  point: string;
  steps: number;
  trainLoss: number | null;
  perplexity: number;
  distinct: [number, number, number];
  overlap: number;
  longestCopy: number;
  trainSeconds: number;
  wallSeconds: number;
}

async function main(): Promise<void> {
  rerunWithMallocEnv(import.meta.url);
  const architecture = flag('architecture') ?? 'gpt2';
  if (architecture !== 'gpt2' && architecture !== 'llama') throw new Error(`--architecture must be gpt2 or llama, got ${architecture}`);
  const hidden = numberFlag('hidden', 160);
  const o = {
    seqLen: numberFlag('seq-len', 128),
    batch: numberFlag('batch', 16),
    lr: numberFlag('lr', 5e-4),
    warmup: numberFlag('warmup', 20),
    lora: flag('lora') ? numberFlag('lora', 8) : null,
    notes: numberFlag('notes', 64),
    promptWords: numberFlag('prompt-words', 3),
    maxNewTokens: numberFlag('max-new-tokens', 120),
    topP: numberFlag('top-p', 0.95),
    temperature: numberFlag('temperature', 1),
    sampleSeed: numberFlag('sample-seed', 0),
    maxOverlap: numberFlag('max-overlap', 0.35),
    seed: numberFlag('seed', 0),
    threads: numberFlag('threads', 2),
  };
  const stepPoints = list('points');
  const epochPoints = stepPoints ? null : (list('epochs-points') ?? [1, 2, 4, 8, 16]);
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  const progress = (line: string): void => void process.stderr.write(`[${elapsed().toFixed(0).padStart(5)} s] ${line}\n`);

  const trainAll = readBratDirectory(path.join(MEDDOCAN, 'train'));
  const train = trainAll.slice(0, Math.max(1, Math.round(numberFlag('fraction', 1) * trainAll.length)));
  const devAll = readBratDirectory(path.join(MEDDOCAN, 'dev'));
  const dev = devAll.slice(0, numberFlag('dev', devAll.length));
  const trainTexts = train.map((d) => d.text);
  const devTexts = dev.map((d) => d.text);
  const prompts = train.slice(0, o.notes).map((d) => firstWords(d.text, o.promptWords));
  const realIndex = indexRealCorpus(train);

  const keep = flag('keep');
  const work = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'generator-bench-'));
  fs.mkdirSync(work, { recursive: true });
  const rows: Row[] = [];

  // 1. the pre-trained base: a saved one, or pre-trained here (the expensive part)
  let base = flag('base');
  if (base) console.log(`base: ${base} (not pre-trained here)`);
  else {
    base = flag('save-base') ?? path.join(work, 'base');
    const domainFiles = fs.readdirSync(DOMAIN).filter((f) => f.endsWith('.txt')).sort();
    const domain = domainFiles.slice(0, numberFlag('pretrain-docs', domainFiles.length)).map((f) => fs.readFileSync(path.join(DOMAIN, f), 'utf8'));
    const size = { hiddenSize: hidden, numLayers: numberFlag('layers', 3), numHeads: numberFlag('heads', 4), intermediateSize: numberFlag('ffn', 4 * hidden), maxPositions: numberFlag('max-positions', 256), vocabSize: numberFlag('vocab', 6000) };
    const steps = numberFlag('pretrain-steps', 400);
    console.log(`pre-training ${architecture} ${JSON.stringify(size)} on ${domain.length} domain documents for ${steps} steps`);
    const t0 = performance.now();
    const result = await pretrainDecoder(
      { architecture, size, texts: domain, heldOutTexts: [], outputDir: base, seqLen: o.seqLen, batchSize: o.batch, epochs: 1000, maxSteps: steps, lr: numberFlag('pretrain-lr', 1e-3), warmupSteps: Math.round(0.05 * steps), seed: o.seed, intraOpThreads: o.threads },
      (p) => {
        if (p.step % 25 === 0 || p.step === p.totalSteps) progress(`pre-training step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)}`);
      },
    );
    const tail = result.losses.slice(-50);
    console.log(`pre-trained ${result.trainableParameters} parameters, vocabulary ${result.vocabSize}, ${result.tokens} tokens, ${result.steps} steps in ${((performance.now() - t0) / 1000).toFixed(0)} s; loss of the last ${tail.length} steps ${(tail.reduce((a, b) => a + b, 0) / tail.length).toFixed(3)}`);
    if (flag('save-base')) console.log(`saved the pre-trained model to ${base} (reuse with --base ${base})`);
  }
  console.log(`adapting on ${train.length} MEDDOCAN train notes (${o.lora ? `LoRA r ${o.lora}` : 'all weights'}, lr ${o.lr}, warm-up ${o.warmup} steps per segment, ${o.batch} × ${o.seqLen}); measuring ${dev.length} dev notes, ${prompts.length} samples of ≤ ${o.maxNewTokens} new tokens (top-p ${o.topP}, temperature ${o.temperature}, seed ${o.sampleSeed})`);

  // 2. at each point: held-out perplexity, samples, their diversity and copying
  const measure = async (point: string, modelDir: string, steps: number, trainLoss: number | null, trainSeconds: number): Promise<void> => {
    progress(`${point}: perplexity on ${dev.length} dev notes`);
    const heldOut = await measureHeldOut(modelDir, devTexts, { seqLen: o.seqLen, batchSize: o.batch, intraOpThreads: o.threads });
    progress(`${point}: sampling ${prompts.length} notes`);
    const { texts } = await generateTexts(
      { modelDir, prompts, samplesPerPrompt: 1, batchSize: 16, maxNewTokens: o.maxNewTokens, temperature: o.temperature, topP: o.topP, topK: null, seed: o.sampleSeed, intraOpThreads: o.threads },
      (p) => {
        if (p.kind === 'progress') progress(`${point}: ${p.done}/${p.total} notes, ${p.newTokens} new tokens`);
      },
    );
    // diversity of what was sampled (prompts left out), as the generation job records it;
    // copying over the whole notes, as the privacy report and guard see them
    const continuations = texts.map((t, i) => t.slice(prompts[i]!.length));
    const report = privacyReport(texts.map((text, i) => ({ id: `sample-${i + 1}`, text })), realIndex);
    const row: Row = {
      point,
      steps,
      trainLoss,
      perplexity: heldOut.perplexity,
      distinct: [distinctN(continuations, 1), distinctN(continuations, 2), distinctN(continuations, 3)],
      overlap: report.ngramOverlap.corpus,
      longestCopy: report.longestCopied?.words ?? 0,
      trainSeconds,
      wallSeconds: elapsed(),
    };
    rows.push(row);
    // every column, so a run stopped before its table still has its rows
    progress(`${point}: steps ${steps}, train loss ${trainLoss === null ? '—' : trainLoss.toFixed(3)}, held-out ppl ${row.perplexity.toFixed(1)}, distinct-1/2/3 ${row.distinct.map((d) => d.toFixed(3)).join('/')}, 5-gram overlap ${row.overlap.toFixed(3)}, longest copy ${row.longestCopy} words, train ${trainSeconds.toFixed(0)} s`);
    console.log(`  ${point} sample: ${JSON.stringify(texts[0]!.slice(0, 240))}`);
  };
  await measure('base', base, 0, null, 0);

  // 3. adapt further segment by segment, each continuing from the previous point's model
  const targets = hasFlag('measure-only') ? [] : (stepPoints ?? epochPoints!);
  let previous = base;
  let steps = 0;
  for (let i = 0; i < targets.length; i++) {
    const point = stepPoints ? `${targets[i]} steps` : `${targets[i]} ep`;
    const more = targets[i]! - (i > 0 ? targets[i - 1]! : 0);
    const outputDir = path.join(work, `point-${i + 1}`);
    const t0 = performance.now();
    const result = await adaptGenerator(
      {
        modelDir: previous,
        texts: trainTexts,
        outputDir,
        lora: o.lora ? { r: o.lora, alpha: 4 * o.lora, targetModules: null } : null,
        seqLen: o.seqLen,
        batchSize: o.batch,
        epochs: stepPoints ? 1000 : more,
        maxSteps: stepPoints ? more : null,
        lr: o.lr,
        warmupSteps: o.warmup,
        seed: o.seed + i,
        intraOpThreads: o.threads,
      },
      (p) => {
        if (p.step % 25 === 0 || p.step === p.totalSteps) progress(`${point}: adapting step ${steps + p.step}/${steps + p.totalSteps} loss ${p.loss.toFixed(3)}`);
      },
    );
    const trainSeconds = (performance.now() - t0) / 1000;
    steps += result.steps;
    const tail = result.losses.slice(-Math.min(50, result.losses.length));
    await measure(point, outputDir, steps, tail.reduce((a, b) => a + b, 0) / tail.length, trainSeconds);
    if (!keep && previous !== base) fs.rmSync(previous, { recursive: true, force: true });
    previous = outputDir;
  }

  // 4. the table and the sweet spot
  const f3 = (x: number): string => x.toFixed(3);
  console.log('');
  console.log('| point | steps | train loss | held-out ppl | distinct-1 | distinct-2 | distinct-3 | 5-gram overlap | longest copy (words) | train s | wall s |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.point} | ${r.steps} | ${r.trainLoss === null ? '—' : f3(r.trainLoss)} | ${r.perplexity.toFixed(1)} | ${f3(r.distinct[0])} | ${f3(r.distinct[1])} | ${f3(r.distinct[2])} | ${f3(r.overlap)} | ${r.longestCopy} | ${r.trainSeconds.toFixed(0)} | ${r.wallSeconds.toFixed(0)} |`);
  }
  console.log('');
  const rule = `sweet spot: the adapted point with the lowest held-out perplexity whose 5-gram overlap ≤ ${o.maxOverlap} (the privacy floor)`;
  const allowed = rows.filter((r) => r.point !== 'base' && r.overlap <= o.maxOverlap);
  const best = allowed.reduce<Row | null>((b, r) => (b === null || r.perplexity < b.perplexity ? r : b), null);
  console.log(`${rule}: ${best ? `${best.point} (${best.steps} steps, held-out ppl ${best.perplexity.toFixed(1)}, overlap ${f3(best.overlap)}, longest copy ${best.longestCopy} words)` : rows.length > 1 ? 'none — every adapted point copies more than the floor' : 'no adapted point measured'}`);
  const lowest = rows.reduce((b, r) => (r.perplexity < b.perplexity ? r : b));
  if (best && lowest !== best) console.log(`(the lowest held-out perplexity overall, ${lowest.perplexity.toFixed(1)} at ${lowest.point}, copies ${f3(lowest.overlap)} of its 5-grams: over the floor)`);
  if (!keep) fs.rmSync(work, { recursive: true, force: true });
}

await main();
