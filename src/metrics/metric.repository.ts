/**
 * The one writer (and reader) of metric rows. A row is first recorded against the job that computed
 * it; when that job's work has a home, its rows are filed under it too: the model it trained, the
 * experiment step it ran for. So every number can be traced to its job, model, corpus, experiment
 * and step.
 */
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { paginate, SortDirection, type PageArgs } from '../common/pagination.js';

export interface NewMetric {
  name: string;
  value: number;
  label: string | null;
  split: string | null;
  ciLow: number | null;
  ciHigh: number | null;
  scorer: string;
  scorerVersion: string;
  modelId: string | null;
  corpusId: string;
  jobId: string;
}

// Rows per INSERT, well under PostgreSQL's 65,535 bind parameters.
const METRIC_BATCH = 2000;

export class MetricRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** A point of a curve (training loss at a step) as the job computes it. */
  async recordPoint(jobId: string, point: { name: string; value: number; step: number | null }) {
    await this.prisma.metric.create({ data: { ...point, jobId } });
  }

  /** Replaces the job's points of one curve in one transaction. */
  async replaceCurve(jobId: string, name: string, points: { step: number; value: number }[]) {
    await this.prisma.$transaction(async (tx) => {
      await tx.metric.deleteMany({ where: { jobId, name } });
      for (let i = 0; i < points.length; i += METRIC_BATCH) await tx.metric.createMany({ data: points.slice(i, i + METRIC_BATCH).map((p) => ({ ...p, name, jobId })) });
    });
  }

  /** Replaces the job's rows in one transaction, so a resumed job never stores them twice. */
  async replaceJobMetrics(jobId: string, rows: NewMetric[]) {
    await this.prisma.$transaction(async (tx) => {
      await tx.metric.deleteMany({ where: { jobId } });
      for (let i = 0; i < rows.length; i += METRIC_BATCH) await tx.metric.createMany({ data: rows.slice(i, i + METRIC_BATCH) });
    });
  }

  /** Files the job's rows under what its work belongs to: the model it made, the experiment step it ran for. */
  async fileJobMetrics(jobId: string, under: { modelId: string } | { experimentId: string; stepId: string }) {
    await this.prisma.metric.updateMany({ where: { jobId }, data: under });
  }

  ofJob(jobId: string) {
    return this.prisma.metric.findMany({ where: { jobId }, orderBy: [{ scorer: 'asc' }, { label: 'asc' }, { name: 'asc' }] });
  }

  /** Micro-averaged rows (label null) of these names from these jobs. */
  micro(jobIds: string[], names: string[]) {
    return this.prisma.metric.findMany({ where: { jobId: { in: jobIds }, name: { in: names }, label: null }, select: { jobId: true, name: true, value: true, ciLow: true, ciHigh: true } });
  }

  ofModel(modelId: string, name: string | null) {
    return this.prisma.metric.findMany({ where: { modelId, ...(name ? { name } : {}) }, orderBy: [{ name: 'asc' }, { step: 'asc' }, { createdAt: 'asc' }] });
  }

  page(where: Prisma.MetricWhereInput, page: PageArgs) {
    return paginate(
      (args) => this.prisma.metric.findMany(args as never),
      (args) => this.prisma.metric.count(args as never),
      where,
      page,
      { field: 'createdAt', direction: SortDirection.ASC },
    );
  }
}
