/**
 * Evaluation and privacy through the platform: scoring predictions against a gold split (a job),
 * the per-label tables and error lists it stored, paired comparisons of two evaluations, and privacy
 * reports of a synthetic corpus against a real one (a job). The numbers come from src/scoring;
 * this service decides who may see what. No GraphQL here; resolvers call these methods.
 */
import type { Job, Prisma } from '../generated/prisma/client.js';
import { AppError, badInput, notFound } from '../common/errors.js';
import type { AuthUser } from '../auth/auth.types.js';
import type { ArtifactStore } from '../storage/artifact.store.js';
import type { JobService } from '../jobs/job.service.js';
import type { StepRunner } from '../steps/step.runner.js';
import type { JobContext } from '../jobs/job.runner.js';
import type { CpuPool } from '../jobs/cpu-pool.js';
import { JobName, JobStatus, type JobPayloads } from '../jobs/types.js';
import type { CorpusService } from '../corpora/corpus.service.js';
import type { ModelService } from '../models/model.service.js';
import { CorpusImportError } from '../corpora/errors.js';
import { CORPUS_FORMATS, type CorpusFormat } from '../corpora/formats/types.js';
import { privacyMetricRows, ScoringInputError, SCORER_VERSION, type ErrorExample, type PerDocumentCounts, type PrivacyReport } from '../scoring/index.js';
import { MAX_PAGE_SIZE, type PageArgs } from '../common/pagination.js';
import { EvaluationRepository } from './evaluation.repository.js';
import type { MetricRepository, NewMetric } from '../metrics/metric.repository.js';
import { evaluationRows, matchPredictions, parseMetricName, privacyScorerOf, scoringId, SCORERS, type MetricFamily, type PredictionSource } from './predictions.js';

type EvaluatePayload = JobPayloads[JobName.Evaluate];

export interface EvaluateRequest {
  goldCorpusId: string;
  split: string | null;
  predictedCorpusId: string | null;
  predictions: { fileName: string; bytes: Uint8Array; format: string | null } | null;
  modelId: string | null;
  labels: string[] | null;
  unknownLabel: EvaluatePayload['unknownLabel'];
  missingDocument: EvaluatePayload['missingDocument'];
  unknownDocument: EvaluatePayload['unknownDocument'];
  invalidSpans: NonNullable<EvaluatePayload['invalidSpans']>;
  bootstrapResamples: number;
  confidenceLevel: number;
  seed: number;
  contextChars: number;
}

export interface MetricFilter {
  modelId?: string | null;
  corpusId?: string | null;
  jobId?: string | null;
  experimentId?: string | null;
  stepId?: string | null;
  name?: string | null;
  split?: string | null;
  scorer?: string | null;
  label?: string | null;
}

/** What an evaluation job keeps beside its metric rows (an artifact: the error lists hold PHI context). */
interface EvaluationDetails {
  version: 1;
  /** Scoring id → the gold document. */
  documents: Record<string, { documentId: string; externalId: string; split: string }>;
  falsePositives: ErrorExample[];
  falseNegatives: ErrorExample[];
  counts: PerDocumentCounts;
}

interface PrivacyDetails {
  version: 1;
  /** Database document id → names, for both corpora. */
  synthetic: Record<string, { externalId: string; split: string }>;
  real: Record<string, { externalId: string; split: string }>;
  report: PrivacyReport;
}

const MAX_RESAMPLES = 10_000;
const MAX_CONTEXT_CHARS = 1000;
const MAX_NGRAM = 20;

export class EvaluationService {
  readonly repository: EvaluationRepository;

  constructor(
    prisma: ConstructorParameters<typeof EvaluationRepository>[0],
    private readonly corpora: CorpusService,
    private readonly models: Pick<ModelService, 'requireReadable' | 'visibleWhere'>,
    private readonly artifacts: ArtifactStore,
    private readonly jobs: JobService,
    private readonly steps: StepRunner,
    private readonly metricRows: MetricRepository,
    private readonly cpu: CpuPool,
    private readonly limits: { maxUploadBytes: number; maxFileBytes: number },
  ) {
    this.repository = new EvaluationRepository(prisma);
  }

  // ---- evaluate (a job) ----

