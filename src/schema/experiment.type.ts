import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import { JSONScalar } from './scalars.js';
import { ConnectionType } from './pagination.js';
import { JobStatusEnum } from './job.type.js';
import { DecoderArchitectureEnum, DecoderSizeInput, DeviceEnum, EncoderArchitectureEnum, LoraInput, ScratchEncoderInput } from './model.type.js';
import { Evaluation, EvaluationComparison, PrivacyReport } from './evaluation.type.js';

export enum CreatedOrderField {
  createdAt = 'createdAt',
  name = 'name',
}
registerEnumType(CreatedOrderField, { name: 'CreatedOrderField' });

@ObjectType({ description: 'One step of an experiment (annotator training, generation, …) and the job that computes it; `job` gives its progress, device and timings.' })
export class Step {
  @Field(() => ID) id!: string;
  @Field(() => String, { description: 'pretrain_annotator, pretrain_generator, annotator, generator, generation, guard, annotation, synthetic_tagger, annotate_test_gold, evaluate_gold, annotate_test_synthetic, evaluate_synthetic, privacy_report.' }) name!: string;
  @Field(() => String, { description: 'The job type that computes it.' }) kind!: string;
  @Field(() => String, { description: 'sha256 of kind, config, input content and code version (empty until its inputs exist): identical steps are computed once.' }) inputHash!: string;
  @Field(() => JSONScalar, { description: 'The job payload.' }) params!: unknown;
  @Field(() => JobStatusEnum) status!: JobStatusEnum;
  @Field(() => Boolean, { description: 'Answered by a job that another experiment or request started (same input hash), not run again.' }) reused!: boolean;
  @Field(() => ID, { nullable: true }) jobId!: string | null;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
}

@ObjectType({ description: 'The method run once on a real corpus: its spec, its steps and their results.' })
export class Experiment {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => ID, { nullable: true }) ablationId!: string | null;
  @Field(() => JSONScalar, { nullable: true, description: "In an ablation: this cell's axis values." }) cell!: unknown;
  @Field(() => Int, { nullable: true, description: "In an ablation: this cell's seed." }) seed!: number | null;
  @Field(() => JSONScalar, { description: 'The validated spec with every default filled in.' }) config!: unknown;
  @Field(() => JobStatusEnum) status!: JobStatusEnum;
  @Field(() => String, { nullable: true, description: 'Why it failed: the failed step and its message.' }) error!: string | null;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
  ownerId!: string;
}

@ObjectType({ description: 'A grid of experiments (cells) over experiment spec fields, crossed with seeds.' })
export class Ablation {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => JSONScalar, { description: 'The axes: [{ field, values }].' }) grid!: unknown;
  @Field(() => [Int]) seeds!: number[];
  @Field(() => JSONScalar, { description: 'The experiment spec every cell starts from.' }) baseSpec!: unknown;
  @Field(() => JobStatusEnum) status!: JobStatusEnum;
  @Field(() => Boolean, { description: 'Paused: no new step starts; running jobs finish.' }) paused!: boolean;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
}

@ObjectType()
export class AblationPlan {
  @Field(() => Ablation, { nullable: true, description: 'Null for a dry run.' }) ablation!: Ablation | null;
  @Field(() => Int) cells!: number;
  @Field(() => Int, { description: 'Distinct steps over all cells that would run (a step cells share counts once).' }) stepsToRun!: number;
  @Field(() => Int, { description: 'Distinct steps that existing jobs answer.' }) stepsReused!: number;
  @Field(() => Int, { description: 'Steps if every cell ran alone.' }) stepsWithoutSharing!: number;
}

@ObjectType({ description: 'One number over seeds: mean, sample standard deviation, and the mean of the per-seed bootstrap interval bounds.' })
export class Aggregate {
  @Field(() => Int) n!: number;
  @Field(() => Float) mean!: number;
  @Field(() => Float, { nullable: true, description: 'Null for one seed.' }) sd!: number | null;
  @Field(() => Float, { nullable: true }) ciLow!: number | null;
  @Field(() => Float, { nullable: true }) ciHigh!: number | null;
  @Field(() => [Float], { description: 'One per seed, in seed order.' }) values!: number[];
}

