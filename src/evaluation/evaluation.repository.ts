/** The only place that reads and writes metrics, and reads the jobs and models evaluations refer to. */
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { paginate, SortDirection, type PageArgs } from '../schema/pagination.js';

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

export class EvaluationRepository {
  constructor(private readonly prisma: PrismaClient) {}

  findJob(id: string) {
    return this.prisma.job.findUnique({ where: { id } });
  }

  /** Replaces the job's metrics in one transaction, so a resumed job never stores them twice. */
  async replaceJobMetrics(jobId: string, rows: NewMetric[]) {
    await this.prisma.$transaction(async (tx) => {
      await tx.metric.deleteMany({ where: { jobId } });
      for (let i = 0; i < rows.length; i += METRIC_BATCH) await tx.metric.createMany({ data: rows.slice(i, i + METRIC_BATCH) });
    });
  }

  metricsOfJob(jobId: string) {
    return this.prisma.metric.findMany({ where: { jobId }, orderBy: [{ scorer: 'asc' }, { label: 'asc' }, { name: 'asc' }] });
  }

  metricsPage(where: Prisma.MetricWhereInput, page: PageArgs) {
    return paginate(
      (args) => this.prisma.metric.findMany(args as never),
      (args) => this.prisma.metric.count(args as never),
      where,
      page,
      { field: 'createdAt', direction: SortDirection.ASC },
    );
  }

  /** Gold documents' database ids by (split, externalId), to link error examples to documents. */
  async documentKeys(corpusId: string, split: string | null) {
    return this.prisma.document.findMany({ where: { corpusId, ...(split !== null ? { split } : {}) }, select: { id: true, split: true, externalId: true } });
  }

  async countDocuments(corpusId: string, split: string | null) {
    return this.prisma.document.count({ where: { corpusId, ...(split !== null ? { split } : {}) } });
  }
}
