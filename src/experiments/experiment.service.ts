/**
 * Experiments (one cell of the pipeline: its steps and their jobs), ablations (grids of
 * experiments) and synthetic datasets, for reading. The synthesis pipeline creates them.
 */
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { notFound } from '../common/errors.js';
import type { AuthUser } from '../auth/auth.types.js';
import type { CorpusService } from '../corpora/corpus.service.js';
import { paginate, type PageArgs, type SortDirection } from '../schema/pagination.js';

type Order = { field: string; direction: SortDirection };

export class ExperimentService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly corpora: CorpusService,
  ) {}

  // Experiments and ablations are their owner's (admins see all), like jobs.
  private ownedWhere(user: AuthUser) {
    return user.role === 'ADMIN' ? {} : { ownerId: user.id };
  }

  async experiment(user: AuthUser, id: string) {
    const experiment = await this.prisma.experiment.findFirst({ where: { id, ...this.ownedWhere(user) } });
    if (!experiment) throw notFound('Experiment', id);
    return experiment;
  }

  experiments(user: AuthUser, filter: { ablationId: string | null; status: string | null }, page: PageArgs, order: Order) {
    const where: Prisma.ExperimentWhereInput = {
      ...this.ownedWhere(user),
      ...(filter.ablationId ? { ablationId: filter.ablationId } : {}),
      ...(filter.status ? { status: filter.status as never } : {}),
    };
    return paginate((args) => this.prisma.experiment.findMany(args as never), (args) => this.prisma.experiment.count(args as never), where, page, order);
  }

  steps(experimentId: string) {
    return this.prisma.step.findMany({ where: { experimentId }, orderBy: { createdAt: 'asc' } });
  }

  async ablation(user: AuthUser, id: string) {
    const ablation = await this.prisma.ablation.findFirst({ where: { id, ...this.ownedWhere(user) } });
    if (!ablation) throw notFound('Ablation', id);
    return ablation;
  }

  ablations(user: AuthUser, filter: { nameContains: string | null }, page: PageArgs, order: Order) {
    const where: Prisma.AblationWhereInput = { ...this.ownedWhere(user), ...(filter.nameContains ? { name: { contains: filter.nameContains, mode: 'insensitive' } } : {}) };
    return paginate((args) => this.prisma.ablation.findMany(args as never), (args) => this.prisma.ablation.count(args as never), where, page, order);
  }

  /** A synthetic dataset is visible to whoever may read its corpus. */
  async syntheticDataset(user: AuthUser, id: string) {
    const dataset = await this.prisma.syntheticDataset.findFirst({ where: { id, corpus: this.corpora.visibleWhere(user) } });
    if (!dataset) throw notFound('Synthetic dataset', id);
    return dataset;
  }

  syntheticDatasets(user: AuthUser, filter: { generatorModelId: string | null; annotatorModelId: string | null }, page: PageArgs, order: Order) {
    const where: Prisma.SyntheticDatasetWhereInput = {
      corpus: this.corpora.visibleWhere(user),
      ...(filter.generatorModelId ? { generatorModelId: filter.generatorModelId } : {}),
      ...(filter.annotatorModelId ? { annotatorModelId: filter.annotatorModelId } : {}),
    };
    return paginate((args) => this.prisma.syntheticDataset.findMany(args as never), (args) => this.prisma.syntheticDataset.count(args as never), where, page, order);
  }
}