@ObjectType({ description: 'A row of the results table: one combination of axis values over its seeds.' })
export class AblationRow {
  @Field(() => JSONScalar, { description: 'Axis values by field.' }) values!: unknown;
  @Field(() => [Int]) seeds!: number[];
  @Field(() => Int) cells!: number;
  @Field(() => Int, { description: 'Cells that succeeded.' }) cellsDone!: number;
  @Field(() => Aggregate, { nullable: true, description: 'The gold-trained tagger (the annotator) on the test split.' }) gold!: Aggregate | null;
  @Field(() => Aggregate, { nullable: true, description: 'The synthetic-trained tagger.' }) synthetic!: Aggregate | null;
  @Field(() => Aggregate, { nullable: true, description: 'gold − synthetic, per seed.' }) gap!: Aggregate | null;
  @Field(() => Aggregate, { nullable: true, description: '5-gram overlap of the kept synthetic notes with the training split.' }) ngramOverlap!: Aggregate | null;
}

@ObjectType({ description: 'A cell of an ablation ended (experimentId set), or the ablation did (experimentId null; the first event is its current state).' })
export class AblationEvent {
  @Field(() => ID) ablationId!: string;
  @Field(() => ID, { nullable: true }) experimentId!: string | null;
  @Field(() => JSONScalar, { nullable: true }) cell!: unknown;
  @Field(() => Int, { nullable: true }) seed!: number | null;
  @Field(() => String) status!: string;
  @Field(() => Int) cellsDone!: number;
  @Field(() => Int) cells!: number;
  @Field(() => String) at!: string;
}

@ObjectType({ description: 'Generated notes (in a SYNTHETIC corpus), with the generator and annotator that made them.' })
export class SyntheticDataset {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => ID) corpusId!: string;
  @Field(() => ID, { nullable: true }) generatorModelId!: string | null;
  @Field(() => ID, { nullable: true }) annotatorModelId!: string | null;
  @Field(() => ID, { nullable: true }) sourceCorpusId!: string | null;
  @Field(() => JSONScalar) prompts!: unknown;
  @Field(() => JSONScalar, { description: 'Sampling settings: top-p, temperature, samples per prompt, max tokens.' }) sampling!: unknown;
  @Field(() => Date) createdAt!: Date;
}

// ---- experiments: the spec (src/experiments/spec.ts) as input ----

export enum GuardActionEnum {
  DROP = 'DROP',
  FLAG = 'FLAG',
  OFF = 'OFF',
}
registerEnumType(GuardActionEnum, { name: 'GuardAction', description: 'DROP: remove notes over a threshold before annotation; FLAG: only record them; OFF: no guard step.' });

export enum AblationPlotKindEnum {
  SCORES = 'SCORES',
  GAP = 'GAP',
  PRIVACY = 'PRIVACY',
}
registerEnumType(AblationPlotKindEnum, {
  name: 'AblationPlotKind',
  description: 'SCORES: gold- and synthetic-trained F1 along an axis with interval bands; GAP: gold − synthetic ± sd over seeds; PRIVACY: 5-gram overlap ± sd.',
});

export enum PlannedActionEnum {
  RUN = 'RUN',
  REUSE = 'REUSE',
}
registerEnumType(PlannedActionEnum, { name: 'PlannedAction', description: 'RUN: the step is computed; REUSE: an identical job (same input hash) you may read answers it.' });

