/**
 * Corpora: who may see them, importing (as a job), exporting (as a job), statistics, splits and
 * the nested subsets ablations are built from. No GraphQL here; resolvers call these methods.
 */
import { corpusVisibleWhere } from '../auth/visibility.js';
import type { Corpus, Prisma, PrismaClient } from '../generated/prisma/client.js';
import type { Database } from '../db/database.js';
import { AppError, badInput, notFound } from '../common/errors.js';
import type { AuthUser } from '../auth/auth.types.js';
import { canWrite } from '../auth/auth.types.js';
import type { ArtifactStore } from '../storage/artifact.store.js';
import type { JobService } from '../jobs/job.service.js';
import type { JobContext } from '../jobs/job.runner.js';
import { JOB_CORPUS_KEYS, JOB_CORPUS_LIST_KEYS, JobName } from '../jobs/types.js';
import { CorpusImportError } from './errors.js';
import { crashHereInTests } from '../common/fault.js';
import { CORPUS_FORMATS, type CorpusFormat, type ParsedDocument } from './formats/types.js';
import type { CpuPool } from '../jobs/cpu-pool.js';
import type { CorpusStats } from './stats.js';
import { log } from '../common/log.js';
import { bioTags } from './labels.js';
import { nestedSubsets, seededSplit } from './splits.js';
import { CorpusRepository, type CorpusDocument } from './corpus.repository.js';
import { paginate, SortDirection, type PageArgs } from '../common/pagination.js';

export interface ImportRequest {
  name: string;
  description?: string | null;
  containsPhi?: boolean | null;
  format?: string | null;
  fileName: string;
  bytes: Uint8Array;
  allowOverlaps?: boolean | null;
  allowUnknownFields?: boolean | null;
}

export class CorpusService {
  readonly repository: CorpusRepository;
  /** corpus.stats being counted, per corpus: concurrent requests share one count. */
  private readonly statsCounts = new Map<string, Promise<CorpusStats>>();
  /** Split reassignments per corpus: a count that started before one is not stored. */
  private readonly splitChanges = new Map<string, number>();

  constructor(
    private readonly prisma: PrismaClient,
    database: Pick<Database, 'transaction'>,
    private readonly artifacts: ArtifactStore,
    private readonly jobs: JobService,
    private readonly cpu: CpuPool,
    private readonly limits: { maxUploadBytes: number; maxFileBytes: number },
  ) {
    this.repository = new CorpusRepository(prisma, database);
  }

  /** Corpora a user may read: PHI corpora only by their owner and the people they are shared with. */
  visibleWhere(user: AuthUser): Prisma.CorpusWhereInput {
    return corpusVisibleWhere(user);
  }

  async requireReadable(user: AuthUser, corpusId: string): Promise<Corpus> {
    const corpus = await this.repository.findById(corpusId);
    if (!corpus || corpus.saving) throw notFound('Corpus', corpusId);
    if (!corpus.containsPhi || corpus.ownerId === user.id || (await this.repository.hasShare(corpusId, user.id))) return corpus;
    throw notFound('Corpus', corpusId);
  }

  async requireOwned(user: AuthUser, corpusId: string): Promise<Corpus> {
    const corpus = await this.requireReadable(user, corpusId);
    if (corpus.ownerId !== user.id) throw new AppError('FORBIDDEN', `Only the owner of corpus ${corpusId} may change it or share it.`);
    return corpus;
  }

  requireWriter(user: AuthUser) {
    if (!canWrite(user)) throw new AppError('FORBIDDEN', 'Viewers may read but not create or change anything; ask an admin for the researcher role.');
  }

  // ---- import ----

