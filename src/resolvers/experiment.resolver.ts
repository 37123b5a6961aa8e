import { Arg, Args, Authorized, FieldResolver, ID, Query, Resolver, Root } from 'type-graphql';
import type { AuthUser } from '../auth/auth.types.js';
import { CurrentUser } from '../server/context.js';
import type { Services } from '../server/services.js';
import { JobStatusEnum } from '../schema/job.type.js';
import {
  Ablation,
  AblationConnection,
  CreatedOrderField,
  Experiment,
  ExperimentConnection,
  Step,
  SyntheticDataset,
  SyntheticDatasetConnection,
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

  @FieldResolver(() => [Step])
  steps(@Root() experiment: Experiment) {
    return this.services.experiments.steps(experiment.id);
  }
}

@Resolver(() => Ablation)
export class AblationResolver {
  constructor(private readonly services: Services) {}

  @Authorized()
  @Query(() => Ablation)
  ablation(@CurrentUser() user: AuthUser, @Arg('id', () => ID) id: string) {
    return this.services.experiments.ablation(user, id);
  }

  @Authorized()
  @Query(() => AblationConnection)
  ablations(
    @CurrentUser() user: AuthUser,
    @Args(() => PageArgs) page: PageArgs,
    @Arg('nameContains', () => String, { nullable: true }) nameContains: string | null,
    @Arg('orderBy', () => CreatedOrderBy, { nullable: true }) orderBy: CreatedOrderBy | null,
  ) {
    return this.services.experiments.ablations(user, { nameContains }, page, orderBy ?? newestFirst);
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