@InputType({ description: 'How a tagger is trained: fine-tuned from baseModelId, or from scratch (a BERT-style encoder with its own WordPiece tokenizer).' })
export class ExperimentTaggerInput {
  @Field(() => ID, { nullable: true, description: 'An encoder to fine-tune; omitted: from scratch.' }) baseModelId?: string;
  @Field(() => ScratchEncoderInput, { nullable: true }) scratch?: ScratchEncoderInput;
  @Field(() => Int, { defaultValue: 6 }) epochs!: number;
  @Field(() => Int, { defaultValue: 16 }) batchSize!: number;
  @Field(() => Float, { nullable: true, description: 'Default 1e-3 from scratch, 5e-5 when fine-tuning.' }) learningRate?: number;
  @Field(() => Float, { defaultValue: 0, description: 'Share of the steps spent warming the learning rate up from 0.' }) warmupRatio!: number;
  @Field(() => Int, { defaultValue: 128 }) chunkWords!: number;
  @Field(() => Int, { nullable: true, description: 'Stop after this many optimizer steps.' }) maxSteps?: number;
  @Field(() => Float, {
    defaultValue: 0,
    description: 'Hold out this share of the training documents (seeded) and score on it after every epoch; the best epoch by strict entity F1 is the model kept (trainNerModel.validationSplit). 0: no validation.',
  })
  validationSplit!: number;
  @Field(() => Int, { defaultValue: 2, description: 'With validationSplit: stop after this many epochs without a better strict entity F1.' }) earlyStoppingPatience!: number;
  @Field(() => Int, { nullable: true, description: "Default: the experiment's seed." }) seed?: number;
}

@InputType({ description: "Pre-train the annotator's encoder from scratch (masked LM) before fine-tuning it (pretrainModel with bert or roberta as a step)." })
export class ExperimentAnnotatorPretrainingInput {
  @Field(() => [ID], { description: 'Corpora whose text it learns from, e.g. unannotated clinical notes imported as TEXT (never the test split).' }) corpusIds!: string[];
  @Field(() => EncoderArchitectureEnum, { defaultValue: EncoderArchitectureEnum.bert }) architecture!: EncoderArchitectureEnum;
  @Field(() => DecoderSizeInput, { nullable: true }) size?: DecoderSizeInput;
  @Field(() => Float, { defaultValue: 0.05 }) heldOutFraction!: number;
  @Field(() => Float, { defaultValue: 0.15, description: 'The share of tokens chosen for prediction, in (0, 1) (of those, 80% become the mask token, 10% a random token, 10% stay).' }) maskProbability!: number;
  @Field(() => Int, { defaultValue: 128 }) seqLen!: number;
  @Field(() => Int, { defaultValue: 8 }) batchSize!: number;
  @Field(() => Int, { defaultValue: 1 }) epochs!: number;
  @Field(() => Int, { nullable: true }) maxSteps?: number;
  @Field(() => Float, { defaultValue: 0.001 }) learningRate!: number;
  @Field(() => Int, { defaultValue: 0 }) warmupSteps!: number;
  @Field(() => Int, { nullable: true, description: "Default: the experiment's seed." }) seed?: number;
}

@InputType({ description: 'The annotator: a tagger trained on a seeded fraction of the real training split; fine-tuned from baseModelId, from an encoder the experiment pre-trains (pretraining), or from scratch (neither).' })
export class ExperimentAnnotatorInput extends ExperimentTaggerInput {
  @Field(() => Float, { defaultValue: 1, description: 'Share of the training split, in (0, 1] (a nested subset: 25% holds the 5%).' }) fraction!: number;
  @Field(() => Int, { nullable: true, description: "Which subset; default: the experiment's seed." }) subsetSeed?: number;
  @Field(() => ExperimentAnnotatorPretrainingInput, {
    nullable: true,
    description: "Pre-train an encoder from scratch first (step pretrain_annotator) and fine-tune the annotator from it; excludes baseModelId. The synthetic tagger does not start from it (its default settings are the annotator's other settings).",
  })
  pretraining?: ExperimentAnnotatorPretrainingInput;
  @Field(() => Float, {
    nullable: true,
    description: "When it annotates the synthetic notes: the words it leaves out of its spans with a probability of O under this (in (0, 1]) are stored as UNSURE, and the synthetic tagger's training skips them (annotateCorpus's unsureBelow). Omitted: none.",
  })
  unsureBelow?: number;
}

