/** Reads the jobs and documents evaluations refer to (metric rows: src/metrics/metric.repository.ts). */
import type { PrismaClient } from '../generated/prisma/client.js';

export class EvaluationRepository {
  constructor(private readonly prisma: PrismaClient) {}

  findJob(id: string) {
    return this.prisma.job.findUnique({ where: { id } });
  }

  /** Gold documents' database ids by (split, externalId), to link error examples to documents. */
  async documentKeys(corpusId: string, split: string | null) {
    return this.prisma.document.findMany({ where: { corpusId, ...(split !== null ? { split } : {}) }, select: { id: true, split: true, externalId: true } });
  }

  async countDocuments(corpusId: string, split: string | null) {
    return this.prisma.document.count({ where: { corpusId, ...(split !== null ? { split } : {}) } });
  }
}
