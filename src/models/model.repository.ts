/** The only place that reads and writes models and machine annotations in the database. */
import crypto from 'node:crypto';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { canonicalJson } from '../steps/input-hash.js';

export class ModelRepository {
  constructor(private readonly prisma: PrismaClient) {}

  findById(id: string) {
    return this.prisma.model.findUnique({ where: { id } });
  }

  /** sha256 of the weights, the tokenizer and both configs: equal for two imports of one checkpoint. */
  async contentHash(id: string): Promise<string> {
    const model = await this.prisma.model.findUniqueOrThrow({ where: { id }, include: { weights: true, tokenizer: true } });
    const tokenizerConfig = (model.trainingConfig as { tokenizerConfig?: unknown }).tokenizerConfig ?? {};
    return crypto
      .createHash('sha256')
      .update(canonicalJson({ weights: model.weights?.sha256 ?? null, tokenizer: model.tokenizer?.sha256 ?? null, config: model.config, tokenizerConfig }))
      .digest('hex');
  }

  create(data: Prisma.ModelUncheckedCreateInput) {
    return this.prisma.model.create({ data });
  }

  /** Replaces the model's machine annotations on these documents, in one transaction. */
  async replaceMachineAnnotations(modelId: string, rows: { documentId: string; spans: { start: number; end: number; label: string }[] }[]) {
    const documentIds = rows.map((row) => row.documentId);
    const data: Prisma.AnnotationCreateManyInput[] = rows.flatMap((row) =>
      row.spans.map((span) => ({ documentId: row.documentId, start: span.start, end: span.end, label: span.label, source: 'MACHINE' as const, modelId })),
    );
    await this.prisma.$transaction(
      async (tx) => {
        await tx.annotation.deleteMany({ where: { modelId, source: 'MACHINE', documentId: { in: documentIds } } });
        for (let i = 0; i < data.length; i += 5000) await tx.annotation.createMany({ data: data.slice(i, i + 5000) });
      },
      { timeout: 10 * 60_000 },
    );
    return data.length;
  }
}