@InputType({ description: 'Domain adaptation of the generator on a seeded fraction of the real training split.' })
export class ExperimentAdaptationInput {
  @Field(() => Float, { defaultValue: 1 }) fraction!: number;
  @Field(() => Int, { nullable: true, description: "Default: the experiment's seed." }) subsetSeed?: number;
  @Field(() => LoraInput, { nullable: true, description: 'Train a LoRA adapter (merged); omitted: every weight.' }) lora?: LoraInput;
  @Field(() => Int, { defaultValue: 128 }) seqLen!: number;
  @Field(() => Int, { defaultValue: 8 }) batchSize!: number;
  @Field(() => Int, { defaultValue: 1 }) epochs!: number;
  @Field(() => Int, { nullable: true }) maxSteps?: number;
  @Field(() => Float, { nullable: true, description: 'Default 2e-4 with LoRA, 5e-5 for all weights.' }) learningRate?: number;
  @Field(() => Int, { defaultValue: 0 }) warmupSteps!: number;
  @Field(() => Int, { nullable: true, description: "Default: the experiment's seed." }) seed?: number;
}

@InputType({ description: 'Pre-train the generator from scratch before adaptation (pretrainModel as a step).' })
export class ExperimentPretrainingInput {
  @Field(() => [ID], { description: 'Corpora whose text it learns from, e.g. unannotated clinical notes imported as TEXT (never the test split).' }) corpusIds!: string[];
  @Field(() => DecoderArchitectureEnum, { defaultValue: DecoderArchitectureEnum.gpt2 }) architecture!: DecoderArchitectureEnum;
  @Field(() => DecoderSizeInput, { nullable: true }) size?: DecoderSizeInput;
  @Field(() => Float, { defaultValue: 0.05 }) heldOutFraction!: number;
  @Field(() => Int, { defaultValue: 128 }) seqLen!: number;
  @Field(() => Int, { defaultValue: 8 }) batchSize!: number;
  @Field(() => Int, { defaultValue: 1 }) epochs!: number;
  @Field(() => Int, { nullable: true }) maxSteps?: number;
  @Field(() => Float, { defaultValue: 0.001 }) learningRate!: number;
  @Field(() => Int, { defaultValue: 0 }) warmupSteps!: number;
  @Field(() => Int, { nullable: true, description: "Default: the experiment's seed." }) seed?: number;
}

@InputType({ description: 'Give baseModelId, or pretraining to train the generator from scratch.' })
export class ExperimentGeneratorInput {
  @Field(() => ID, { nullable: true, description: 'A causal LM (gpt2, llama) to adapt, or to sample from as it is.' }) baseModelId?: string;
  @Field(() => ExperimentPretrainingInput, { nullable: true }) pretraining?: ExperimentPretrainingInput;
  @Field(() => ExperimentAdaptationInput, { nullable: true, description: 'Omitted: no adaptation (the paper\'s 0% generator fraction).' }) adaptation?: ExperimentAdaptationInput;
}

@InputType({ description: 'Sampling: prompts are the first words of each prompt-split document (the method: 3 words, top-p 0.95, temperature 1).' })
export class ExperimentGenerationInput {
  @Field(() => Int, { defaultValue: 3 }) promptWords!: number;
  @Field(() => Int, { nullable: true, description: 'Use only the first N prompt documents.' }) maxPrompts?: number;
  @Field(() => Int, { nullable: true, description: 'Continuations per prompt (the paper: 80). Give this or sizeMultiple; neither: 1.' }) samplesPerPrompt?: number;
  @Field(() => Float, { nullable: true, description: 'Synthetic notes as a multiple of the training split (the paper: about 4); samples per prompt are rounded up to reach it.' }) sizeMultiple?: number;
  @Field(() => Int, { defaultValue: 256 }) maxNewTokens!: number;
  @Field(() => Float, { defaultValue: 1 }) temperature!: number;
  @Field(() => Float, { defaultValue: 0.95 }) topP!: number;
  @Field(() => Int, { nullable: true }) topK?: number;
  @Field(() => Int, { nullable: true, description: "Default: the experiment's seed." }) seed?: number;
}

