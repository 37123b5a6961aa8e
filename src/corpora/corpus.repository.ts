/** The only place that reads and writes corpora, documents and annotations in the database. */
import crypto from 'node:crypto';
import { Prisma, type PrismaClient } from '../generated/prisma/client.js';
import type { Database } from '../db/database.js';
import type { ParsedDocument } from './formats/types.js';
import { codePointLength } from '../common/text.js';
import type { Countable, CorpusStats } from './stats.js';
import { crashHereInTests } from '../common/fault.js';

export interface NewCorpus {
  name: string;
  description: string;
  kind: 'REAL' | 'SYNTHETIC';
  containsPhi: boolean;
  ownerId: string;
  sourceFormat: string | null;
  /** The job making it (unique): how a job restarted after a crash finds what it already made. */
  createdByJobId: string;
}

export interface CorpusDocument {
  id: string;
  externalId: string;
  split: string;
  text: string;
  /** sourceId / sourceOrder: where a BRAT import read the span (null otherwise). */
  spans: { start: number; end: number; label: string; sourceId?: string | null; sourceOrder?: number | null }[];
  /** With a model's MACHINE annotations: the [start, end) ranges it was unsure of (its UNSURE rows), which training skips. */
  ignore?: [number, number][];
}


/** Documents plus spans written per transaction while a corpus is saved (about 50 ms each on PGlite). */
const BATCH_ROWS = 1000;