  async startEvaluate(user: AuthUser, request: EvaluateRequest): Promise<Job> {
    this.corpora.requireWriter(user);
    await this.corpora.requireReadable(user, request.goldCorpusId);
    if (request.predictedCorpusId && request.predictions) throw badInput('predictions', 'give either predictedCorpusId or an uploaded predictions file, not both.');
    if (!request.predictedCorpusId && !request.predictions && !request.modelId) {
      throw badInput('predictions', 'say what to score: predictedCorpusId (a corpus of predictions), predictions (an uploaded file) or modelId (its machine annotations on the gold documents).');
    }
    if (request.predictedCorpusId) await this.corpora.requireReadable(user, request.predictedCorpusId);
    if (request.modelId) await this.models.requireReadable(user, request.modelId);
    if ((await this.repository.countDocuments(request.goldCorpusId, request.split)) === 0) {
      const splits = (await this.corpora.repository.splitsOf(request.goldCorpusId)).map((s) => `"${s.split}"`).join(', ');
      throw badInput('split', `corpus ${request.goldCorpusId} has no documents${request.split !== null ? ` in split "${request.split}"` : ''}; its splits are ${splits || 'none'}.`);
    }
    checkBootstrap(request.bootstrapResamples, request.confidenceLevel, request.seed);
    if (!Number.isInteger(request.contextChars) || request.contextChars < 0 || request.contextChars > MAX_CONTEXT_CHARS) {
      throw badInput('contextChars', `must be an integer from 0 to ${MAX_CONTEXT_CHARS}; got ${request.contextChars}.`);
    }
    if (request.labels && request.labels.some((l) => !l.trim())) throw badInput('labels', 'labels must be non-empty strings.');

    let upload: { sha256: string } | null = null;
    if (request.predictions) {
      const { bytes, format } = request.predictions;
      if (format && !CORPUS_FORMATS.includes(format as CorpusFormat)) throw badInput('predictions.format', `"${format}" is not one of ${CORPUS_FORMATS.join(', ')}.`);
      if (bytes.byteLength === 0) throw badInput('predictions.contentBase64', 'the upload is empty.');
      if (bytes.byteLength > this.limits.maxUploadBytes) {
        throw new AppError('PAYLOAD_TOO_LARGE', `The predictions have ${bytes.byteLength} bytes; the limit is ${this.limits.maxUploadBytes} (MAX_UPLOAD_BYTES).`);
      }
      upload = await this.artifacts.put(bytes, 'predictions');
    }
    return this.steps.submit(user, JobName.Evaluate, {
      goldCorpusId: request.goldCorpusId,
      split: request.split,
      predictedCorpusId: request.predictedCorpusId,
      predictionsSha256: upload?.sha256 ?? null,
      predictionsName: request.predictions?.fileName ?? null,
      predictionsFormat: request.predictions?.format ?? null,
      modelId: request.modelId,
      labels: request.labels,
      unknownLabel: request.unknownLabel,
      missingDocument: request.missingDocument,
      unknownDocument: request.unknownDocument,
      invalidSpans: request.invalidSpans,
      bootstrapResamples: request.bootstrapResamples,
      confidenceLevel: request.confidenceLevel,
      seed: request.seed,
      contextChars: request.contextChars,
    });
  }

