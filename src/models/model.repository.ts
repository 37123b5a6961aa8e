/** The only place that reads and writes models and machine annotations in the database. */
import crypto from 'node:crypto';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { canonicalJson } from '../steps/input-hash.js';

/** Machine annotations written per transaction. */
const BATCH_SPANS = 1000;

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

  /**
   * Replaces the model's machine annotations (its MACHINE spans and UNSURE ranges) on these
   * documents, a batch of documents per transaction with a turn of the event loop in between, so
   * other requests get the embedded database meanwhile. A document's annotations are replaced together, so no document is ever
   * half replaced; a corpus read mid-way mixes documents tagged by this run and by the model's
   * previous one (alike on one device: inference is deterministic).
   */
  async replaceMachineAnnotations(modelId: string, rows: { documentId: string; spans: { start: number; end: number; label: string }[]; ignore: [number, number][] }[]) {
    let [spanCount, unsureCount] = [0, 0];
    const size = (row: (typeof rows)[number]) => row.spans.length + row.ignore.length;
    for (let first = 0; first < rows.length; ) {
      let end = first;
      for (let spans = 0; end < rows.length && (end === first || spans + size(rows[end]!) <= BATCH_SPANS); end++) spans += size(rows[end]!);
      const batch = rows.slice(first, end);
      const data: Prisma.AnnotationCreateManyInput[] = batch.flatMap((row) =>
        row.spans.map((span) => ({ documentId: row.documentId, start: span.start, end: span.end, label: span.label, source: 'MACHINE' as const, modelId })),
      );
      const unsure: Prisma.AnnotationCreateManyInput[] = batch.flatMap((row) => row.ignore.map(([start, end]) => ({ documentId: row.documentId, start, end, label: '', source: 'UNSURE' as const, modelId })));
      await this.prisma.$transaction([
        this.prisma.annotation.deleteMany({ where: { modelId, source: { in: ['MACHINE', 'UNSURE'] }, documentId: { in: batch.map((row) => row.documentId) } } }),
        this.prisma.annotation.createMany({ data: [...data, ...unsure] }),
      ]);
      spanCount += data.length;
      unsureCount += unsure.length;
      first = end;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return { spans: spanCount, unsure: unsureCount };
  }
}