  async startImport(user: AuthUser, request: ImportRequest) {
    this.requireWriter(user);
    if (!request.name.trim()) throw badInput('name', 'must not be empty.');
    if (!request.fileName.trim()) throw badInput('fileName', 'must name the uploaded file, e.g. "meddocan.zip": its extension tells the archive type and format.');
    if (request.format && !CORPUS_FORMATS.includes(request.format as CorpusFormat)) {
      throw badInput('format', `"${request.format}" is not one of ${CORPUS_FORMATS.join(', ')}.`);
    }
    if (request.bytes.byteLength === 0) throw badInput('content', 'the upload is empty.');
    if (request.bytes.byteLength > this.limits.maxUploadBytes) {
      throw new AppError('PAYLOAD_TOO_LARGE', `The upload has ${request.bytes.byteLength} bytes; the limit is ${this.limits.maxUploadBytes} (MAX_UPLOAD_BYTES).`);
    }
    const upload = await this.artifacts.put(request.bytes, 'upload');
    return this.jobs.create(user, JobName.CorpusImport, {
      name: request.name.trim(),
      description: request.description ?? '',
      containsPhi: request.containsPhi ?? true,
      format: request.format ?? null,
      uploadSha256: upload.sha256,
      uploadName: request.fileName,
      allowOverlaps: request.allowOverlaps ?? false,
      allowUnknownFields: request.allowUnknownFields ?? false,
    });
  }

  /** Job handler: parse and validate everything first, then write it (all or nothing, in batches: createWithDocuments). */
  async runImport(ctx: JobContext<JobName.CorpusImport>) {
    const { payload } = ctx;
    // A crash after the corpus was saved and before the job was marked done: the corpus is the result.
    const made = await this.repository.findSavedBy(ctx.jobId);
    if (made) {
      const [documents, spans] = await Promise.all([this.prisma.document.count({ where: { corpusId: made.id } }), this.prisma.annotation.count({ where: { document: { corpusId: made.id } } })]);
      await ctx.log('Found the corpus this job saved before the server stopped; not importing again.');
      return { corpusId: made.id, documents, spans, format: made.sourceFormat, warnings: 0 };
    }
    await ctx.progress(0.05, 'Unpacking the upload.');
    const started = performance.now();
    let parsed;
    try {
      parsed = await this.cpu.run('parseUpload', {
        bytes: this.artifacts.read(payload.uploadSha256),
        name: payload.uploadName,
        maxArchiveBytes: this.limits.maxUploadBytes,
        maxFileBytes: this.limits.maxFileBytes,
        options: { format: (payload.format as CorpusFormat) ?? undefined, allowOverlaps: payload.allowOverlaps, allowUnknownFields: payload.allowUnknownFields, keepSourceIds: true },
      });
    } catch (error) {
      if (error instanceof CorpusImportError) {
        // A rejected upload (PHI, most likely) does not stay on disk.
        await this.artifacts.release([payload.uploadSha256], ctx.jobId);
        throw new AppError('BAD_USER_INPUT', `Import rejected, nothing was saved: ${error.message}`, { importError: error.toDetails() });
      }
      throw error;
    }
    ctx.throwIfCancelled();
    for (const warning of parsed.warnings.slice(0, 20)) await ctx.log(warning);
    const labels = [...new Set(parsed.documents.flatMap((doc) => doc.spans.map((span) => span.label)))].sort();
    const spans = parsed.documents.reduce((n, doc) => n + doc.spans.length, 0);
    const parsedAt = performance.now();
    await ctx.log(`Parsed ${parsed.fileCount} files (${parsed.format}) into ${parsed.documents.length} documents and ${spans} spans in ${seconds(started, parsedAt)} s.`);
    await ctx.progress(0.5, `Saving ${parsed.documents.length} documents and ${spans} spans.`);
    const corpus = await this.repository.createWithDocuments(
      { name: payload.name, description: payload.description, kind: 'REAL', containsPhi: payload.containsPhi, ownerId: ctx.ownerId, sourceFormat: parsed.format, createdByJobId: ctx.jobId },
      parsed.documents,
      labels,
      parsed.stats,
      async (saved) => {
        ctx.throwIfCancelled();
        await ctx.progress(0.5 + (0.5 * saved) / parsed.documents.length, `Saved ${saved} of ${parsed.documents.length} documents.`);
      },
    );
    crashHereInTests('after-import-commit');
    await ctx.log(`Saved in ${seconds(parsedAt, performance.now())} s.`);
    return { corpusId: corpus.id, documents: parsed.documents.length, spans, format: parsed.format, warnings: parsed.warnings.length };
  }

