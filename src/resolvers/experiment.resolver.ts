import { Arg, Args, Authorized, FieldResolver, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { AuthUser } from '../auth/auth.types.js';
import { CurrentUser, requireUser, type GraphQLContext } from '../server/context.js';
import type { Services } from '../server/services.js';
import { seedOf, type ExperimentSpec, type PretrainingSpec, type TaggerSpec } from '../experiments/spec.js';
import type { AblationEventPayload, ExperimentEventPayload } from '../subscriptions/pubsub.js';
import { Job, JobStatusEnum } from '../schema/job.type.js';
import { DECODER_SIZE_DEFAULTS, SCRATCH_DEFAULTS } from '../schema/model.type.js';
import { JSONScalar } from '../schema/scalars.js';
import { renderSvg } from '../plots/charts.js';
import {
  Ablation,
  AblationConnection,
  CreatedOrderField,
  CreateExperimentInput,
  Experiment,
  ExperimentConnection,
  ExperimentEvent,
  ExperimentPlan,
  ExperimentResults,
  ExperimentTaggerInput,
  ExperimentAnnotatorPretrainingInput,
  ExperimentPretrainingInput,
  Step,
  SyntheticDataset,
  SyntheticDatasetConnection,
  AblationAxisInput,
  AblationEvent,
  AblationPlotKindEnum,
  AblationPlan,
  AblationRow,
  CreateAblationInput,
} from '../schema/experiment.type.js';
import { OrderByInput, PageArgs, SortDirection } from '../schema/pagination.js';

const CreatedOrderBy = OrderByInput(CreatedOrderField, 'Created', CreatedOrderField.createdAt);
type CreatedOrderBy = InstanceType<typeof CreatedOrderBy>;
const newestFirst = { field: CreatedOrderField.createdAt, direction: SortDirection.DESC };

@Resolver(() => Experiment)
export class ExperimentResolver {
  constructor(private readonly services: Services) {}

  @Authorized()
  @Query(() => Experiment)
  experiment(@CurrentUser() user: AuthUser, @Arg('id', () => ID) id: string) {
    return this.services.experiments.experiment(user, id);
  }

  @Authorized()
  @Query(() => ExperimentConnection)
  experiments(
    @CurrentUser() user: AuthUser,
    @Args(() => PageArgs) page: PageArgs,
    @Arg('ablationId', () => ID, { nullable: true }) ablationId: string | null,
    @Arg('status', () => JobStatusEnum, { nullable: true }) status: JobStatusEnum | null,
    @Arg('orderBy', () => CreatedOrderBy, { nullable: true }) orderBy: CreatedOrderBy | null,
  ) {
    return this.services.experiments.experiments(user, { ablationId, status }, page, orderBy ?? newestFirst);
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => ExperimentPlan, { description: 'Validates the spec, stores it and starts its steps (reusing identical finished ones). With dryRun: the plan only, nothing stored or started.' })
  async createExperiment(
    @CurrentUser() user: AuthUser,
    @Arg('input', () => CreateExperimentInput) input: CreateExperimentInput,
    @Arg('dryRun', () => Boolean, { defaultValue: false }) dryRun: boolean,
  ) {
    const { experiment, plan } = await this.services.experiments.create(user, input.name, specFromInput(input), dryRun);
    return { experiment, steps: plan, stepsToRun: plan.filter((s) => s.action === 'RUN').length, stepsReused: plan.filter((s) => s.action === 'REUSE').length };
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => Experiment, { description: 'Stops it; its running jobs are cancelled unless another experiment waits on them. Finished steps stay reusable.' })
  cancelExperiment(@CurrentUser() user: AuthUser, @Arg('id', () => ID) id: string) {
    return this.services.experiments.cancel(user, id);
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => ID, { description: 'Deletes it with its steps and the synthetic corpora only it made; steps other experiments reuse stay. Returns its id.' })
  deleteExperiment(@CurrentUser() user: AuthUser, @Arg('id', () => ID) id: string) {
    return this.services.experiments.delete(user, id);
  }

  @Authorized()
  @Subscription(() => ExperimentEvent, {
    subscribe: ({ args, context }) => (context as GraphQLContext).services.experiments.subscribe(requireUser(context as GraphQLContext), args.id as string, Boolean(args.tokens)),
    description: 'The experiment\'s state (one EXPERIMENT event, one STEP event per step), then step transitions, its running jobs\' progress, log lines and metrics, and with tokens: true the generated text, until it ends.',
  })
  experimentEvents(@Root() event: ExperimentEventPayload, @Arg('id', () => ID) _id: string, @Arg('tokens', () => Boolean, { defaultValue: false }) _tokens: boolean) {
    return event;
  }

  @FieldResolver(() => [Step])
  steps(@Root() experiment: Experiment) {
    return this.services.experiments.stepsOf(experiment.id);
  }

  @FieldResolver(() => ExperimentResults)
  async results(@CurrentUser() user: AuthUser, @Root() experiment: Experiment): Promise<ExperimentResults> {
    const done = await this.services.experiments.finishedJobs(experiment.id);
    const { evaluation } = this.services;
    const spec = experiment.config as ExperimentSpec;
    // Each part is read with the caller's rights: a part they may not read is null.
    const orNull = <T>(promise: Promise<T>) => promise.catch(() => null);
    const gold = done.evaluate_gold ? await orNull(evaluation.evaluation(user, done.evaluate_gold.jobId)) : null;
    const synthetic = done.evaluate_synthetic ? await orNull(evaluation.evaluation(user, done.evaluate_synthetic.jobId)) : null;
    const bootstrap = { resamples: spec.evaluation.bootstrapResamples, level: spec.evaluation.confidenceLevel, seed: seedOf(spec, spec.evaluation.seed) };
    const comparison = gold && synthetic ? await orNull(evaluation.compare(user, gold.jobId, synthetic.jobId, bootstrap)) : null;
    const guardJob = done.guard ? await orNull(this.services.jobs.getReadable(user, done.guard.jobId)) : null;
    const g = guardJob?.result as { action: 'DROP' | 'FLAG'; checked: number; flagged: number; removed: number; kept: number; reasons: { ngramOverlap: number; copiedPassage: number; phiStrings: number } } | undefined;
    const keptCorpus = done.annotation?.result.corpusId as string | undefined;
    return {
      annotatorModelId: (done.annotator?.result.modelId as string) ?? null,
      syntheticTaggerModelId: (done.synthetic_tagger?.result.modelId as string) ?? null,
      gold,
      synthetic,
      comparison,
      generatedDocuments: (done.generation?.result.documents as number) ?? null,
      syntheticDocuments: (done.annotation?.result.documents as number) ?? null,
      syntheticCorpusId: keptCorpus ?? null,
      guard: g ? { jobId: guardJob!.id, action: g.action as never, checked: g.checked, flagged: g.flagged, removed: g.removed, kept: g.kept, ...g.reasons } : null,
      privacy: done.privacy_report ? await orNull(evaluation.privacyReport(user, done.privacy_report.jobId)) : null,
    } as ExperimentResults;
  }
}

@Resolver(() => Step)
export class StepResolver {
  constructor(private readonly services: Services) {}

  @FieldResolver(() => Job, { nullable: true, description: 'Its job: progress, ETA, device, timings (contents redacted for those who may not read them).' })
  job(@CurrentUser() user: AuthUser, @Root() step: Step) {
    return step.jobId ? this.services.jobs.get(user, step.jobId).catch(() => null) : null;
  }
}

/** The GraphQL input as a spec, every default filled in (a seed left out stays null: the experiment's). */
export function specFromInput(input: CreateExperimentInput): ExperimentSpec {
  const tagger = (t: ExperimentTaggerInput | undefined): TaggerSpec => ({
    baseModelId: t?.baseModelId ?? null,
    scratch: { ...SCRATCH_DEFAULTS, ...t?.scratch },
    epochs: t?.epochs ?? 6,
    batchSize: t?.batchSize ?? 16,
    learningRate: t?.learningRate ?? null,
    warmupRatio: t?.warmupRatio ?? 0,
    chunkWords: t?.chunkWords ?? 128,
    maxSteps: t?.maxSteps ?? null,
    validationSplit: t?.validationSplit ?? 0,
    earlyStoppingPatience: t?.earlyStoppingPatience ?? 2,
    seed: t?.seed ?? null,
  });
  /** What both pre-training steps share; the caller adds its architecture (and the encoder its mask probability). */
  const pretraining = (q: ExperimentAnnotatorPretrainingInput | ExperimentPretrainingInput): Omit<PretrainingSpec<string>, 'architecture'> => ({
    corpusIds: q.corpusIds,
    size: { ...DECODER_SIZE_DEFAULTS, ...q.size },
    heldOutFraction: q.heldOutFraction,
    seqLen: q.seqLen,
    batchSize: q.batchSize,
    epochs: q.epochs,
    maxSteps: q.maxSteps ?? null,
    learningRate: q.learningRate,
    warmupSteps: q.warmupSteps,
    seed: q.seed ?? null,
  });
  const a = input.generator.adaptation;
  const p = input.generator.pretraining;
  const ap = input.annotator?.pretraining;
  const g = input.generation;
  const guard = input.guard;
  return {
    seed: input.seed,
    corpusId: input.corpusId,
    splits: { train: input.trainSplit, prompt: input.promptSplit, test: input.testSplit },
    annotator: {
      ...tagger(input.annotator),
      fraction: input.annotator?.fraction ?? 1,
      subsetSeed: input.annotator?.subsetSeed ?? null,
      pretraining: ap ? { ...pretraining(ap), architecture: ap.architecture, maskProbability: ap.maskProbability } : null,
      unsureBelow: input.annotator?.unsureBelow ?? null,
    },
    generator: {
      baseModelId: input.generator.baseModelId ?? null,
      pretraining: p ? { ...pretraining(p), architecture: p.architecture } : null,
      adaptation: a
        ? {
            fraction: a.fraction,
            subsetSeed: a.subsetSeed ?? null,
            lora: a.lora ? { r: a.lora.r, alpha: a.lora.alpha, targetModules: a.lora.targetModules ?? null } : null,
            seqLen: a.seqLen,
            batchSize: a.batchSize,
            epochs: a.epochs,
            maxSteps: a.maxSteps ?? null,
            learningRate: a.learningRate ?? null,
            warmupSteps: a.warmupSteps,
            seed: a.seed ?? null,
          }
        : null,
    },
    generation: {
      promptWords: g?.promptWords ?? 3,
      maxPrompts: g?.maxPrompts ?? null,
      samplesPerPrompt: g?.samplesPerPrompt ?? 1,
      sizeMultiple: g?.sizeMultiple ?? null,
      maxNewTokens: g?.maxNewTokens ?? 256,
      temperature: g?.temperature ?? 1,
      topP: g?.topP ?? 0.95,
      topK: g?.topK ?? null,
      seed: g?.seed ?? null,
    },
    syntheticTagger: tagger(input.syntheticTagger ?? input.annotator),
    guard: { action: guard?.action ?? 'DROP', n: guard?.n ?? 5, maxNgramOverlap: guard?.maxNgramOverlap ?? 0.5, maxCopiedWords: guard?.maxCopiedWords ?? 20, maxPhiStrings: guard?.maxPhiStrings ?? 0, phiMinLength: guard?.phiMinLength ?? 8 },
    evaluation: { bootstrapResamples: input.evaluation?.bootstrapResamples ?? 1000, confidenceLevel: input.evaluation?.confidenceLevel ?? 0.95, seed: input.evaluation?.seed ?? null },
    device: input.device,
  };
}

@Resolver(() => Ablation)
export class AblationResolver {
  constructor(private readonly services: Services) {}

  @Authorized()
  @Query(() => Ablation)
  ablation(@CurrentUser() user: AuthUser, @Arg('id', () => ID) id: string) {
    return this.services.ablations.ablation(user, id);
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => AblationPlan, { description: 'Validates every cell, stores the grid and starts the cells (rows first); steps cells share run once. With dryRun: the plan only.' })
  async createAblation(
    @CurrentUser() user: AuthUser,
    @Arg('input', () => CreateAblationInput) input: CreateAblationInput,
    @Arg('dryRun', () => Boolean, { defaultValue: false }) dryRun: boolean,
  ) {
    const base = specFromInput(input.base);
    const { ablation, plan } = await this.services.ablations.create(user, input.name, base, input.axes, input.seeds, dryRun);
    return { ablation, ...plan };
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => Ablation, { description: 'Adds values to existing axes and new seeds: only the new cells run, and they reuse what they share.' })
  extendAblation(
    @CurrentUser() user: AuthUser,
    @Arg('id', () => ID) id: string,
    @Arg('axes', () => [AblationAxisInput], { defaultValue: [] }) axes: AblationAxisInput[],
    @Arg('seeds', () => [Int], { defaultValue: [] }) seeds: number[],
  ) {
    return this.services.ablations.extend(user, id, { axes, seeds });
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => Ablation, { description: 'No new step starts; running jobs finish.' })
  pauseAblation(@CurrentUser() user: AuthUser, @Arg('id', () => ID) id: string) {
    return this.services.ablations.pause(user, id);
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => Ablation, { description: 'Unpauses, and runs again the cells that failed or were cancelled: only what is missing is computed.' })
  resumeAblation(@CurrentUser() user: AuthUser, @Arg('id', () => ID) id: string) {
    return this.services.ablations.resume(user, id);
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => Ablation)
  cancelAblation(@CurrentUser() user: AuthUser, @Arg('id', () => ID) id: string) {
    return this.services.ablations.cancel(user, id);
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => ID, { description: 'Deletes the ablation and its cells, as deleteExperiment does for each. Returns its id.' })
  deleteAblation(@CurrentUser() user: AuthUser, @Arg('id', () => ID) id: string) {
    return this.services.ablations.delete(user, id);
  }

  @Authorized()
  @Subscription(() => AblationEvent, {
    subscribe: ({ args, context }) => (context as GraphQLContext).services.ablations.subscribe(requireUser(context as GraphQLContext), args.id as string),
    description: 'The ablation\'s state, then one event per cell that ends (with how many are done), until the ablation ends.',
  })
  ablationEvents(@Root() event: AblationEventPayload, @Arg('id', () => ID) _id: string) {
    return event;
  }

  @FieldResolver(() => JSONScalar, { description: 'A chart of the table as a Vega-Lite spec. The same chart rendered: plotSvg, or GET /ablations/<id>/plots/<kind>.svg (.png, .json)?metric=…&axis=… with your token.' })
  plot(
    @CurrentUser() user: AuthUser,
    @Root() ablation: Ablation,
    @Arg('kind', () => AblationPlotKindEnum) kind: AblationPlotKindEnum,
    @Arg('metric', () => String, { defaultValue: 'token_f1' }) metric: string,
    @Arg('axis', () => String, { nullable: true, description: 'Default: the first axis; the others facet the chart.' }) axis: string | null,
  ) {
    return this.services.ablations.plot(user, ablation.id, kind, metric, axis);
  }

  @FieldResolver(() => String)
  async plotSvg(
    @CurrentUser() user: AuthUser,
    @Root() ablation: Ablation,
    @Arg('kind', () => AblationPlotKindEnum) kind: AblationPlotKindEnum,
    @Arg('metric', () => String, { defaultValue: 'token_f1' }) metric: string,
    @Arg('axis', () => String, { nullable: true }) axis: string | null,
  ) {
    return renderSvg(await this.services.ablations.plot(user, ablation.id, kind, metric, axis));
  }

  @FieldResolver(() => [AblationRow], { description: 'One row per combination of axis values, over its seeds. CSV and JSON: GET /ablations/<id>/table.csv (or .json)?metric=… with your token.' })
  table(@CurrentUser() user: AuthUser, @Root() ablation: Ablation, @Arg('metric', () => String, { defaultValue: 'token_f1', description: 'A micro-averaged score of the evaluations: token_f1 (the paper), entity_f1, span_strict_f1, span_merged_f1, token_binary_f1, …' }) metric: string) {
    return this.services.ablations.table(user, ablation.id, metric);
  }

  @Authorized()
  @Query(() => AblationConnection)
  ablations(
    @CurrentUser() user: AuthUser,
    @Args(() => PageArgs) page: PageArgs,
    @Arg('nameContains', () => String, { nullable: true }) nameContains: string | null,
    @Arg('orderBy', () => CreatedOrderBy, { nullable: true }) orderBy: CreatedOrderBy | null,
  ) {
    return this.services.ablations.ablations(user, { nameContains }, page, orderBy ?? newestFirst);
  }

  @FieldResolver(() => ExperimentConnection)
  experiments(@CurrentUser() user: AuthUser, @Root() ablation: Ablation, @Args(() => PageArgs) page: PageArgs) {
    return this.services.experiments.experiments(user, { ablationId: ablation.id, status: null }, page, newestFirst);
  }
}

@Resolver(() => SyntheticDataset)
export class SyntheticDatasetResolver {
  constructor(private readonly services: Services) {}

  @Authorized()
  @Query(() => SyntheticDataset)
  syntheticDataset(@CurrentUser() user: AuthUser, @Arg('id', () => ID) id: string) {
    return this.services.experiments.syntheticDataset(user, id);
  }

  @Authorized()
  @Query(() => SyntheticDatasetConnection)
  syntheticDatasets(
    @CurrentUser() user: AuthUser,
    @Args(() => PageArgs) page: PageArgs,
    @Arg('generatorModelId', () => ID, { nullable: true }) generatorModelId: string | null,
    @Arg('annotatorModelId', () => ID, { nullable: true }) annotatorModelId: string | null,
    @Arg('orderBy', () => CreatedOrderBy, { nullable: true }) orderBy: CreatedOrderBy | null,
  ) {
    return this.services.experiments.syntheticDatasets(user, { generatorModelId, annotatorModelId }, page, orderBy ?? newestFirst);
  }
}
