/**
 * An experiment's spec: the method's settings with every default filled in, as stored in
 * Experiment.config. The GraphQL input (src/schema/experiment.type.ts) maps onto it one to one;
 * ExperimentService.validate checks it against the database before any job starts.
 */
import { badInput } from '../common/errors.js';
import { checkLearningRate, checkUnsureBelow, checkWarmupRatio, checkWarmupSteps } from '../common/training-input.js';
import type { ScratchEncoderSpec } from '../engine/ner/tasks.js';
import type { ModelSize } from '../engine/tasks/pretrain.js';
import { checkGuardThresholds } from '../synthesis/guard.js';

export type Device = 'cpu' | 'webgpu' | 'cuda';


/** How a tagger is trained: fine-tuned from `baseModelId`, or from scratch with `scratch`. */
export interface TaggerSpec {
  baseModelId: string | null;
  scratch: ScratchEncoderSpec;
  epochs: number;
  batchSize: number;
  learningRate: number | null;
  warmupRatio: number;
  chunkWords: number;
  maxSteps: number | null;
  /** Share of the training documents held out to pick the best epoch (0: none; the last epoch is kept). */
  validationSplit: number;
  earlyStoppingPatience: number;
  /** null: the experiment's seed (so an ablation's seeds vary it). */
  seed: number | null;
}

/** A pre-training step of an experiment (the annotator's encoder or the generator): pretrainModel's settings. */
export interface PretrainingSpec<A extends string> {
  corpusIds: string[];
  architecture: A;
  size: ModelSize;
  heldOutFraction: number;
  seqLen: number;
  batchSize: number;
  epochs: number;
  maxSteps: number | null;
  learningRate: number;
  warmupSteps: number;
  seed: number | null;
}

export interface ExperimentSpec {
  /** The default of every seed below left null (each component's seed, subset seeds). */
  seed: number;
  corpusId: string;
  /** Train (annotator and generator), prompts (the paper: validation documents), test (scoring). */
  splits: { train: string; prompt: string; test: string };
  annotator: TaggerSpec & {
    fraction: number;
    subsetSeed: number | null;
    /**
     * Pre-train the annotator's encoder from scratch (masked LM) on these corpora's text first; the
     * annotator is then fine-tuned from it. Excludes `baseModelId`. null, or absent in specs stored before it existed: none.
     */
    pretraining: (PretrainingSpec<'bert' | 'roberta'> & { maskProbability: number }) | null;
    /**
     * When it annotates the synthetic notes (step annotation): the words it leaves out of its spans
     * with a probability of O under this are stored as UNSURE, and the synthetic tagger's training skips them.
     * null, or absent in specs stored before it existed: none.
     */
    unsureBelow?: number | null;
  };
  generator: {
    /** A causal LM (gpt2, llama) to adapt or to sample from as it is; null when `pretraining` makes it. */
    baseModelId: string | null;
    /** Pre-train the generator from scratch on these corpora's text first (e.g. unannotated clinical notes). */
    pretraining: PretrainingSpec<'gpt2' | 'llama'> | null;
    /** null samples from the base model unadapted (the paper's 0% generator fraction). */
    adaptation: {
      fraction: number;
      subsetSeed: number | null;
      lora: { r: number; alpha: number; targetModules: string[] | null } | null;
      seqLen: number;
      batchSize: number;
      epochs: number;
      maxSteps: number | null;
      learningRate: number | null;
      warmupSteps: number;
      seed: number | null;
    } | null;
  };
  generation: {
    promptWords: number;
    maxPrompts: number | null;
    /** Resolved at creation from `sizeMultiple` when that was given. */
    samplesPerPrompt: number;
    /** The synthetic corpus's size as a multiple of the real training split (the paper: about 4), when asked for so. */
    sizeMultiple: number | null;
    maxNewTokens: number;
    temperature: number;
    topP: number;
    topK: number | null;
    seed: number | null;
  };
  syntheticTagger: TaggerSpec;
  guard: {
    /** DROP removes notes over a threshold before annotation; FLAG only records them; OFF skips the step. */
    action: 'DROP' | 'FLAG' | 'OFF';
    n: number;
    maxNgramOverlap: number;
    maxCopiedWords: number;
    maxPhiStrings: number;
    phiMinLength: number;
  };
  evaluation: { bootstrapResamples: number; confidenceLevel: number; seed: number | null };
  device: Device;
}

