import { Arg, Args, Authorized, FieldResolver, Float, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { AuthUser } from '../auth/auth.types.js';
import { CurrentUser } from '../server/context.js';
import type { Services } from '../server/services.js';
import { Job } from '../schema/job.type.js';
import { SCRATCH_DEFAULTS, DECODER_SIZE_DEFAULTS, PretrainModelInput, AdaptGeneratorInput, DeviceEnum, ImportModelInput, MetricPoint, Model, ModelConnection, ModelKindEnum, ModelOrderField, TrainNerModelInput } from '../schema/model.type.js';
import { OrderByInput, PageArgs, SortDirection } from '../schema/pagination.js';
import { JSONScalar } from '../schema/scalars.js';
import { lineChart, renderSvg } from '../plots/charts.js';

const ModelOrderBy = OrderByInput(ModelOrderField, 'Model', ModelOrderField.createdAt);
type ModelOrderBy = InstanceType<typeof ModelOrderBy>;


@Resolver(() => Model)
export class ModelResolver {
  constructor(private readonly services: Services) {}

  @Authorized()
  @Query(() => Model)
  model(@CurrentUser() user: AuthUser, @Arg('id', () => ID) id: string) {
    return this.services.models.requireReadable(user, id);
  }

  @Authorized()
  @Query(() => ModelConnection, { description: 'Models you may use: your own, and those made from nothing that holds PHI (containsPhi: false).' })
  models(
    @CurrentUser() user: AuthUser,
    @Args(() => PageArgs) page: PageArgs,
    @Arg('kind', () => ModelKindEnum, { nullable: true }) kind: ModelKindEnum | null,
    @Arg('orderBy', () => ModelOrderBy, { nullable: true }) orderBy: ModelOrderBy | null,
  ) {
    return this.services.models.list(user, { kind }, page, orderBy ?? { field: ModelOrderField.createdAt, direction: SortDirection.DESC });
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => Job, { description: 'Trains a NER tagger on a corpus split (a job; its events stream the loss). result.modelId names the model.' })
  trainNerModel(@CurrentUser() user: AuthUser, @Arg('input', () => TrainNerModelInput) input: TrainNerModelInput) {
    return this.services.models.startTraining(user, {
      ...input,
      baseModelId: input.baseModelId ?? null,
      annotationModelId: input.annotationModelId ?? null,
      scratch: { ...SCRATCH_DEFAULTS, ...input.scratch },
      learningRate: input.learningRate ?? null,
      maxSteps: input.maxSteps ?? null,
      kind: input.kind === ModelKindEnum.NER_SYNTHETIC ? 'NER_SYNTHETIC' : 'NER_ANNOTATOR',
    });
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => Job, { description: 'Adapts a generator to a corpus (a job streaming its loss); result.modelId names the new GENERATOR.' })
  adaptGenerator(@CurrentUser() user: AuthUser, @Arg('input', () => AdaptGeneratorInput) input: AdaptGeneratorInput) {
    return this.services.models.startAdaptation(user, {
      ...input,
      heldOutSplit: input.heldOutSplit ?? null,
      lora: input.lora ? { r: input.lora.r, alpha: input.lora.alpha, targetModules: input.lora.targetModules ?? null } : null,
      maxSteps: input.maxSteps ?? null,
      learningRate: input.learningRate ?? null,
    });
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => Job, {
    description:
      'Pre-trains a model from scratch (a job streaming its loss). gpt2/llama: causal LM, heldout_perplexity at the end; result.modelId names the new GENERATOR, a base for adaptGenerator and experiments. bert/roberta: masked LM, heldout_mlm_loss at the end; result.modelId names the new ENCODER_PRETRAINED, a baseModelId for trainNerModel.',
  })
  pretrainModel(@CurrentUser() user: AuthUser, @Arg('input', () => PretrainModelInput) input: PretrainModelInput) {
    return this.services.models.startPretraining(user, {
      ...input,
      corpusId: input.corpusId ?? null,
      split: input.split ?? null,
      size: { ...DECODER_SIZE_DEFAULTS, ...input.size },
      maxSteps: input.maxSteps ?? null,
    });
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => Job, { description: "Tags a corpus you own with a NER model; its machine annotations replace the model's earlier ones." })
  annotateCorpus(
    @CurrentUser() user: AuthUser,
    @Arg('modelId', () => ID) modelId: string,
    @Arg('corpusId', () => ID) corpusId: string,
    @Arg('split', () => String, { nullable: true }) split: string | null,
    @Arg('device', () => DeviceEnum, { defaultValue: DeviceEnum.cpu }) device: DeviceEnum,
    @Arg('unsureBelow', () => Float, {
      nullable: true,
      description: "Also store, as UNSURE annotations, the words the model leaves out of its spans with a probability of O under this (in (0, 1]); training on this model's annotations then skips them, so a tagger trained on them does not learn \"not PHI\" where the model may have missed some.",
    })
    unsureBelow: number | null,
  ) {
    return this.services.models.startAnnotation(user, modelId, corpusId, split ?? null, device, unsureBelow ?? null);
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => Model, { description: 'Imports a Hugging Face checkpoint; download models from /models/<id>/download.' })
  importModel(@CurrentUser() user: AuthUser, @Arg('input', () => ImportModelInput) input: ImportModelInput) {
    return this.services.models.importModel(user, { name: input.name, kind: input.kind, zip: Buffer.from(input.contentBase64, 'base64'), containsPhi: input.containsPhi });
  }

  @FieldResolver(() => JSONScalar, { description: 'The training loss by step as a Vega-Lite spec (lossCurveSvg renders the same spec).' })
  async lossCurve(@Root() model: Model) {
    const points = await this.services.models.metrics(model.id, 'train_loss');
    return lineChart({ title: `${model.name}: training loss`, xLabel: 'optimizer step', yLabel: 'cross-entropy', series: [{ name: 'train_loss', points: points.map((p) => [p.step ?? 0, p.value]) }] });
  }

  @FieldResolver(() => String, { description: 'The training loss by step as an SVG line chart.' })
  async lossCurveSvg(@Root() model: Model) {
    return renderSvg(await this.lossCurve(model));
  }

  @FieldResolver(() => [MetricPoint], { description: 'Training curves (train_loss by step) and scores.' })
  metrics(@Root() model: Model, @Arg('name', () => String, { nullable: true }) name: string | null) {
    return this.services.models.metrics(model.id, name);
  }
}