  /** Job handler: load gold and predictions, score in a worker thread, store rows and the details artifact. */
  async runEvaluate(ctx: JobContext<JobName.Evaluate>) {
    const p = ctx.payload;
    await ctx.progress(0.05, 'Loading the gold documents.');
    const splits = p.split !== null ? [p.split] : null;
    const gold = await this.corpora.repository.loadDocuments(p.goldCorpusId, { splits });
    const goldDocs = gold.map((d) => ({ id: scoringId(d.split, d.externalId, p.split), text: d.text, spans: d.spans }));

    await ctx.progress(0.1, 'Loading the predictions.');
    let source: 'CORPUS' | 'UPLOAD' | 'MODEL';
    let predictions: PredictionSource[];
    if (p.predictedCorpusId) {
      source = 'CORPUS';
      const docs = await this.corpora.repository.loadDocuments(p.predictedCorpusId);
      predictions = docs.map((d) => ({ externalId: d.externalId, split: d.split, text: d.text, spans: d.spans }));
    } else if (p.predictionsSha256) {
      source = 'UPLOAD';
      predictions = await this.parsePredictions(p);
    } else {
      source = 'MODEL';
      const docs = await this.corpora.repository.loadDocuments(p.goldCorpusId, { splits, source: 'MACHINE', modelId: p.modelId });
      predictions = docs.map((d) => ({ externalId: d.externalId, split: d.split, spans: d.spans }));
    }
    const predicted = matchPredictions(gold, p.split, predictions);
    const predictedSpans = predicted.reduce((n, d) => n + d.spans.length, 0);
    const goldSpans = goldDocs.reduce((n, d) => n + d.spans.length, 0);
    if (predictedSpans === 0) await ctx.log('The predictions hold no spans at all: every score is 0 (docs/scoring.md, "Empty sets"). Check the source of the predictions.');
    ctx.throwIfCancelled();

    await ctx.progress(0.3, `Scoring ${goldDocs.length} documents with ${p.bootstrapResamples} bootstrap resamples.`);
    const { result, counts } = await scoringStep(() =>
      this.cpu.run('evaluate', {
        gold: goldDocs,
        predicted,
        options: {
          ...(p.labels ? { labels: p.labels } : {}),
          unknownLabel: p.unknownLabel,
          missingDocument: p.missingDocument,
          unknownDocument: p.unknownDocument,
          invalidSpans: p.invalidSpans ?? 'error',
          bootstrap: { resamples: p.bootstrapResamples, level: p.confidenceLevel, seed: p.seed },
          errorAnalysis: { contextChars: p.contextChars },
        },
      }),
    );
    ctx.throwIfCancelled();

    await ctx.progress(0.85, 'Saving metrics.');
    const base = { split: p.split, scorerVersion: result.scorerVersion, modelId: p.modelId, corpusId: p.goldCorpusId, jobId: ctx.jobId };
    const rows: NewMetric[] = evaluationRows(result).map((row) => ({ ...base, ...row }));
    await this.metricRows.replaceJobMetrics(ctx.jobId, rows);
    const documents: EvaluationDetails['documents'] = {};
    for (const d of gold) documents[scoringId(d.split, d.externalId, p.split)] = { documentId: d.id, externalId: d.externalId, split: d.split };
    const details: EvaluationDetails = { version: 1, documents, falsePositives: result.errors?.falsePositives ?? [], falseNegatives: result.errors?.falseNegatives ?? [], counts };
    const artifact = await this.artifacts.put(Buffer.from(JSON.stringify(details)), 'evaluation');

    const summary = (prf: { precision: number; recall: number; f1: number; ci?: { low: number; high: number } }) => ({
      precision: prf.precision,
      recall: prf.recall,
      f1: prf.f1,
      ciLow: prf.ci?.low ?? null,
      ciHigh: prf.ci?.high ?? null,
    });
    return {
      goldCorpusId: p.goldCorpusId,
      split: p.split,
      predictedCorpusId: p.predictedCorpusId,
      modelId: p.modelId,
      source,
      scorerVersion: result.scorerVersion,
      documents: result.documents,
      goldSpans,
      predictedSpans,
      bootstrap: result.bootstrap,
      entity: summary(result.entity.micro),
      spanStrict: summary(result.spans.strict),
      spanMerged: summary(result.spans.merged),
      token: summary(result.token.micro),
      tokenBinary: summary(result.token.binary),
      leak: result.leak.leak,
      falsePositives: details.falsePositives.length,
      falseNegatives: details.falseNegatives.length,
      metrics: rows.length,
      detailsSha256: artifact.sha256,
    };
  }

  private async parsePredictions(p: EvaluatePayload): Promise<PredictionSource[]> {
    try {
      const parsed = await this.cpu.run('parseUpload', {
        bytes: this.artifacts.read(p.predictionsSha256!),
        name: p.predictionsName ?? 'predictions',
        maxArchiveBytes: this.limits.maxUploadBytes,
        maxFileBytes: this.limits.maxFileBytes,
        // System output may overlap and carry extra fields (scores); the scorer handles both. Invalid
        // spans pass to the scorer only when it is to score them.
        options: { format: (p.predictionsFormat as CorpusFormat) ?? undefined, allowOverlaps: true, allowUnknownFields: true, allowInvalidSpans: p.invalidSpans === 'score' },
      });
      return parsed.documents.map((d) => ({ externalId: d.id, split: d.split, text: d.text, spans: d.spans }));
    } catch (error) {
      if (error instanceof CorpusImportError) throw new AppError('BAD_USER_INPUT', `Predictions rejected: ${error.message}`, { importError: error.toDetails() });
      throw error;
    }
  }

