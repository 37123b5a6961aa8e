/**
 * The method as a DAG of steps. Each step is declared once: the job kind that computes it, the steps
 * whose outputs it needs, and its job payload from the spec and those outputs. The experiment
 * service walks this list; the step runner hashes each payload and reuses or queues it.
 */
import { JobName, type JobPayloads } from '../jobs/types.js';
import { seedOf, type ExperimentSpec, type PretrainingSpec, type TaggerSpec } from './spec.js';

export type StepName =
  | 'pretrain_annotator'
  | 'pretrain_generator'
  | 'annotator'
  | 'generator'
  | 'generation'
  | 'guard'
  | 'annotation'
  | 'synthetic_tagger'
  | 'annotate_test_gold'
  | 'evaluate_gold'
  | 'annotate_test_synthetic'
  | 'evaluate_synthetic'
  | 'privacy_report';

/** The result of each finished step's job, by step name. */
export type StepOutputs = Partial<Record<StepName, Record<string, unknown>>>;

export interface StepDeclaration<N extends JobName = JobName> {
  name: StepName;
  kind: N;
  after: StepName[];
  payload(spec: ExperimentSpec, outputs: StepOutputs, context: { experimentName: string; ownerId: string }): JobPayloads[N];
}

const declare = <N extends JobName>(step: StepDeclaration<N>): StepDeclaration => step as unknown as StepDeclaration;

/** The id a finished step's job result names under `key` (modelId, corpusId). */
export function outputId(outputs: StepOutputs, step: StepName, key: 'modelId' | 'corpusId'): string {
  const value = outputs[step]?.[key];
  if (typeof value !== 'string') throw new Error(`step ${step} has no ${key} in its result`);
  return value;
}

function trainNer(spec: ExperimentSpec, t: TaggerSpec, name: string, ownerId: string, data: Pick<JobPayloads[JobName.TrainNer], 'corpusId' | 'split' | 'documentFraction' | 'subsetSeed' | 'annotationModelId' | 'kind'>, baseModelId = t.baseModelId): JobPayloads[JobName.TrainNer] {
  return {
    name,
    ownerId,
    ...data,
    baseModelId,
    scratch: t.scratch,
    epochs: t.epochs,
    batchSize: t.batchSize,
    learningRate: t.learningRate,
    warmupRatio: t.warmupRatio,
    chunkWords: t.chunkWords,
    seed: seedOf(spec, t.seed),
    maxSteps: t.maxSteps,
    validationSplit: t.validationSplit,
    earlyStoppingPatience: t.earlyStoppingPatience,
    device: spec.device,
  };
}

/** The encoder the annotator fine-tunes: pre-trained by the experiment, the one the spec names, or none (from scratch). */
const baseAnnotator = (spec: ExperimentSpec, outputs: StepOutputs) => (spec.annotator.pretraining ? outputId(outputs, 'pretrain_annotator', 'modelId') : spec.annotator.baseModelId);

/** The generator before adaptation: pre-trained by the experiment, or the one the spec names. */
const baseGenerator = (spec: ExperimentSpec, outputs: StepOutputs) => (spec.generator.pretraining ? outputId(outputs, 'pretrain_generator', 'modelId') : spec.generator.baseModelId!);

/** The corpus the synthetic notes are taken from after the guard (the generated corpus when there is none). */
const guardedCorpus = (spec: ExperimentSpec, outputs: StepOutputs) => outputId(outputs, spec.guard.action === 'OFF' ? 'generation' : 'guard', 'corpusId');

/** A pre-training step's job: the same for the annotator's encoder and the generator (the encoder adds its mask probability). */
function pretrainPayload(spec: ExperimentSpec, p: PretrainingSpec<'gpt2' | 'llama' | 'bert' | 'roberta'>, name: string) {
  return {
    name,
    corpusIds: p.corpusIds,
    corpusId: null,
    split: null,
    heldOutFraction: p.heldOutFraction,
    architecture: p.architecture,
    size: p.size,
    seqLen: p.seqLen,
    batchSize: p.batchSize,
    epochs: p.epochs,
    maxSteps: p.maxSteps,
    learningRate: p.learningRate,
    warmupSteps: p.warmupSteps,
    seed: seedOf(spec, p.seed),
    device: spec.device,
  };
}