@InputType({ description: "Between generation and annotation: notes over any threshold, measured against the generator's training text, are dropped (or flagged)." })
export class PrivacyGuardInput {
  @Field(() => GuardActionEnum, { defaultValue: GuardActionEnum.DROP }) action!: GuardActionEnum;
  @Field(() => Int, { defaultValue: 5, description: 'Words per n-gram.' }) n!: number;
  @Field(() => Float, { defaultValue: 0.5, description: "Largest share of a note's n-grams that may occur in the training text." }) maxNgramOverlap!: number;
  @Field(() => Int, { defaultValue: 20, description: 'Longest passage, in words, a note may copy from one training document.' }) maxCopiedWords!: number;
  @Field(() => Int, { defaultValue: 0, description: 'Verbatim occurrences of real (gold) PHI strings a note may contain.' }) maxPhiStrings!: number;
  @Field(() => Int, { defaultValue: 8, description: 'Real PHI strings shorter than this many characters are not counted: sex, ages and countries ("Mujer", "45 años", "España") are short, common and in nearly every note.' }) phiMinLength!: number;
}

@InputType()
export class ExperimentEvaluationInput {
  @Field(() => Int, { defaultValue: 1000 }) bootstrapResamples!: number;
  @Field(() => Float, { defaultValue: 0.95 }) confidenceLevel!: number;
  @Field(() => Int, { nullable: true, description: "Default: the experiment's seed." }) seed?: number;
}

@InputType({ description: 'The method on one real corpus: annotator, generator, generation, privacy guard, machine annotation, synthetic tagger, evaluation of both taggers on the test split, privacy report.' })
export class CreateExperimentInput {
  @Field(() => String) name!: string;
  @Field(() => ID, { description: 'The real, annotated corpus.' }) corpusId!: string;
  @Field(() => String, { defaultValue: 'train', description: 'Trains the annotator and adapts the generator.' }) trainSplit!: string;
  @Field(() => String, { defaultValue: 'dev', description: 'Prompts the generator (the paper: the validation documents).' }) promptSplit!: string;
  @Field(() => String, { defaultValue: 'test', description: 'Scores both taggers; must differ from the other two.' }) testSplit!: string;
  @Field(() => Int, { defaultValue: 0, description: 'Default for every seed the spec does not set.' }) seed!: number;
  @Field(() => DeviceEnum, { defaultValue: DeviceEnum.cpu }) device!: DeviceEnum;
  @Field(() => ExperimentAnnotatorInput, { nullable: true }) annotator?: ExperimentAnnotatorInput;
  @Field(() => ExperimentGeneratorInput) generator!: ExperimentGeneratorInput;
  @Field(() => ExperimentGenerationInput, { nullable: true }) generation?: ExperimentGenerationInput;
  @Field(() => ExperimentTaggerInput, { nullable: true, description: 'Default: the annotator\'s settings.' }) syntheticTagger?: ExperimentTaggerInput;
  @Field(() => PrivacyGuardInput, { nullable: true }) guard?: PrivacyGuardInput;
  @Field(() => ExperimentEvaluationInput, { nullable: true }) evaluation?: ExperimentEvaluationInput;
}

@ObjectType()
export class PlannedStep {
  @Field(() => String) name!: string;
  @Field(() => String) kind!: string;
  @Field(() => PlannedActionEnum) action!: PlannedActionEnum;
  @Field(() => String, { nullable: true, description: 'Null when an input is still to be computed.' }) inputHash!: string | null;
  @Field(() => ID, { nullable: true, description: 'The job that answers it (reused), or that computes it.' }) jobId!: string | null;
}

@ObjectType()
export class ExperimentPlan {
  @Field(() => Experiment, { nullable: true, description: 'Null for a dry run.' }) experiment!: Experiment | null;
  @Field(() => [PlannedStep]) steps!: PlannedStep[];
  @Field(() => Int) stepsToRun!: number;
  @Field(() => Int) stepsReused!: number;
}

@ObjectType({ description: 'What the privacy guard found: counts per reason (a note may have several).' })
export class PrivacyGuardSummary {
  @Field(() => ID) jobId!: string;
  @Field(() => GuardActionEnum) action!: GuardActionEnum;
  @Field(() => Int) checked!: number;
  @Field(() => Int) flagged!: number;
  @Field(() => Int) removed!: number;
  @Field(() => Int) kept!: number;
  @Field(() => Int) ngramOverlap!: number;
  @Field(() => Int) copiedPassage!: number;
  @Field(() => Int) phiStrings!: number;
}

