/**
 * Quality benchmark of the method at engine level (no server, no database): on MEDDOCAN,
 *   (a) the gold tagger: trained on `train`, validated after every epoch on one half of `dev`
 *       (a seeded split of the documents; the best epoch is kept), scored on the other half;
 *   (b) one small synthetic run: a generator pre-trained from scratch on the Spanish clinical
 *       text and the training notes (or --generator DIR), adapted on the training notes, N notes
 *       generated from the first words of training notes, machine-annotated by the gold tagger,
 *       and a synthetic tagger trained on those notes alone with the gold tagger's budget (as many
 *       optimizer steps, so more epochs of the smaller corpus; early stopping after as many steps
 *       without a better validation score), validated and scored on the same halves of dev.
 * Prints token F1 (typed and binary), strict entity F1 and merged span F1 (src/scoring, the
 * official script's numbers), strict F1 per label of both taggers (with how often each label
 * occurs per note in the machine-annotated notes and in train), wall time and tokens/s of every
 * stage, and the synthetic notes' 5-gram overlap with the training notes (src/scoring
 * privacyReport). Progress goes to stderr.
 *
 *   npm run build && npm run bench:quality -- [options]
 *
 * Options (defaults in brackets; --quick: the smoke settings in QUICK, under ~5 minutes):
 *   taggers:   --epochs [3] --hidden [256] --layers [2] --heads [4] --vocab [8000] --batch [16]
 *              --lr [1e-3] --chunk-words [128] --patience [2]
 *              --synthetic-lr: the synthetic tagger's rate [0: --lr]
 *   data:      --train-docs N first N train documents [all] --dev-docs N first N dev documents [all]
 *   generator: --generator DIR (a Hugging Face folder; skips pre-training)
 *              --gen-hidden [256] --gen-layers [4] --gen-heads [4] --gen-vocab [8000]
 *              --seq-len [128] --gen-batch [8] --pretrain-docs N Spanish clinical texts [all]
 *              --pretrain-steps [1000] --pretrain-lr [1e-3] --adapt-epochs [1] (0: no adaptation)
 *              --adapt-steps N cap [none] --adapt-lr [5e-4]
 *   notes:     --notes [500] --max-tokens [256] new tokens per note --prompt-words [5]
 *              --temperature [1] --top-p [0.95] --context N positions a note attends before it
 *              goes on from its latest half [--seq-len: the generator's training windows]
 *   --seed [0] --threads [2] --keep DIR (keep the models and notes there)
 *   encoder:   --base-steps N: first pre-train the taggers' encoder (masked LM, BERT of the taggers'
 *              size) for N steps of --batch × 128 tokens on the Spanish clinical texts alone (no
 *              real note: the synthetic tagger is what the method shares) (timed apart; kept with
 *              --keep), and fine-tune both taggers from it [0: taggers from scratch] --base-lr [5e-4]
 *              --base DIR: start both taggers from this pre-trained encoder folder instead (a
 *              pretrainModel or Hugging Face *ForMaskedLM folder; --hidden etc. are then unused)
 *   --gold DIR: a gold-tagger/ folder an earlier run kept with --keep, instead of training one;
 *              the synthetic tagger gets that run's budget (give that run's tagger settings)
 *   --gold-only: stop after the gold tagger (its scores, per label, and its stages)
 *   --notes-from FILE: the notes of a run kept with --keep (its synthetic.jsonl), instead of a
 *              generator and generation; they are machine-annotated and trained on as usual
 *   --unsure-below P: words of the notes that the gold tagger tagged O with a probability under
 *              P teach the synthetic tagger nothing (NerDocument.ignore, unsureWords) [0: none]
 * The kept notes (synthetic.jsonl, and synthetic-annotated.jsonl with the machine annotations) are
 * in the platform's JSONL corpus format, so `importCorpus` takes them as they are. They come from a
 * generator trained on the real notes and reproduce some real PHI strings (the share is printed):
 * keep them, and the rest of --keep DIR, as private as the corpus.
 * Results: docs/engine-benchmark.md, "Quality benchmark".
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/common/paths.js';
import { exportCorpus, parseCorpus } from '../src/corpora/formats/index.js';
import { annotateNer, chunkByWords, ignoredAt, splitDocuments, textWords, trainNer, type NerAnnotation, type NerDocument, type NerSpan } from '../src/engine/ner/index.js';
import { adaptGenerator, generateTexts, pretrainDecoder, pretrainEncoder, type AdaptResult } from '../src/engine/tasks/index.js';
import { loadTokenizer } from '../src/engine/tokenizers/index.js';
import { MEDDOCAN_LABELS, evaluate, indexRealCorpus, privacyReport, readBratDirectory, type EvaluationResult, type ScoringDocument } from '../src/scoring/index.js';
import { StageProgress } from './progress.js';
import { flag, hasFlag, numberFlag } from '../src/bench/args.js';
import { rerunWithMallocEnv } from '../src/bench/malloc-env.js';

const DATA = path.resolve(PROJECT_ROOT, '../shared/data');

const DEFAULTS = {
  epochs: 3, hidden: 256, layers: 2, heads: 4, vocab: 8000, batch: 16, lr: 1e-3, 'synthetic-lr': 0, 'chunk-words': 128, patience: 2,
  'train-docs': Infinity, 'dev-docs': Infinity,
  'gen-hidden': 256, 'gen-layers': 4, 'gen-heads': 4, 'gen-vocab': 8000, 'seq-len': 128, 'gen-batch': 8,
  'pretrain-docs': Infinity, 'pretrain-steps': 1000, 'pretrain-lr': 1e-3, 'adapt-epochs': 1, 'adapt-steps': 0, 'adapt-lr': 5e-4,
  notes: 500, 'max-tokens': 256, 'prompt-words': 5, temperature: 1, 'top-p': 0.95, context: 0, 'unsure-below': 0,
  'base-steps': 0, 'base-lr': 5e-4,
  seed: 0, threads: 2,
};
/** --quick: a smoke run of every stage (minutes, not hours); the scores say little at this size. */
const QUICK: Partial<typeof DEFAULTS> = {
  epochs: 3, hidden: 128, layers: 1, heads: 4, vocab: 4000, lr: 3e-3, 'chunk-words': 64, 'train-docs': 250, 'dev-docs': 100,
  'gen-hidden': 128, 'gen-layers': 2, 'gen-heads': 4, 'gen-vocab': 2000, 'seq-len': 64, 'pretrain-docs': 300,
  'pretrain-steps': 300, 'pretrain-lr': 3e-3, 'adapt-steps': 80, 'adapt-lr': 1e-3, notes: 256, 'max-tokens': 256,
};