const ALL_STEPS: StepDeclaration[] = [
  declare({
    name: 'pretrain_annotator',
    kind: JobName.Pretrain,
    after: [],
    payload: (spec, _out, { experimentName }) => {
      const p = spec.annotator.pretraining!;
      return { ...pretrainPayload(spec, p, `${experimentName}: pre-trained annotator encoder`), maskProbability: p.maskProbability };
    },
  }),
  declare({
    name: 'annotator',
    kind: JobName.TrainNer,
    after: ['pretrain_annotator'],
    payload: (spec, out, { experimentName, ownerId }) =>
      trainNer(
        spec,
        spec.annotator,
        `${experimentName}: annotator`,
        ownerId,
        {
          corpusId: spec.corpusId,
          split: spec.splits.train,
          documentFraction: spec.annotator.fraction,
          subsetSeed: seedOf(spec, spec.annotator.subsetSeed),
          annotationModelId: null,
          kind: 'NER_ANNOTATOR',
        },
        baseAnnotator(spec, out),
      ),
  }),
  declare({
    name: 'pretrain_generator',
    kind: JobName.Pretrain,
    after: [],
    payload: (spec, _out, { experimentName }) => pretrainPayload(spec, spec.generator.pretraining!, `${experimentName}: pre-trained generator`),
  }),
  declare({
    name: 'generator',
    kind: JobName.AdaptGenerator,
    after: ['pretrain_generator'],
    payload: (spec, out, { experimentName }) => {
      const a = spec.generator.adaptation!;
      return {
        name: `${experimentName}: generator`,
        baseModelId: baseGenerator(spec, out),
        corpusId: spec.corpusId,
        split: spec.splits.train,
        // The prompt split is the method's validation set.
        heldOutSplit: spec.splits.prompt,
        documentFraction: a.fraction,
        subsetSeed: seedOf(spec, a.subsetSeed),
        lora: a.lora,
        seqLen: a.seqLen,
        batchSize: a.batchSize,
        epochs: a.epochs,
        maxSteps: a.maxSteps,
        learningRate: a.learningRate,
        warmupSteps: a.warmupSteps,
        seed: seedOf(spec, a.seed),
        device: spec.device,
      };
    },
  }),
  declare({
    name: 'generation',
    kind: JobName.Generate,
    after: ['generator'],
    payload: (spec, out, { experimentName }) => ({
      name: `${experimentName}: synthetic notes`,
      generatorModelId: spec.generator.adaptation ? outputId(out, 'generator', 'modelId') : baseGenerator(spec, out),
      promptCorpusId: spec.corpusId,
      promptSplit: spec.splits.prompt,
      promptWords: spec.generation.promptWords,
      maxPrompts: spec.generation.maxPrompts,
      samplesPerPrompt: spec.generation.samplesPerPrompt,
      maxNewTokens: spec.generation.maxNewTokens,
      temperature: spec.generation.temperature,
      topP: spec.generation.topP,
      topK: spec.generation.topK,
      seed: seedOf(spec, spec.generation.seed),
      device: spec.device,
    }),
  }),
  declare({
    name: 'guard',
    kind: JobName.PrivacyGuard,
    after: ['generation'],
    payload: (spec, out, { experimentName }) => ({
      name: `${experimentName}: synthetic notes after the privacy guard`,
      syntheticCorpusId: outputId(out, 'generation', 'corpusId'),
      // The generator's training text; an unadapted generator is checked against the whole split.
      realCorpusId: spec.corpusId,
      realSplit: spec.splits.train,
      realFraction: spec.generator.adaptation?.fraction ?? 1,
      realSubsetSeed: spec.generator.adaptation ? seedOf(spec, spec.generator.adaptation.subsetSeed) : 0,
      action: spec.guard.action as 'DROP' | 'FLAG',
      n: spec.guard.n,
      maxNgramOverlap: spec.guard.maxNgramOverlap,
      maxCopiedWords: spec.guard.maxCopiedWords,
      maxPhiStrings: spec.guard.maxPhiStrings,
      phiMinLength: spec.guard.phiMinLength,
    }),
  }),
  declare({
    name: 'annotation',
    kind: JobName.Annotate,
    after: ['annotator', 'guard'],
    payload: (spec, out) => ({
      modelId: outputId(out, 'annotator', 'modelId'),
      corpusId: guardedCorpus(spec, out),
      split: null,
      device: spec.device,
      ...(spec.annotator.unsureBelow ? { unsureBelow: spec.annotator.unsureBelow } : {}),
    }),
  }),
  declare({
    name: 'synthetic_tagger',
    kind: JobName.TrainNer,
    after: ['annotation'],
    payload: (spec, out, { experimentName, ownerId }) =>
      trainNer(spec, spec.syntheticTagger, `${experimentName}: synthetic tagger`, ownerId, {
        // The corpus the machine annotations were written to (the annotation job's, reused or not).
        corpusId: outputId(out, 'annotation', 'corpusId'),
        split: '',
        documentFraction: 1,
        subsetSeed: 0,
        annotationModelId: outputId(out, 'annotator', 'modelId'),
        kind: 'NER_SYNTHETIC',
      }),
  }),
  ...(['gold', 'synthetic'] as const).flatMap((which) => {
    const tagger: StepName = which === 'gold' ? 'annotator' : 'synthetic_tagger';
    const annotate: StepName = `annotate_test_${which}`;
    return [
      declare({
        name: annotate,
        kind: JobName.Annotate,
        after: [tagger],
        payload: (spec, out) => ({ modelId: outputId(out, tagger, 'modelId'), corpusId: spec.corpusId, split: spec.splits.test, device: spec.device }),
      }),
      declare({
        name: `evaluate_${which}`,
        kind: JobName.Evaluate,
        after: [annotate],
        payload: (spec, out) => ({
          goldCorpusId: outputId(out, annotate, 'corpusId'),
          split: spec.splits.test,
          predictedCorpusId: null,
          predictionsSha256: null,
          predictionsName: null,
          predictionsFormat: null,
          modelId: outputId(out, tagger, 'modelId'),
          labels: null,
          // A label of the corpus that the test split happens not to hold is a false positive (the official script), not an error.
          unknownLabel: 'false-positive',
          missingDocument: 'empty',
          unknownDocument: 'error',
          bootstrapResamples: spec.evaluation.bootstrapResamples,
          confidenceLevel: spec.evaluation.confidenceLevel,
          seed: seedOf(spec, spec.evaluation.seed),
          contextChars: 40,
        }),
      }),
    ];
  }),
  declare({
    name: 'privacy_report',
    kind: JobName.PrivacyReport,
    after: ['guard'],
    payload: (spec, out) => ({ syntheticCorpusId: guardedCorpus(spec, out), realCorpusId: spec.corpusId, realSplit: spec.splits.train, n: spec.guard.n }),
  }),
];

/** The steps of this spec, dependencies first; `after` lists only steps that are part of the plan. */
export function planSteps(spec: ExperimentSpec): StepDeclaration[] {
  const skipped = new Set<StepName>([
    ...(spec.annotator.pretraining ? [] : ['pretrain_annotator' as const]),
    ...(spec.generator.pretraining ? [] : ['pretrain_generator' as const]),
    ...(spec.generator.adaptation ? [] : ['generator' as const]),
    ...(spec.guard.action === 'OFF' ? ['guard' as const] : []),
  ]);
  const skip = (names: StepName[]): StepName[] => names.flatMap((name) => (skipped.has(name) ? skip(dependenciesOf(name)) : [name]));
  return ALL_STEPS.filter((step) => !skipped.has(step.name)).map((step) => ({ ...step, after: skip(step.after) }));
}

function dependenciesOf(name: StepName): StepName[] {
  return ALL_STEPS.find((step) => step.name === name)!.after;
}