@ObjectType({ description: 'An experiment event: its status (EXPERIMENT), a step transition (STEP), or a running step job\'s PROGRESS, LOG, METRIC or generated text (TOKEN).' })
export class ExperimentEvent {
  @Field(() => ID) experimentId!: string;
  @Field(() => String) kind!: string;
  @Field(() => String, { nullable: true }) status!: string | null;
  @Field(() => String, { nullable: true }) step!: string | null;
  @Field(() => String, { nullable: true }) stepKind!: string | null;
  @Field(() => ID, { nullable: true }) jobId!: string | null;
  @Field(() => Boolean, { nullable: true }) reused!: boolean | null;
  @Field(() => Float, { nullable: true }) progress!: number | null;
  @Field(() => Float, { nullable: true }) etaSeconds!: number | null;
  @Field(() => String, { nullable: true }) message!: string | null;
  @Field(() => String, { nullable: true }) metricName!: string | null;
  @Field(() => Float, { nullable: true }) metricValue!: number | null;
  @Field(() => Int, { nullable: true }) metricStep!: number | null;
  @Field(() => Int, { nullable: true }) sequenceIndex!: number | null;
  @Field(() => String, { nullable: true }) text!: string | null;
  @Field(() => Boolean, { nullable: true }) done!: boolean | null;
  @Field(() => String) at!: string;
}

@ObjectType({ description: 'The result table: both taggers on the test split, their paired test, the guard and the privacy report. A part is null until its step has finished.' })
export class ExperimentResults {
  @Field(() => ID, { nullable: true, description: 'The annotator: the tagger trained on the real (gold) notes.' }) annotatorModelId!: string | null;
  @Field(() => ID, { nullable: true, description: 'The tagger trained on the machine-annotated synthetic notes alone.' }) syntheticTaggerModelId!: string | null;
  @Field(() => Evaluation, { nullable: true, description: "The gold-trained tagger (the annotator) on the test split: the annotator's own F1." }) gold!: Evaluation | null;
  @Field(() => Evaluation, { nullable: true, description: 'The synthetic-trained tagger on the test split.' }) synthetic!: Evaluation | null;
  @Field(() => EvaluationComparison, { nullable: true, description: 'Paired document bootstrap: gold (A) minus synthetic (B), every scorer and label.' }) comparison!: EvaluationComparison | null;
  @Field(() => Int, { nullable: true, description: 'Notes generated.' }) generatedDocuments!: number | null;
  @Field(() => Int, { nullable: true, description: 'Notes the synthetic tagger learned from (after the guard).' }) syntheticDocuments!: number | null;
  @Field(() => ID, { nullable: true, description: 'The corpus of those notes.' }) syntheticCorpusId!: string | null;
  @Field(() => PrivacyGuardSummary, { nullable: true }) guard!: PrivacyGuardSummary | null;
  @Field(() => PrivacyReport, { nullable: true, description: 'The kept notes against the real training split.' }) privacy!: PrivacyReport | null;
}

@InputType({ description: 'One axis: a field of the experiment spec (annotator.fraction, generator.adaptation.fraction (0: no adaptation), generation.sizeMultiple, generation.samplesPerPrompt, generator.baseModelId, …; see an experiment\'s config) or "fraction" (the same fraction for annotator and generator), and its values.' })
export class AblationAxisInput {
  @Field(() => String) field!: string;
  @Field(() => [JSONScalar]) values!: (number | string | boolean | null)[];
}

@InputType()
export class CreateAblationInput {
  @Field(() => String) name!: string;
  @Field(() => CreateExperimentInput, { description: 'The spec every cell starts from (its name and seed are replaced per cell).' }) base!: CreateExperimentInput;
  @Field(() => [AblationAxisInput]) axes!: AblationAxisInput[];
  @Field(() => [Int], { description: 'Every cell runs once per seed (each seed seeds every component and subset).' }) seeds!: number[];
}

export const ExperimentConnection = ConnectionType(Experiment, 'Experiment');
export const AblationConnection = ConnectionType(Ablation, 'Ablation');
export const SyntheticDatasetConnection = ConnectionType(SyntheticDataset, 'SyntheticDataset');