export class CorpusRepository {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly database: Pick<Database, 'transaction'>,
  ) {}

  /**
   * Creates the corpus with all its documents and gold spans, all or nothing. The corpus row comes
   * first, marked `saving` (invisible to everyone); documents follow in batches of about
   * BATCH_ROWS rows, one short transaction each, with a turn of the event loop in between, so other
   * requests get the embedded database (one connection, on the API's thread) and the event loop
   * between batches instead of waiting for the whole save; then the mark is cleared. A failed save
   * deletes what it wrote; one interrupted by a crash is deleted by the job's next run
   * (findSavedBy). Bulk rows go in as arrays through unnest(), one statement per table: about 5×
   * faster than Prisma's createMany, on PGlite and PostgreSQL alike.
   */
  async createWithDocuments(corpus: NewCorpus, documents: ParsedDocument[], labels: string[], stats: CorpusStats | null = null, onBatch?: (saved: number) => Promise<void> | void) {
    const corpusId = crypto.randomUUID();
    await this.database.transaction((sql) =>
      sql.query(
        `INSERT INTO "Corpus" (id, name, description, kind, "containsPhi", "ownerId", "sourceFormat", labels, "createdByJobId", stats, saving) VALUES ($1, $2, $3, $4::"CorpusKind", $5, $6, $7, $8::text[], $9, $10::jsonb, true)`,
        [corpusId, corpus.name, corpus.description, corpus.kind, corpus.containsPhi, corpus.ownerId, corpus.sourceFormat, labels, corpus.createdByJobId, stats && JSON.stringify(stats)],
      ),
    );
    try {
      for (let first = 0; first < documents.length; ) {
        let end = first;
        for (let rows = 0; end < documents.length && (end === first || rows + 1 + documents[end]!.spans.length <= BATCH_ROWS); end++) rows += 1 + documents[end]!.spans.length;
        await this.insertDocuments(corpusId, documents, first, end);
        if (first === 0 && end < documents.length) crashHereInTests('mid-corpus-save');
        first = end;
        await onBatch?.(end);
        await new Promise((resolve) => setImmediate(resolve));
      }
      await this.database.transaction((sql) => sql.query(`UPDATE "Corpus" SET saving = false WHERE id = $1`, [corpusId]));
    } catch (error) {
      await this.prisma.corpus.deleteMany({ where: { id: corpusId } }).catch(() => {});
      throw error;
    }
    return this.prisma.corpus.findUniqueOrThrow({ where: { id: corpusId } });
  }

  /** documents[first, end) with their gold spans, in one transaction; ordinals are positions in `documents`. */
  private async insertDocuments(corpusId: string, documents: ParsedDocument[], first: number, end: number) {
    const docs = { id: [] as string[], externalId: [] as string[], split: [] as string[], text: [] as string[], charCount: [] as number[], ordinal: [] as number[] };
    const spans = { id: [] as string[], documentId: [] as string[], start: [] as number[], end: [] as number[], label: [] as string[], sourceId: [] as (string | null)[], sourceOrder: [] as (number | null)[] };
    for (let ordinal = first; ordinal < end; ordinal++) {
      const doc = documents[ordinal]!;
      const id = crypto.randomUUID();
      docs.id.push(id);
      docs.externalId.push(doc.id);
      docs.split.push(doc.split ?? '');
      docs.text.push(doc.text);
      docs.charCount.push(codePointLength(doc.text));
      docs.ordinal.push(ordinal);
      for (const span of doc.spans) {
        spans.id.push(crypto.randomUUID());
        spans.documentId.push(id);
        spans.start.push(span.start);
        spans.end.push(span.end);
        spans.label.push(span.label);
        spans.sourceId.push(span.sourceId ?? null);
        spans.sourceOrder.push(span.sourceOrder ?? null);
      }
    }
    await this.database.transaction(async (sql) => {
      await sql.query(
        `INSERT INTO "Document" (id, "corpusId", "externalId", split, text, "charCount", ordinal)
         SELECT id, $1, "externalId", split, text, "charCount", ordinal FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[]) AS t(id, "externalId", split, text, "charCount", ordinal)`,
        [corpusId, docs.id, docs.externalId, docs.split, docs.text, docs.charCount, docs.ordinal],
      );
      if (spans.id.length === 0) return;
      await sql.query(
        `INSERT INTO "Annotation" (id, "documentId", start, "end", label, source, "sourceId", "sourceOrder")
         SELECT id, "documentId", start, "end", label, 'GOLD'::"AnnotationSource", "sourceId", "sourceOrder"
         FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::text[], $6::text[], $7::int[]) AS t(id, "documentId", start, "end", label, "sourceId", "sourceOrder")`,
        [spans.id, spans.documentId, spans.start, spans.end, spans.label, spans.sourceId, spans.sourceOrder],
      );
    });
  }

  findById(id: string) {
    return this.prisma.corpus.findUnique({ where: { id } });
  }

  hasShare(corpusId: string, userId: string) {
    return this.prisma.corpusShare.findUnique({ where: { corpusId_userId: { corpusId, userId } } }).then(Boolean);
  }

  /**
   * Loads documents with one annotation source (gold by default), in import order. One model's
   * MACHINE annotations come with the ranges it was unsure of (its UNSURE rows) as `ignore`.
   */
  async loadDocuments(corpusId: string, options: { splits?: string[] | null; source?: 'GOLD' | 'MACHINE'; modelId?: string | null } = {}): Promise<CorpusDocument[]> {
    const source = options.source ?? 'GOLD';
    const unsure = source === 'MACHINE' && options.modelId ? ['UNSURE' as const] : [];
    const rows = await this.prisma.document.findMany({
      where: { corpusId, ...(options.splits?.length ? { split: { in: options.splits } } : {}) },
      orderBy: { ordinal: 'asc' },
      include: {
        annotations: {
          where: { source: { in: [source, ...unsure] }, ...(options.modelId ? { modelId: options.modelId } : {}) },
          orderBy: [{ start: 'asc' }, { end: 'asc' }],
          select: { start: true, end: true, label: true, source: true, sourceId: true, sourceOrder: true },
        },
      },
    });
    return rows.map((row) => {
      const spans = row.annotations.filter((a) => a.source === source).map(({ source: _, ...span }) => span);
      const ignore = row.annotations.filter((a) => a.source === 'UNSURE').map((a): [number, number] => [a.start, a.end]);
      return { id: row.id, externalId: row.externalId, split: row.split, text: row.text, spans, ...(ignore.length ? { ignore } : {}) };
    });
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
    await this.prisma.$transaction([
      ...[...bySplit].map(([split, ids]) => this.prisma.document.updateMany({ where: { corpusId, id: { in: ids } }, data: { split } })),
      // The splits are part of the content address and of the statistics.
      this.prisma.corpus.update({ where: { id: corpusId }, data: { contentHash: null, stats: Prisma.DbNull } }),
    ]);
  }

  /**
   * sha256 over whether it holds PHI and every document's split, name, text and gold spans, in
   * import order: equal for two imports of the same data with the same PHI flag. The flag is in it
   * so work on a PHI corpus never reuses a job run on a public copy of its text, whose outputs are
   * public (privacy follows lineage). Computed once and kept on the corpus (the flag, documents and
   * gold spans do not change after import; a split reassignment clears it).
   */
  async contentHash(corpusId: string): Promise<string> {
    const corpus = await this.prisma.corpus.findUniqueOrThrow({ where: { id: corpusId }, select: { contentHash: true, containsPhi: true } });
    if (corpus.contentHash) return corpus.contentHash;
    const hash = crypto.createHash('sha256').update(JSON.stringify({ containsPhi: corpus.containsPhi })).update('\n');
    const select = { split: true, externalId: true, text: true, annotations: { where: { source: 'GOLD' as const }, orderBy: [{ start: 'asc' as const }, { end: 'asc' as const }, { label: 'asc' as const }], select: { start: true, end: true, label: true } } };
    for await (const row of this.documentPages(corpusId, select)) {
      hash.update(JSON.stringify([row.split, row.externalId, row.text, row.annotations.map((a) => [a.start, a.end, a.label])])).update('\n');
    }
    const contentHash = hash.digest('hex');
    await this.prisma.corpus.update({ where: { id: corpusId }, data: { contentHash } });
    return contentHash;
  }

  /** What corpus.stats counts: every document's split and text and its gold labels, read a page at a time. */
  async countableDocuments(corpusId: string): Promise<Countable[]> {
    const documents: Countable[] = [];
    const select = { externalId: true, split: true, text: true, annotations: { where: { source: 'GOLD' as const }, select: { label: true } } };
    for await (const row of this.documentPages(corpusId, select)) documents.push({ id: row.externalId, split: row.split || null, text: row.text, spans: row.annotations });
    return documents;
  }

  /** The corpus's documents in import order, read 500 at a time (a large corpus is never one query). */
  private async *documentPages<S extends Prisma.DocumentSelect>(corpusId: string, select: S): AsyncGenerator<Prisma.DocumentGetPayload<{ select: S }>> {
    const PAGE = 500;
    for (let skip = 0; ; skip += PAGE) {
      const rows = (await this.prisma.document.findMany({ where: { corpusId }, orderBy: { ordinal: 'asc' }, skip, take: PAGE, select })) as Prisma.DocumentGetPayload<{ select: S }>[];
      yield* rows;
      if (rows.length < PAGE) return;
    }
  }

  async storedStats(corpusId: string): Promise<CorpusStats | null> {
    const row = await this.prisma.corpus.findUnique({ where: { id: corpusId }, select: { stats: true } });
    return (row?.stats as CorpusStats | null | undefined) ?? null;
  }

  async storeStats(corpusId: string, stats: CorpusStats) {
    await this.prisma.corpus.updateMany({ where: { id: corpusId }, data: { stats: stats as unknown as Prisma.InputJsonValue } });
  }

  share(corpusId: string, userId: string) {
    return this.prisma.corpusShare.upsert({ where: { corpusId_userId: { corpusId, userId } }, update: {}, create: { corpusId, userId } });
  }

  unshare(corpusId: string, userId: string) {
    return this.prisma.corpusShare.deleteMany({ where: { corpusId, userId } });
  }

  countDocuments(corpusId: string) {
    return this.prisma.document.count({ where: { corpusId } });
  }

  findCreatedBy(jobId: string) {
    return this.prisma.corpus.findUnique({ where: { createdByJobId: jobId } });
  }

  /** The corpus an earlier run of this job saved completely; one it was still saving when the process died is deleted. */
  async findSavedBy(jobId: string) {
    const corpus = await this.findCreatedBy(jobId);
    if (!corpus?.saving) return corpus;
    await this.delete(corpus.id);
    return null;
  }

  delete(corpusId: string) {
    return this.prisma.corpus.delete({ where: { id: corpusId } });
  }
}