function options(): typeof DEFAULTS {
  const base = { ...DEFAULTS, ...(hasFlag('quick') ? QUICK : {}) };
  const out = { ...base };
  for (const name of Object.keys(base) as (keyof typeof DEFAULTS)[]) {
    const v = flag(name);
    if (v === undefined) continue;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${v}`);
    out[name] = n;
  }
  return out;
}

interface Stage {
  name: string;
  seconds: number;
  tokens: number;
  /** What the tokens are (training: tokens through the model; generation: new tokens). */
  unit: string;
}

/** The first `words` whitespace-separated words of a note, cut before its first PHI span (so no prompt carries a real name); '' when PHI opens the note. */
function promptOf(doc: ScoringDocument, words: number): string {
  const chars = Array.from(doc.text);
  const firstPhi = Math.min(chars.length, ...doc.spans.map((s) => s.start));
  let end = 0;
  let seen = 0;
  const re = /\S+/gu;
  const text = chars.slice(0, firstPhi).join('');
  for (let m = re.exec(text); m && seen < words; m = re.exec(text), seen++) end = m.index + m[0].length;
  return text.slice(0, end).replace(/^\uFEFF/, '').trim();
}

/** Sub-word tokens of the texts with a model's tokenizer (the units its tokens/s counts). */
function tokenCount(modelDir: string, texts: string[]): number {
  const tokenizer = loadTokenizer(modelDir);
  return texts.reduce((n, text) => n + tokenizer.encode(text).ids.length, 0);
}

async function main(): Promise<void> {
  rerunWithMallocEnv(import.meta.url);
  const o = options();
  const work = flag('keep') ?? fs.mkdtempSync(path.join(os.tmpdir(), 'quality-bench-'));
  fs.mkdirSync(work, { recursive: true });
  const trainAll = readBratDirectory(path.join(DATA, 'meddocan/train'));
  const train = trainAll.slice(0, Math.min(trainAll.length, o['train-docs']));
  const devAll = readBratDirectory(path.join(DATA, 'meddocan/dev'));
  const dev = devAll.slice(0, Math.min(devAll.length, o['dev-docs']));
  // one half of dev validates (picks the epoch kept), the other is the test set every score is on
  const { train: validation, held: test } = splitDocuments(dev, 0.5, o.seed);
  const labels = [...MEDDOCAN_LABELS];
  const stages: Stage[] = [];
  const mode = hasFlag('quick') ? 'quick (smoke run)' : 'full';
  console.log(`quality benchmark, ${mode}: ${train.length} train documents, dev ${dev.length} = ${validation.length} validation + ${test.length} test (seed ${o.seed}); ${o.threads} threads; ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'})`);
  let baseDir = flag('base');
  const notesFrom = flag('notes-from');
  const keptNotes = notesFrom ? readNotes(notesFrom) : null;
  console.log(`settings: ${JSON.stringify(o)}${flag('generator') ? `, generator ${flag('generator')}` : ''}${baseDir ? `, taggers' base ${baseDir}` : ''}`);

  /** Trains a tagger; `budget` (the synthetic one) caps it at the gold tagger's optimizer steps. Returns its steps and steps per epoch. */
  const tagger = async (name: string, documents: NerDocument[], outputDir: string, lr: number, budget?: { steps: number; patienceSteps: number }): Promise<{ steps: number; stepsPerEpoch: number }> => {
    const stepsPerEpoch = Math.ceil(documents.reduce((n, d) => n + chunkByWords(Array.from(d.text), o['chunk-words']).length, 0) / o.batch);
    const epochs = budget ? Math.ceil(budget.steps / stepsPerEpoch) : o.epochs;
    const patience = budget ? Math.ceil(budget.patienceSteps / stepsPerEpoch) : o.patience;
    const progress = new StageProgress(`${name}: train`);
    const result = await trainNer(
      {
        documents,
        labels,
        outputDir,
        base: baseDir ? { modelDir: baseDir } : { scratch: { hiddenSize: o.hidden, numLayers: o.layers, numHeads: o.heads, intermediateSize: 4 * o.hidden, maxPositions: 512, vocabSize: o.vocab } },
        chunkWords: o['chunk-words'],
        validationDocuments: validation,
        resume: false,
        seed: o.seed,
        intraOpThreads: o.threads,
        train: { epochs, ...(budget ? { maxSteps: budget.steps } : {}), batchSize: o.batch, lr, schedule: 'linear', warmupRatio: 0.1, seed: o.seed, earlyStoppingPatience: patience },
      },
      (p) => progress.update(p.step, p.totalSteps, `loss ${p.loss.toFixed(3)}${p.validation ? `, epoch ${p.validation.epoch} validation strict F1 ${p.validation.entityF1.toFixed(3)}` : ''}`),
    );
    const seconds = progress.end(result.validation ? `validation strict F1 by epoch ${result.validation.epochs.map((e) => e.entityF1.toFixed(3)).join(' ')}; kept step ${result.validation.bestStep}${result.validation.stoppedEarly ? ', stopped early' : ''}` : '');
    // tokens through the model: one epoch's sub-word tokens (chunks add [CLS]/[SEP]) × epochs run
    const epochsRun = result.steps / Math.ceil(result.examples / o.batch);
    stages.push({ name: `${name}: train (validation included)`, seconds, tokens: Math.round(tokenCount(outputDir, documents.map((d) => d.text)) * epochsRun), unit: 'trained' });
    console.log(`${name}: ${documents.length} documents, ${result.examples} chunks, ${result.steps} steps (${epochs} epochs of ${stepsPerEpoch} planned${budget ? `, capped at the gold tagger's ${budget.steps}` : ''}, early stopping after ${patience} epochs without a better validation strict F1)${result.validation ? `; validation strict F1 by epoch ${result.validation.epochs.map((e) => e.entityF1.toFixed(3)).join(' ')}, kept step ${result.validation.bestStep}` : ''}`);
    return { steps: result.steps, stepsPerEpoch };
  };
  const tag = async (stage: string, modelDir: string, texts: string[], unsureBelow = 0): Promise<NerAnnotation[]> => {
    const progress = new StageProgress(stage);
    const annotations = await annotateNer({ modelDir, documents: texts.map((text) => ({ text })), chunkWords: o['chunk-words'], batchSize: 16, intraOpThreads: o.threads, ...(unsureBelow ? { unsureBelow } : {}) }, (p) => progress.update(p.done, p.total));
    stages.push({ name: stage, seconds: progress.end(), tokens: tokenCount(modelDir, texts), unit: 'tagged' });
    return annotations;
  };
  const score = (predicted: NerAnnotation[]): EvaluationResult => evaluate(test, test.map((d, i) => ({ id: d.id, spans: predicted[i]!.spans })), { bootstrap: false, labels });

  const clinicalTexts = (): string[] => {
    const clinical = path.join(DATA, 'spanish-clinical-text/docs');
    const files = fs.readdirSync(clinical).filter((f) => f.endsWith('.txt')).sort();
    return files.slice(0, Math.min(files.length, o['pretrain-docs'])).map((f) => fs.readFileSync(path.join(clinical, f), 'utf8'));
  };

  // (0) optionally, the taggers' encoder pre-trained with masked LM on public unannotated text;
  // not on the training notes, since the synthetic tagger, which starts from it, is what is shared
  if (!baseDir && o['base-steps'] > 0) {
    const texts = clinicalTexts();
    baseDir = path.join(work, 'encoder');
    const progress = new StageProgress(`encoder: pre-train (masked LM) on ${texts.length} texts`);
    const result = await pretrainEncoder(
      {
        architecture: 'bert',
        size: { hiddenSize: o.hidden, numLayers: o.layers, numHeads: o.heads, intermediateSize: 4 * o.hidden, maxPositions: 512, vocabSize: o.vocab },
        texts,
        heldOutTexts: validation.map((d) => d.text),
        outputDir: baseDir,
        seqLen: 128,
        batchSize: o.batch,
        epochs: 1000,
        maxSteps: o['base-steps'],
        lr: o['base-lr'],
        warmupSteps: Math.round(0.05 * o['base-steps']),
        validateEverySteps: Math.max(1, Math.round(o['base-steps'] / 10)),
        seed: o.seed,
        intraOpThreads: o.threads,
      },
      (p) => progress.update(p.step, p.totalSteps, `loss ${p.loss.toFixed(3)}${p.validation ? `, held-out MLM loss ${p.validation.mlmLoss.toFixed(3)}` : ''}`),
    );
    const seconds = progress.end(`held-out MLM loss ${result.heldOutInitial!.mlmLoss.toFixed(3)} → ${result.heldOut!.mlmLoss.toFixed(3)} (kept step ${result.bestStep})`);
    stages.push({ name: 'encoder: pre-train (masked LM; held-out loss included)', seconds, tokens: result.steps * o.batch * 128, unit: 'trained' });
    console.log(`encoder: ${texts.length} texts, ${result.windows} windows of 128 tokens, ${result.steps} steps; validation-half MLM loss ${result.heldOutInitial!.mlmLoss.toFixed(3)} → ${result.heldOut!.mlmLoss.toFixed(3)}, by step ${result.validations.map((v) => `${v.step}:${v.mlmLoss.toFixed(2)}`).join(' ')}`);
  }

  // (a) the gold tagger, trained here or (--gold DIR) one a kept run trained with these settings
  const goldDir = flag('gold') ?? path.join(work, 'gold-tagger');
  const goldRunFile = path.join(goldDir, 'bench-run.json');
  let goldRun: { steps: number; stepsPerEpoch: number };
  if (flag('gold')) {
    if (!fs.existsSync(goldRunFile)) throw new Error(`--gold ${goldDir}: no bench-run.json there; give the gold-tagger folder of a run kept with --keep`);
    goldRun = JSON.parse(fs.readFileSync(goldRunFile, 'utf8'));
    console.log(`gold tagger: ${goldDir} (${goldRun.steps} steps, kept by an earlier run)`);
  } else {
    goldRun = await tagger('gold tagger', train, goldDir, o.lr);
    fs.writeFileSync(goldRunFile, JSON.stringify(goldRun));
  }
  const gold = score(await tag('gold tagger: tag test half', goldDir, test.map((d) => d.text)));
  if (hasFlag('gold-only')) {
    report([['gold (trained on train)', gold]], stages, test.length);
    printPerLabel(gold);
    if (!flag('keep')) fs.rmSync(work, { recursive: true, force: true });
    return;
  }

  // (b) the generator: pre-trained from scratch (or given), then adapted on the training notes;
  // or (--notes-from FILE, read at the start) the notes a kept run generated
  const trainTexts = train.map((d) => d.text);
  const heldOutTexts = validation.map((d) => d.text);
  const B = o['gen-batch'];
  const T = o['seq-len'];
  /** Tokens through the model: steps × rows per batch (fewer when the text holds fewer windows) × T. */
  const lmTokens = (r: AdaptResult): number => r.steps * Math.min(B, Math.floor(r.tokens / T)) * T;
  const perplexities: string[] = [];
  /** The generator to sample: --generator DIR or one pre-trained here, then adapted on train (unless --adapt-epochs 0). */
  const trainGenerator = async (): Promise<string> => {
    let generatorDir = flag('generator');
    if (!generatorDir) {
      const texts = [...clinicalTexts(), ...trainTexts];
      generatorDir = path.join(work, 'pretrained');
      const progress = new StageProgress(`generator: pre-train on ${texts.length} texts`);
      const result = await pretrainDecoder(
        {
          architecture: 'gpt2',
          size: { hiddenSize: o['gen-hidden'], numLayers: o['gen-layers'], numHeads: o['gen-heads'], intermediateSize: 4 * o['gen-hidden'], maxPositions: Math.max(T, 512), vocabSize: o['gen-vocab'] },
          texts,
          heldOutTexts,
          outputDir: generatorDir,
          seqLen: T,
          batchSize: B,
          epochs: 1000,
          maxSteps: o['pretrain-steps'],
          lr: o['pretrain-lr'],
          warmupSteps: Math.round(0.05 * o['pretrain-steps']),
          seed: o.seed,
          intraOpThreads: o.threads,
        },
        (p) => progress.update(p.step, p.totalSteps, `loss ${p.loss.toFixed(3)}`),
      );
      perplexities.push(`after pre-training ${result.heldOut!.perplexity.toFixed(1)}`);
      stages.push({ name: 'generator: pre-train (held-out perplexity included)', seconds: progress.end(`validation-half perplexity ${result.heldOut!.perplexity.toFixed(1)}`), tokens: lmTokens(result), unit: 'trained' });
    }
    if (o['adapt-epochs'] > 0) {
      const adaptedDir = path.join(work, 'adapted');
      const progress = new StageProgress('generator: adapt on train');
      const result = await adaptGenerator(
        {
          modelDir: generatorDir,
          texts: trainTexts,
          heldOutTexts,
          outputDir: adaptedDir,
          lora: null,
          seqLen: T,
          batchSize: B,
          epochs: o['adapt-epochs'],
          maxSteps: o['adapt-steps'] || null,
          lr: o['adapt-lr'],
          warmupSteps: 0,
          seed: o.seed,
          intraOpThreads: o.threads,
        },
        (p) => progress.update(p.step, p.totalSteps, `loss ${p.loss.toFixed(3)}`),
      );
      perplexities.push(`after adaptation ${result.heldOut!.perplexity.toFixed(1)}`);
      stages.push({ name: 'generator: adapt (held-out perplexity included)', seconds: progress.end(`validation-half perplexity ${result.heldOut!.perplexity.toFixed(1)}`), tokens: lmTokens(result), unit: 'trained' });
      generatorDir = adaptedDir;
    }
    return generatorDir;
  };

  // N notes, each prompted with the opening words of a training note (cycling through them; a
  // kept run's notes were prompted the same way, so its prompts are known without storing them)
  const openings = train.map((d) => promptOf(d, o['prompt-words'])).filter((p) => p.length > 0);
  const prompts = Array.from({ length: keptNotes?.length ?? o.notes }, (_, i) => openings[i % openings.length]!);
  let notes: string[];
  let newTokens: number | null = null;
  if (keptNotes) {
    if (keptNotes.some((text, i) => !text.startsWith(prompts[i]!))) throw new Error(`--notes-from ${notesFrom}: its notes do not start with this run's prompts; give the synthetic.jsonl of a run with the same --prompt-words and data`);
    notes = keptNotes;
    console.log(`synthetic notes: ${notes.length} from ${notesFrom} (no generator run)`);
  } else {
    const generatorDir = await trainGenerator();
    const generation = new StageProgress(`generate ${o.notes} notes`);
    const generated = await generateTexts(
      { modelDir: generatorDir, prompts, samplesPerPrompt: 1, batchSize: 16, maxNewTokens: o['max-tokens'], temperature: o.temperature, topP: o['top-p'], topK: null, contextWindow: o.context || T, seed: o.seed, intraOpThreads: o.threads },
      (p) => void (p.kind === 'progress' && generation.update(p.done, p.total, `${p.newTokens} new tokens`)),
    );
    stages.push({ name: 'generate (new tokens)', seconds: generation.end(), tokens: generated.newTokens, unit: 'generated' });
    notes = generated.texts;
    newTokens = generated.newTokens;
    if (flag('keep')) writeNotes(path.join(work, 'synthetic.jsonl'), notes);
  }

  // machine annotation by the gold tagger, then the synthetic tagger on the notes alone
  const machine = await tag('gold tagger: annotate notes', goldDir, notes, o['unsure-below']);
  if (flag('keep')) writeNotes(path.join(work, 'synthetic-annotated.jsonl'), notes, machine.map((a) => a.spans));
  const syntheticDir = path.join(work, 'synthetic-tagger');
  // the same budget: as many optimizer steps as the gold tagger made (the notes are fewer tokens
  // than train, so that is more epochs), and early stopping after as many steps without a better score
  const annotated: NerDocument[] = notes.map((text, i) => ({ text, ...machine[i]! }));
  await tagger('synthetic tagger', annotated, syntheticDir, o['synthetic-lr'] || o.lr, { steps: goldRun.steps, patienceSteps: o.patience * goldRun.stepsPerEpoch });
  const synthetic = score(await tag('synthetic tagger: tag test half', syntheticDir, test.map((d) => d.text)));

  // privacy: word 5-gram overlap with the training notes, whole notes and the generated part alone
  const overlapStarted = performance.now();
  const real = indexRealCorpus(train, { n: 5 });
  const whole = privacyReport(notes.map((text, i) => ({ id: `synthetic-${i}`, text })), real);
  const continued = privacyReport(notes.map((text, i) => ({ id: `synthetic-${i}`, text: text.slice(prompts[i]!.length) })), real);
  stages.push({ name: '5-gram overlap with train', seconds: (performance.now() - overlapStarted) / 1000, tokens: 0, unit: '' });

  // ---- report
  const spans = notes.length ? machine.reduce((n, a) => n + a.spans.length, 0) : 0;
  console.log(`\nsynthetic notes: ${notes.length}${newTokens === null ? ' (kept)' : `, ${newTokens} new tokens`}, ${spans} machine-annotated spans (${(spans / Math.max(1, notes.length)).toFixed(1)} per note); generator perplexity on the validation half: ${perplexities.join(', ') || 'not measured'}`);
  if (o['unsure-below']) console.log(`unsure words (tagged O with a probability under ${o['unsure-below']}, ignored by the synthetic tagger's loss): ${unsureShare(annotated)}`);
  const shapeOf = (docs: NerDocument[]): string => {
    const shape = spanShape(docs);
    return `${shape.perThousandWords.toFixed(1)} spans per 1,000 words, ${shape.meanWords.toFixed(2)} words per span, ${f(shape.longShare)} of spans over 5 words`;
  };
  console.log(`span shape: machine annotations of the notes ${shapeOf(annotated)}; gold annotations of train ${shapeOf(train)}`);
  console.log(`5-gram overlap with train: ${f(whole.ngramOverlap.corpus)} of the notes' 5-grams (${whole.ngramOverlap.matchedNgrams}/${whole.ngramOverlap.totalNgrams}); generated text alone (prompts removed): ${f(continued.ngramOverlap.corpus)}; real PHI strings reproduced ${f(continued.phiReproduction.share)}; longest copied passage ${continued.longestCopied?.words ?? 0} words`);
  report([['gold (trained on train)', gold], ['synthetic (trained on the notes alone)', synthetic]], stages, test.length);
  printPerLabelBoth(gold, synthetic, annotated, train);
  if (!flag('keep')) fs.rmSync(work, { recursive: true, force: true });
}

const f = (x: number): string => x.toFixed(3);

/** Notes as a JSONL corpus (`synthetic-<i>`, in order), with their machine annotations when given. */
function writeNotes(file: string, notes: string[], spans?: NerSpan[][]): void {
  const docs = notes.map((text, i) => {
    const chars = Array.from(text);
    return { id: `synthetic-${i}`, split: null, text, spans: (spans?.[i] ?? []).map((s) => ({ ...s, text: chars.slice(s.start, s.end).join('') })) };
  });
  fs.writeFileSync(file, exportCorpus(docs, 'JSONL')[0]!.bytes);
}

/** The texts of a synthetic.jsonl that --keep wrote, read as the platform reads a JSONL corpus (errors name the line, never the text). */
function readNotes(file: string): string[] {
  if (!fs.existsSync(file)) throw new Error(`--notes-from ${file}: no such file; give the synthetic.jsonl of a run kept with --keep`);
  return parseCorpus([{ path: file, bytes: fs.readFileSync(file) }], { format: 'JSONL' }).documents.map((d) => d.text);
}

/** How many of the documents' words lie in their ignore ranges. */
function unsureShare(docs: NerDocument[]): string {
  let [words, unsure] = [0, 0];
  for (const doc of docs) {
    for (const [start] of textWords(Array.from(doc.text))) {
      words++;
      if (ignoredAt(doc, start)) unsure++;
    }
  }
  return `${unsure} of ${words} words (${f(unsure / Math.max(1, words))})`;
}

/** How dense and how long a corpus's spans are, in whitespace-separated words: machine annotations of weak text can run on where the model is unsure. */
function spanShape(docs: NerDocument[]): { perThousandWords: number; meanWords: number; longShare: number } {
  let spans = 0;
  let spanWords = 0;
  let long = 0;
  let words = 0;
  for (const doc of docs) {
    const chars = Array.from(doc.text);
    words += doc.text.match(/\S+/gu)?.length ?? 0;
    for (const span of doc.spans) {
      const n = chars.slice(span.start, span.end).join('').match(/\S+/gu)?.length ?? 0;
      spans++;
      spanWords += n;
      if (n > 5) long++;
    }
  }
  return { perThousandWords: (1000 * spans) / Math.max(1, words), meanWords: spanWords / Math.max(1, spans), longShare: long / Math.max(1, spans) };
}

/** The scores table (on the test half of dev) and the stages table. */
function report(taggers: [string, EvaluationResult][], stages: Stage[], testDocuments: number): void {
  const micro = taggers[0]![1].entity.micro;
  console.log(`\nscores on the test half of dev (${testDocuments} documents, ${micro.tp + micro.fn} gold spans):\n`);
  console.log('| tagger | token F1 (typed) | token F1 (binary) | strict entity F1 | entity P / R | merged span F1 |');
  console.log('|---|---|---|---|---|---|');
  for (const [name, r] of taggers) {
    console.log(`| ${name} | ${f(r.token.micro.f1)} | ${f(r.token.binary.f1)} | ${f(r.entity.micro.f1)} | ${f(r.entity.micro.precision)} / ${f(r.entity.micro.recall)} | ${f(r.spans.merged.f1)} |`);
  }
  console.log('\n| stage | wall s | tokens | tokens/s |');
  console.log('|---|---|---|---|');
  for (const s of stages) console.log(`| ${s.name} | ${s.seconds.toFixed(1)} | ${s.tokens ? `${s.tokens} ${s.unit}` : '—'} | ${s.tokens ? (s.tokens / s.seconds).toFixed(0) : '—'} |`);
  console.log(`| total | ${stages.reduce((n, s) => n + s.seconds, 0).toFixed(1)} | | |`);
}

/** The per-label entity scores, the labels with the most gold spans first. */
function labelsByGoldSpans(r: EvaluationResult): [string, EvaluationResult['entity']['perLabel'][string]][] {
  return Object.entries(r.entity.perLabel).sort((a, b) => b[1].tp + b[1].fn - (a[1].tp + a[1].fn));
}

/** Strict entity scores per label, most gold spans first: where the strict F1 is lost. */
function printPerLabel(r: EvaluationResult): void {
  console.log('\n| label | gold spans | predicted | strict P | strict R | strict F1 |');
  console.log('|---|---|---|---|---|---|');
  const rows = labelsByGoldSpans(r).filter(([, s]) => s.tp + s.fn + s.fp > 0);
  for (const [label, s] of rows) console.log(`| ${label} | ${s.tp + s.fn} | ${s.tp + s.fp} | ${f(s.precision)} | ${f(s.recall)} | ${f(s.f1)} |`);
}

/**
 * Both taggers' strict F1 per label, with how often the label occurs per note: in the synthetic
 * notes (machine annotations) and in train (gold). A label the notes seldom hold is one the
 * synthetic tagger seldom learns (e.g. a closing block the notes do not reach).
 */
function printPerLabelBoth(gold: EvaluationResult, synthetic: EvaluationResult, notes: NerDocument[], train: NerDocument[]): void {
  const perNote = (docs: NerDocument[]): Map<string, number> => {
    const counts = new Map<string, number>();
    for (const doc of docs) for (const span of doc.spans) counts.set(span.label, (counts.get(span.label) ?? 0) + 1 / docs.length);
    return counts;
  };
  const inNotes = perNote(notes);
  const inTrain = perNote(train);
  console.log('\n| label | gold spans | gold tagger strict F1 | synthetic tagger strict F1 (P / R) | per note: notes (machine) / train (gold) |');
  console.log('|---|---|---|---|---|');
  const rows = labelsByGoldSpans(gold).filter(([, s]) => s.tp + s.fn > 0);
  for (const [label, g] of rows) {
    const s = synthetic.entity.perLabel[label];
    const occurs = `${(inNotes.get(label) ?? 0).toFixed(2)} / ${(inTrain.get(label) ?? 0).toFixed(2)}`;
    console.log(`| ${label} | ${g.tp + g.fn} | ${f(g.f1)} | ${s ? `${f(s.f1)} (${f(s.precision)} / ${f(s.recall)})` : '—'} | ${occurs} |`);
  }
}

await main();