  // ---- reading evaluations ----

  /** A finished evaluation job, for users who may read its gold corpus; everyone else gets NOT_FOUND. */
  private async requireEvaluation(user: AuthUser, jobId: string) {
    const job = await this.repository.findJob(jobId);
    if (!job || job.type !== JobName.Evaluate) throw notFound('Evaluation', jobId);
    const payload = job.payload as unknown as EvaluatePayload;
    await this.corpora.requireReadable(user, payload.goldCorpusId).catch(() => {
      throw notFound('Evaluation', jobId);
    });
    if (job.status !== JobStatus.succeeded) throw new AppError('INVALID_STATE', `Evaluation job ${jobId} is ${job.status}; its scores exist once it has SUCCEEDED (see job.error for a failure).`);
    return { job, payload, result: job.result as Awaited<ReturnType<EvaluationService['runEvaluate']>> };
  }

  async evaluation(user: AuthUser, jobId: string) {
    const { job, result } = await this.requireEvaluation(user, jobId);
    const rows = await this.metricRows.ofJob(jobId);
    const tables = new Map<MetricFamily, Map<string, Record<string, number | string | null>>>();
    let leak = 0;
    for (const row of rows) {
      if (row.name === 'leak') leak = row.value;
      const parsed = parseMetricName(row.name);
      if (!parsed) continue;
      const labels = tables.get(parsed.family) ?? new Map<string, Record<string, number | string | null>>();
      tables.set(parsed.family, labels);
      const key = row.label ?? '';
      const entry = labels.get(key) ?? { label: row.label, ciLow: null, ciHigh: null };
      labels.set(key, entry);
      entry[parsed.measure] = row.value;
      if (parsed.measure === 'f1') Object.assign(entry, { ciLow: row.ciLow, ciHigh: row.ciHigh });
    }
    const scoreRow = (entry: Record<string, number | string | null>) => ({ ...entry, support: (entry.tp as number) + (entry.fn as number) });
    const scorers = (Object.keys(SCORERS) as MetricFamily[])
      .filter((family) => tables.has(family))
      .map((family) => {
        const labels = tables.get(family)!;
        return {
          scorer: SCORERS[family],
          family,
          micro: scoreRow(labels.get('')!),
          perLabel: [...labels.entries()].filter(([key]) => key !== '').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, entry]) => scoreRow(entry)),
        };
      });
    return {
      jobId: job.id,
      goldCorpusId: result.goldCorpusId,
      split: result.split,
      predictedCorpusId: result.predictedCorpusId,
      modelId: result.modelId,
      source: result.source,
      scorerVersion: result.scorerVersion,
      documents: result.documents,
      goldSpans: result.goldSpans,
      predictedSpans: result.predictedSpans,
      bootstrapResamples: result.bootstrap?.resamples ?? 0,
      confidenceLevel: result.bootstrap?.level ?? null,
      seed: result.bootstrap?.seed ?? null,
      leak,
      scorers,
      createdAt: job.finishedAt ?? job.createdAt,
    };
  }

  private readDetails<T>(sha256: string): T {
    return JSON.parse(Buffer.from(this.artifacts.read(sha256)).toString('utf8')) as T;
  }

  /** False positives or negatives with their context: PHI, so only for users who may read the gold corpus. */
  async errors(user: AuthUser, jobId: string, filter: { kind: 'FALSE_POSITIVE' | 'FALSE_NEGATIVE'; label: string | null }, page: PageArgs) {
    const { result } = await this.requireEvaluation(user, jobId);
    const details = this.readDetails<EvaluationDetails>(result.detailsSha256);
    const list = (filter.kind === 'FALSE_POSITIVE' ? details.falsePositives : details.falseNegatives).filter((e) => filter.label == null || e.label === filter.label);
    const nodes = list.map((e) => {
      const doc = details.documents[e.docId];
      return {
        documentId: doc?.documentId ?? null,
        externalId: doc?.externalId ?? e.docId,
        split: doc?.split ?? '',
        start: e.start,
        end: e.end,
        label: e.label,
        errorType: e.kind.toUpperCase(),
        text: e.text,
        left: e.left,
        right: e.right,
        overlapping: e.overlapping,
      };
    });
    return offsetPage(nodes, page);
  }

  /** Paired bootstrap test of two evaluations of the same gold documents (A − B for every metric). */
  async compare(user: AuthUser, jobA: string, jobB: string, bootstrap: { resamples: number; level: number; seed: number }) {
    const a = await this.requireEvaluation(user, jobA);
    const b = await this.requireEvaluation(user, jobB);
    if (a.payload.goldCorpusId !== b.payload.goldCorpusId || a.payload.split !== b.payload.split) {
      throw badInput('jobB', `the two evaluations scored different gold documents (corpus ${a.payload.goldCorpusId} split ${JSON.stringify(a.payload.split)} vs corpus ${b.payload.goldCorpusId} split ${JSON.stringify(b.payload.split)}); a paired test needs the same ones.`);
    }
    checkBootstrap(bootstrap.resamples, bootstrap.level, bootstrap.seed);
    const countsA = this.readDetails<EvaluationDetails>(a.result.detailsSha256).counts;
    const countsB = this.readDetails<EvaluationDetails>(b.result.detailsSha256).counts;
    const compared = await scoringStep(() => this.cpu.run('compareCounts', { a: countsA, b: countsB, bootstrap }));
    const metrics = Object.entries(compared).map(([key, c]) => {
      const [family, label] = key.split('/') as [MetricFamily, string | undefined];
      return { metric: key, scorer: SCORERS[family] ?? family, label: label ?? null, f1A: c.f1A, f1B: c.f1B, difference: c.difference, ciLow: c.ci.low, ciHigh: c.ci.high, pValue: c.pValue };
    });
    return { jobA, jobB, documents: countsA.docIds.length, resamples: bootstrap.resamples, confidenceLevel: bootstrap.level, seed: bootstrap.seed, scorerVersion: SCORER_VERSION, metrics };
  }

  // ---- metrics ----

  /** Metrics of corpora the user may read, and those of their own models, experiments and jobs. */
  async metrics(user: AuthUser, filter: MetricFilter, page: PageArgs) {
    const own: Prisma.MetricWhereInput[] = [{ corpusId: null, model: this.models.visibleWhere(user) }, { corpusId: null, experiment: { ownerId: user.id } }];
    if (filter.jobId) {
      // Metrics of a job not yet linked to its model: for those who may read the job's contents.
      const job = await this.jobs.get(user, filter.jobId).catch(() => null);
      if (job && !job.redacted) own.push({ corpusId: null, jobId: filter.jobId });
    }
    const where: Prisma.MetricWhereInput = {
      AND: [
        { OR: [{ corpus: this.corpora.visibleWhere(user) }, ...own] },
        ...(['modelId', 'corpusId', 'jobId', 'experimentId', 'stepId', 'name', 'split', 'scorer', 'label'] as const).filter((k) => filter[k] != null).map((k) => ({ [k]: filter[k] })),
      ],
    };
    return this.metricRows.page(where, page);
  }

  // ---- privacy report (a job) ----

  async startPrivacyReport(user: AuthUser, request: { syntheticCorpusId: string; realCorpusId: string; realSplit: string | null; n: number }): Promise<Job> {
    this.corpora.requireWriter(user);
    await this.corpora.requireReadable(user, request.syntheticCorpusId);
    await this.corpora.requireReadable(user, request.realCorpusId);
    if (!Number.isInteger(request.n) || request.n < 1 || request.n > MAX_NGRAM) throw badInput('n', `must be an integer from 1 to ${MAX_NGRAM} (5 is usual); got ${request.n}.`);
    if ((await this.repository.countDocuments(request.syntheticCorpusId, null)) === 0) throw badInput('syntheticCorpusId', `corpus ${request.syntheticCorpusId} has no documents.`);
    if ((await this.repository.countDocuments(request.realCorpusId, request.realSplit)) === 0) {
      throw badInput('realSplit', `corpus ${request.realCorpusId} has no documents${request.realSplit !== null ? ` in split "${request.realSplit}"` : ''}.`);
    }
    return this.steps.submit(user, JobName.PrivacyReport, request);
  }

  async runPrivacyReport(ctx: JobContext<JobName.PrivacyReport>) {
    const p = ctx.payload;
    await ctx.progress(0.05, 'Loading the synthetic and real documents.');
    const synthetic = await this.corpora.repository.loadDocuments(p.syntheticCorpusId);
    const real = await this.corpora.repository.loadDocuments(p.realCorpusId, { splits: p.realSplit !== null ? [p.realSplit] : null });
    ctx.throwIfCancelled();
    await ctx.progress(0.2, `Comparing ${synthetic.length} synthetic with ${real.length} real documents (${p.n}-grams).`);
    // Database ids keep documents apart across splits; names are mapped back below, subject to access.
    const report = await scoringStep(() =>
      this.cpu.run('privacyReport', {
        synthetic: synthetic.map((d) => ({ id: d.id, text: d.text })),
        real: real.map((d) => ({ id: d.id, text: d.text, spans: d.spans })),
        options: { n: p.n },
      }),
    );
    ctx.throwIfCancelled();
    await ctx.progress(0.85, 'Saving metrics.');
    const rows: NewMetric[] = privacyMetricRows(report, p.realSplit ?? '').map((row) => ({
      name: row.name,
      value: row.value,
      label: row.label,
      split: p.realSplit,
      ciLow: null,
      ciHigh: null,
      scorer: privacyScorerOf(row.name),
      scorerVersion: row.scorer_version,
      modelId: null,
      // A count of real PHI strings describes the real corpus: filed under it, for its readers; shares under the synthetic one.
      corpusId: row.name === 'phi_reproduced_strings' ? p.realCorpusId : p.syntheticCorpusId,
      jobId: ctx.jobId,
    }));
    await this.metricRows.replaceJobMetrics(ctx.jobId, rows);
    const names = (docs: typeof real) => Object.fromEntries(docs.map((d) => [d.id, { externalId: d.externalId, split: d.split }]));
    const details: PrivacyDetails = { version: 1, synthetic: names(synthetic), real: names(real), report };
    const artifact = await this.artifacts.put(Buffer.from(JSON.stringify(details)), 'privacy-report');
    // The job result holds no real PHI strings and no real document names: those need access to the real corpus (privacyReportResult).
    return {
      syntheticCorpusId: p.syntheticCorpusId,
      realCorpusId: p.realCorpusId,
      realSplit: p.realSplit,
      n: report.n,
      scorerVersion: report.scorerVersion,
      syntheticDocuments: report.syntheticDocuments,
      realDocuments: report.realDocuments,
      ngramOverlap: report.ngramOverlap.corpus,
      ngramOverlapDocumentMean: report.ngramOverlap.documentMean,
      phiReproducedShare: report.phiReproduction.share,
      phiReproducedStrings: report.phiReproduction.reproduced,
      longestCopiedWords: report.longestCopied?.words ?? 0,
      nearestJaccardMean: report.nearestReal.meanJaccard,
      nearestJaccardMax: report.nearestReal.maxJaccard,
      metrics: rows.length,
      detailsSha256: artifact.sha256,
    };
  }

  /**
   * A finished privacy report, for users who may read the synthetic corpus. Which real documents were
   * copied and which real PHI strings were reproduced are shown only to users who may read the real corpus.
   */
  async privacyReport(user: AuthUser, jobId: string) {
    const job = await this.repository.findJob(jobId);
    if (!job || job.type !== JobName.PrivacyReport) throw notFound('Privacy report', jobId);
    const payload = job.payload as unknown as JobPayloads[JobName.PrivacyReport];
    await this.corpora.requireReadable(user, payload.syntheticCorpusId).catch(() => {
      throw notFound('Privacy report', jobId);
    });
    if (job.status !== JobStatus.succeeded) throw new AppError('INVALID_STATE', `Privacy report job ${jobId} is ${job.status}; the report exists once it has SUCCEEDED.`);
    const realReadable = await this.corpora.requireReadable(user, payload.realCorpusId).then(
      () => true,
      () => false,
    );
    const details = this.readDetails<PrivacyDetails>((job.result as { detailsSha256: string }).detailsSha256);
    const { report } = details;
    const realCount = (count: number) => (realReadable ? count : null);
    const realName = (id: string | null) => (realReadable && id !== null ? (details.real[id]?.externalId ?? null) : null);
    const syntheticName = (id: string) => details.synthetic[id]?.externalId ?? id;
    return {
      jobId,
      syntheticCorpusId: payload.syntheticCorpusId,
      realCorpusId: realReadable ? payload.realCorpusId : null,
      realSplit: payload.realSplit,
      realCorpusReadable: realReadable,
      n: report.n,
      caseSensitive: report.caseSensitive,
      scorerVersion: report.scorerVersion,
      syntheticDocuments: report.syntheticDocuments,
      // Counts describe the real corpus (its size, its PHI per label): for its readers only. Shares stay.
      realDocuments: realCount(report.realDocuments),
      ngramOverlap: report.ngramOverlap,
      phiReproduction: {
        realStrings: realCount(report.phiReproduction.realStrings),
        reproduced: realCount(report.phiReproduction.reproduced),
        share: report.phiReproduction.share,
        occurrences: realCount(report.phiReproduction.occurrences),
        perLabel: Object.entries(report.phiReproduction.perLabel).map(([label, r]) => ({
          label,
          share: r.share,
          realStrings: realCount(r.realStrings),
          reproduced: realCount(r.reproduced),
          occurrences: realCount(r.occurrences),
        })),
        examples: realReadable ? report.phiReproduction.examples : null,
      },
      longestCopied: report.longestCopied && {
        words: report.longestCopied.words,
        syntheticExternalId: syntheticName(report.longestCopied.syntheticDocId),
        realExternalId: realName(report.longestCopied.realDocId),
        text: report.longestCopied.text,
      },
      nearestReal: report.nearestReal,
      documents: report.perDocument.map((d) => ({
        syntheticExternalId: syntheticName(d.id),
        ngrams: d.ngrams,
        matchedNgrams: d.matchedNgrams,
        overlap: d.overlap,
        longestCopiedWords: d.longestCopiedWords,
        longestCopiedFromExternalId: realName(d.longestCopiedFrom),
        nearestRealExternalId: realName(d.nearestRealDocId),
        nearestJaccard: d.nearestJaccard,
      })),
    };
  }
}

