/** The only place that reads and writes corpora, documents and annotations in the database. */
import crypto from 'node:crypto';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { ParsedDocument } from './formats/types.js';
import { codePointLength } from '../common/text.js';

export interface NewCorpus {
  name: string;
  description: string;
  kind: 'REAL' | 'SYNTHETIC';
  containsPhi: boolean;
  ownerId: string;
  sourceFormat: string | null;
}

export interface CorpusDocument {
  id: string;
  externalId: string;
  split: string;
  text: string;
  spans: { start: number; end: number; label: string }[];
}

// Rows per INSERT: large enough to be fast, small enough for PostgreSQL's 65,535 bind parameters.
const DOCUMENT_BATCH = 500;
const ANNOTATION_BATCH = 5000;

export class CorpusRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Creates the corpus with all its documents and gold spans in one transaction: all or nothing. */
  async createWithDocuments(corpus: NewCorpus, documents: ParsedDocument[], labels: string[]) {
    return this.prisma.$transaction(
      async (tx) => {
        const created = await tx.corpus.create({ data: { ...corpus, labels } });
        const docRows: Prisma.DocumentCreateManyInput[] = [];
        const spanRows: Prisma.AnnotationCreateManyInput[] = [];
        documents.forEach((doc, ordinal) => {
          const id = crypto.randomUUID();
          docRows.push({ id, corpusId: created.id, externalId: doc.id, split: doc.split ?? '', text: doc.text, charCount: codePointLength(doc.text), ordinal });
          for (const span of doc.spans) spanRows.push({ documentId: id, start: span.start, end: span.end, label: span.label, source: 'GOLD' });
        });
        for (let i = 0; i < docRows.length; i += DOCUMENT_BATCH) await tx.document.createMany({ data: docRows.slice(i, i + DOCUMENT_BATCH) });
        for (let i = 0; i < spanRows.length; i += ANNOTATION_BATCH) await tx.annotation.createMany({ data: spanRows.slice(i, i + ANNOTATION_BATCH) });
        return created;
      },
      { timeout: 10 * 60_000, maxWait: 60_000 },
    );
  }

  findById(id: string) {
    return this.prisma.corpus.findUnique({ where: { id } });
  }

  hasShare(corpusId: string, userId: string) {
    return this.prisma.corpusShare.findUnique({ where: { corpusId_userId: { corpusId, userId } } }).then(Boolean);
  }

  /** Loads documents with one annotation source (gold by default), in import order. */
  async loadDocuments(corpusId: string, options: { splits?: string[] | null; source?: 'GOLD' | 'MACHINE'; modelId?: string | null } = {}): Promise<CorpusDocument[]> {
    const rows = await this.prisma.document.findMany({
      where: { corpusId, ...(options.splits?.length ? { split: { in: options.splits } } : {}) },
      orderBy: { ordinal: 'asc' },
      include: {
        annotations: {
          where: { source: options.source ?? 'GOLD', ...(options.modelId ? { modelId: options.modelId } : {}) },
          orderBy: [{ start: 'asc' }, { end: 'asc' }],
          select: { start: true, end: true, label: true },
        },
      },
    });
    return rows.map((row) => ({ id: row.id, externalId: row.externalId, split: row.split, text: row.text, spans: row.annotations }));
  }

  async splitsOf(corpusId: string) {
    const rows = await this.prisma.document.groupBy({ by: ['split'], where: { corpusId }, _count: { _all: true }, orderBy: { split: 'asc' } });
    return rows.map((row) => ({ split: row.split, documents: row._count._all }));
  }

  async documentIds(corpusId: string, split: string | null) {
    const rows = await this.prisma.document.findMany({ where: { corpusId, ...(split !== null ? { split } : {}) }, select: { id: true, externalId: true, split: true }, orderBy: { ordinal: 'asc' } });
    return rows;
  }

  async reassignSplits(corpusId: string, assignment: Map<string, string>) {
    const bySplit = new Map<string, string[]>();
    for (const [docId, split] of assignment) bySplit.set(split, [...(bySplit.get(split) ?? []), docId]);
    await this.prisma.$transaction(
      [...bySplit].map(([split, ids]) => this.prisma.document.updateMany({ where: { corpusId, id: { in: ids } }, data: { split } })),
    );
  }

  share(corpusId: string, userId: string) {
    return this.prisma.corpusShare.upsert({ where: { corpusId_userId: { corpusId, userId } }, update: {}, create: { corpusId, userId } });
  }

  unshare(corpusId: string, userId: string) {
    return this.prisma.corpusShare.deleteMany({ where: { corpusId, userId } });
  }

  delete(corpusId: string) {
    return this.prisma.corpus.delete({ where: { id: corpusId } });
  }
}