  // ---- export ----

  async startExport(user: AuthUser, corpusId: string, format: string, splits: string[] | null) {
    await this.requireReadable(user, corpusId);
    if (!CORPUS_FORMATS.includes(format as CorpusFormat) || format === 'TEXT') {
      throw badInput('format', `exports are written as BRAT, JSONL, CONLL or I2B2_XML (got "${format}").`);
    }
    return this.jobs.create(user, JobName.CorpusExport, { corpusId, format, splits });
  }

  async runExport(ctx: JobContext<JobName.CorpusExport>) {
    const { corpusId, format, splits } = ctx.payload;
    await ctx.progress(0.1, 'Reading documents.');
    const documents = await this.repository.loadDocuments(corpusId, { splits });
    ctx.throwIfCancelled();
    await ctx.progress(0.4, `Writing ${documents.length} documents.`);
    const { zip, fileCount } = await this.cpu.run('exportZip', { documents: documents.map(toParsedDocument), format: format as CorpusFormat });
    const artifact = await this.artifacts.put(zip, 'export');
    return { sha256: artifact.sha256, bytes: artifact.size, files: fileCount, format, corpusId };
  }

  /** The zip an export job wrote, for its owner, if they may still read the corpus. */
  async exportDownload(user: AuthUser, jobId: string) {
    const job = await this.jobs.getReadable(user, jobId);
    if (job.type !== JobName.CorpusExport) throw badInput('jobId', `job ${jobId} is a ${job.type} job, not an export.`);
    if (job.status !== 'SUCCEEDED') throw new AppError('INVALID_STATE', `Export job ${jobId} is ${job.status}; download it once it has SUCCEEDED.`);
    const { corpusId, format, sha256 } = job.result as { corpusId: string; format: string; sha256: string };
    const corpus = await this.requireReadable(user, corpusId);
    const safeName = corpus.name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'corpus';
    return { bytes: this.artifacts.read(sha256), fileName: `${safeName}.${format.toLowerCase()}.zip` };
  }

  // ---- reading ----

  list(user: AuthUser, filter: { nameContains: string | null; containsPhi: boolean | null }, page: PageArgs, order: { field: string; direction: SortDirection }) {
    const where: Prisma.CorpusWhereInput = {
      AND: [
        this.visibleWhere(user),
        filter.nameContains ? { name: { contains: filter.nameContains, mode: 'insensitive' } } : {},
        filter.containsPhi !== null ? { containsPhi: filter.containsPhi } : {},
      ],
    };
    return paginate((args) => this.prisma.corpus.findMany(args as never), (args) => this.prisma.corpus.count(args as never), where, page, order);
  }

  documentsPage(corpusId: string, split: string | null, page: PageArgs) {
    const where: Prisma.DocumentWhereInput = { corpusId, ...(split !== null ? { split } : {}) };
    return paginate((args) => this.prisma.document.findMany(args as never), (args) => this.prisma.document.count(args as never), where, page, {
      field: 'ordinal',
      direction: SortDirection.ASC,
    });
  }

  async requireReadableDocument(user: AuthUser, documentId: string) {
    const document = await this.prisma.document.findUnique({ where: { id: documentId } });
    if (!document) throw notFound('Document', documentId);
    await this.requireReadable(user, document.corpusId).catch(() => {
      throw notFound('Document', documentId);
    });
    return document;
  }