function checkBootstrap(resamples: number, level: number, seed: number) {
  if (!Number.isInteger(resamples) || resamples < 1 || resamples > MAX_RESAMPLES) throw badInput('bootstrapResamples', `must be an integer from 1 to ${MAX_RESAMPLES} (1000 is usual); got ${resamples}.`);
  if (!(level > 0 && level < 1)) throw badInput('confidenceLevel', `must lie strictly between 0 and 1 (e.g. 0.95); got ${level}.`);
  if (!Number.isInteger(seed)) throw badInput('seed', `must be an integer; got ${seed}.`);
}

/** Runs a scoring step; the scorer's refusals become BAD_USER_INPUT with its code in the job result. */
async function scoringStep<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ScoringInputError) {
      throw new AppError('BAD_USER_INPUT', `Scoring rejected the input (${error.code}): ${error.message}`, { scoringError: { code: error.code, message: error.message, details: error.details } });
    }
    throw error;
  }
}

/** A page of an in-memory list; the cursor is the position after the last item. */
function offsetPage<T>(nodes: T[], page: PageArgs) {
  const first = page.first ?? 50;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) throw badInput('first', `must be between 1 and ${MAX_PAGE_SIZE}.`);
  let start = 0;
  if (page.after) {
    const text = Buffer.from(page.after, 'base64url').toString();
    if (!/^o:\d+$/.test(text)) throw badInput('after', 'is not a cursor from this list; pass pageInfo.endCursor of the previous page.');
    start = Number(text.slice(2));
  }
  const slice = nodes.slice(start, start + first);
  const edges = slice.map((node, i) => ({ cursor: Buffer.from(`o:${start + i + 1}`).toString('base64url'), node }));
  return { edges, pageInfo: { hasNextPage: start + first < nodes.length, endCursor: edges.at(-1)?.cursor ?? null }, totalCount: nodes.length };
}