/** A component's seed, or the experiment's. */
export const seedOf = (spec: ExperimentSpec, seed: number | null) => seed ?? spec.seed;

/** Checks the numbers of a spec (the database checks are ExperimentService's); throws BAD_USER_INPUT naming the field. */
export function checkSpecNumbers(spec: ExperimentSpec): void {
  const positiveInt = (field: string, value: number | null) => {
    if (value !== null && (!Number.isInteger(value) || value < 1)) throw badInput(field, `must be a positive integer; got ${value}.`);
  };
  const fraction = (field: string, value: number) => {
    if (!(value > 0 && value <= 1)) throw badInput(field, `must be in (0, 1]; got ${value}.`);
  };
  const tagger = (prefix: string, t: TaggerSpec) => {
    for (const key of ['epochs', 'batchSize', 'chunkWords', 'maxSteps'] as const) positiveInt(`${prefix}.${key}`, t[key]);
    for (const [key, value] of Object.entries(t.scratch)) positiveInt(`${prefix}.scratch.${key}`, value);
    checkLearningRate(`${prefix}.learningRate`, t.learningRate);
    checkWarmupRatio(`${prefix}.warmupRatio`, t.warmupRatio);
    if (!(t.validationSplit >= 0 && t.validationSplit < 1)) throw badInput(`${prefix}.validationSplit`, `must be in [0, 1); got ${t.validationSplit}.`);
    positiveInt(`${prefix}.earlyStoppingPatience`, t.earlyStoppingPatience);
  };
  for (const [key, value] of Object.entries(spec.splits)) if (!value.trim()) throw badInput(`splits.${key}`, 'must name a split.');
  if (spec.splits.test === spec.splits.train) throw badInput('splits.test', `the test split "${spec.splits.test}" is also the training split; test on held-out documents.`);
  if (spec.splits.test === spec.splits.prompt) throw badInput('splits.test', `the test split "${spec.splits.test}" is also the prompt split; prompts would leak test text into the synthetic notes.`);
  tagger('annotator', spec.annotator);
  checkUnsureBelow('annotator.unsureBelow', spec.annotator.unsureBelow ?? null);
  fraction('annotator.fraction', spec.annotator.fraction);
  // The GraphQL enums refuse other architectures; an ablation axis writes the spec directly.
  const architecture = (field: string, value: string, allowed: string[]) => {
    if (!allowed.includes(value)) throw badInput(field, `must be one of ${allowed.join(', ')}; got ${JSON.stringify(value)}.`);
  };
  if (spec.annotator.pretraining) architecture('annotator.pretraining.architecture', spec.annotator.pretraining.architecture, ['bert', 'roberta']);
  if (spec.generator.pretraining) architecture('generator.pretraining.architecture', spec.generator.pretraining.architecture, ['gpt2', 'llama']);
  tagger('syntheticTagger', spec.syntheticTagger);
  const a = spec.generator.adaptation;
  if (a) {
    fraction('generator.adaptation.fraction', a.fraction);
    for (const key of ['seqLen', 'batchSize', 'epochs', 'maxSteps'] as const) positiveInt(`generator.adaptation.${key}`, a[key]);
    if (a.lora) positiveInt('generator.adaptation.lora.r', a.lora.r);
    checkLearningRate('generator.adaptation.learningRate', a.learningRate);
    checkWarmupSteps('generator.adaptation.warmupSteps', a.warmupSteps);
  }
  const g = spec.generation;
  for (const key of ['promptWords', 'maxPrompts', 'samplesPerPrompt', 'maxNewTokens', 'topK'] as const) positiveInt(`generation.${key}`, g[key]);
  if (g.sizeMultiple !== null && !(g.sizeMultiple > 0)) throw badInput('generation.sizeMultiple', `must be above 0; got ${g.sizeMultiple}.`);
  if (!(g.topP > 0 && g.topP <= 1)) throw badInput('generation.topP', `must be in (0, 1]; got ${g.topP}.`);
  if (!(g.temperature > 0)) throw badInput('generation.temperature', `must be above 0; got ${g.temperature}.`);
  checkGuardThresholds(spec.guard, 'guard.');
  positiveInt('evaluation.bootstrapResamples', spec.evaluation.bootstrapResamples);
  if (!(spec.evaluation.confidenceLevel > 0 && spec.evaluation.confidenceLevel < 1)) throw badInput('evaluation.confidenceLevel', `must be in (0, 1); got ${spec.evaluation.confidenceLevel}.`);
}