  annotationsOf(documentId: string, source: string | null, modelId: string | null) {
    return this.prisma.annotation.findMany({
      where: { documentId, ...(source ? { source: source as never } : {}), ...(modelId ? { modelId } : {}) },
      orderBy: [{ start: 'asc' }, { end: 'asc' }],
    });
  }

  ownerOf(userId: string) {
    return this.prisma.user.findUnique({ where: { id: userId } });
  }

  /**
   * Documents, characters, tokens and gold mentions, in total and per split. Stored on the corpus
   * (counted at import, or here once, in a worker thread, when missing: corpora made before the
   * column existed, generated ones, and after a split reassignment).
   */
  async stats(corpus: { id: string; stats?: unknown }) {
    const stats = (corpus.stats as CorpusStats | null) ?? (await this.countStats(corpus.id));
    const labels = (perLabel: Record<string, number>) => Object.entries(perLabel).map(([label, mentions]) => ({ label, mentions }));
    return {
      ...stats,
      labels: labels(stats.mentionsPerLabel),
      splits: stats.splits.map((split) => ({ ...split, split: split.split ?? '', labels: labels(split.mentionsPerLabel) })),
    };
  }

  private countStats(corpusId: string): Promise<CorpusStats> {
    let count = this.statsCounts.get(corpusId);
    if (!count) {
      const splitChanges = this.splitChanges.get(corpusId) ?? 0;
      count = (async () => {
        const stored = await this.repository.storedStats(corpusId);
        if (stored) return stored;
        const started = performance.now();
        const stats = await this.cpu.run('corpusStats', { documents: await this.repository.countableDocuments(corpusId) });
        if ((this.splitChanges.get(corpusId) ?? 0) === splitChanges) await this.repository.storeStats(corpusId, stats);
        log('info', 'corpus.stats_counted', { corpusId, documents: stats.documents, ms: Math.round(performance.now() - started) });
        return stats;
      })().finally(() => {
        if (this.statsCounts.get(corpusId) === count) this.statsCounts.delete(corpusId);
      });
      this.statsCounts.set(corpusId, count);
    }
    return count;
  }

  /** Each split with its number of documents. */
  splitsOf(corpusId: string) {
    return this.repository.splitsOf(corpusId);
  }

  tagsOf(corpus: Pick<Corpus, 'labels'>) {
    return bioTags(corpus.labels);
  }

  // ---- splits and subsets ----

  /** Re-splits the documents of `fromSplit` (or all) by seeded fractions, e.g. {train: .8, dev: .1, test: .1}. */
  async split(user: AuthUser, corpusId: string, fractions: Record<string, number>, seed: number, fromSplit: string | null) {
    this.requireWriter(user);
    await this.requireOwned(user, corpusId);
    const docs = await this.repository.documentIds(corpusId, fromSplit);
    if (docs.length === 0) throw badInput('fromSplit', `corpus ${corpusId} has no documents${fromSplit !== null ? ` in split "${fromSplit}"` : ''}.`);
    const idOf = new Map(docs.map((d) => [`${d.split}/${d.externalId}`, d.id]));
    const assignment = validated('fractions', () => seededSplit([...idOf.keys()], fractions, seed));
    await this.repository.reassignSplits(corpusId, new Map(Object.entries(assignment).flatMap(([split, keys]) => keys.map((key) => [idOf.get(key)!, split] as const))));
    // The stored statistics are cleared; a count under way counted the old splits.
    this.splitChanges.set(corpusId, (this.splitChanges.get(corpusId) ?? 0) + 1);
    this.statsCounts.delete(corpusId);
    return this.repository.splitsOf(corpusId);
  }

  /** Nested document subsets (5% ⊂ 25% ⊂ 50% …) of one split, the same for the same seed. */
  async subsets(user: AuthUser, corpusId: string, split: string | null, fractions: number[], seed: number) {
    await this.requireReadable(user, corpusId);
    const docs = await this.repository.documentIds(corpusId, split);
    // Keyed by the source names, so re-importing the same corpus gives the same subsets.
    const idOf = new Map(docs.map((d) => [`${d.split}/${d.externalId}`, d.id]));
    const subsets = validated('fractions', () => nestedSubsets([...idOf.keys()], fractions, seed));
    return subsets.map((keys, i) => ({ fraction: fractions[i]!, size: keys.length, documentIds: keys.map((key) => idOf.get(key)!) }));
  }

  /**
   * Annotated documents of a split, or of its seeded nested subset (the same subsets corpusSubsets
   * lists): gold annotations, or those a model made when `annotationModelId` is given.
   */
  async trainingDocuments(corpusId: string, split: string, fraction: number, seed: number, annotationModelId: string | null = null) {
    const documents = await this.repository.loadDocuments(corpusId, { splits: [split], ...(annotationModelId ? { source: 'MACHINE' as const, modelId: annotationModelId } : {}) });
    if (fraction >= 1) return documents;
    const [keys] = validated('documentFraction', () => nestedSubsets(documents.map((d) => `${d.split}/${d.externalId}`), [fraction], seed));
    const keep = new Set(keys);
    return documents.filter((d) => keep.has(`${d.split}/${d.externalId}`));
  }

  async share(user: AuthUser, corpusId: string, email: string) {
    await this.requireOwned(user, corpusId);
    const target = await this.prisma.user.findUnique({ where: { email } });
    if (!target) throw notFound('User with e-mail', email);
    await this.repository.share(corpusId, target.id);
    return this.requireReadable(user, corpusId);
  }

  async unshare(user: AuthUser, corpusId: string, email: string) {
    await this.requireOwned(user, corpusId);
    const target = await this.prisma.user.findUnique({ where: { email } });
    if (target) await this.repository.unshare(corpusId, target.id);
    return this.requireReadable(user, corpusId);
  }

  /**
   * Deletes the corpus, the jobs that made or read it (their payloads and logs describe it), and every
   * artifact no longer referenced: its upload, its exports, the details of its evaluations.
   */
  async delete(user: AuthUser, corpusId: string) {
    await this.requireOwned(user, corpusId);
    const jobs = await this.prisma.job.findMany({
      where: {
        OR: [
          ...JOB_CORPUS_KEYS.map((key) => ({ payload: { path: [key], equals: corpusId } })),
          ...JOB_CORPUS_LIST_KEYS.map((key) => ({ payload: { path: [key], array_contains: [corpusId] } })),
          { result: { path: ['corpusId'], equals: corpusId } },
        ],
      },
    });
    const artifacts = jobs.flatMap((job) => JSON.stringify([job.payload, job.result, job.checkpoint]).match(/\b[0-9a-f]{64}\b/g) ?? []);
    await this.repository.delete(corpusId);
    await this.prisma.job.deleteMany({ where: { id: { in: jobs.map((job) => job.id) } } });
    await this.artifacts.release(artifacts);
    return true;
  }
}

const seconds = (from: number, to: number) => ((to - from) / 1000).toFixed(2);

/** Runs a pure function whose RangeErrors describe bad arguments, reporting them as BAD_USER_INPUT. */
function validated<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof RangeError) throw badInput(field, error.message.replace(/^\w+: /, ''));
    throw error;
  }
}

/** The formats' document shape; span text is sliced from the document (code points). */
function toParsedDocument(doc: CorpusDocument): ParsedDocument {
  const chars = Array.from(doc.text);
  return {
    id: doc.externalId,
    split: doc.split || null,
    text: doc.text,
    spans: doc.spans.map(({ start, end, label, sourceId, sourceOrder }) => ({
      start, end, label, text: chars.slice(start, end).join(''),
      ...(sourceId != null && { sourceId, sourceOrder: sourceOrder ?? 0 }),
    })),
  };
}
