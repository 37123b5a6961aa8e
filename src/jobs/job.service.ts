/**
 * Job records and their event stream: what users see of work in progress. Creating a job
 * persists it and enqueues it; progress, log lines and metrics are persisted and published
 * (Topic.JobEvent) in one numbered sequence per job.
 */
import type { Job, Prisma, PrismaClient } from '../generated/prisma/client.js';
import { AppError, notFound } from '../common/errors.js';
import type { AuthUser } from '../auth/auth.types.js';
import { corpusVisibleWhere, modelVisibleWhere } from '../auth/visibility.js';
import { EventBus, Topic, type JobEventPayload } from '../subscriptions/pubsub.js';
import type { JobQueue } from './queue.js';
import { paginate, type PageArgs, type SortDirection } from '../common/pagination.js';
import { FINISHED_STATES, JOB_CORPUS_KEYS, JOB_CORPUS_LIST_KEYS, JOB_MODEL_KEYS, JobStatus, type JobName, type JobPayloads } from './types.js';

/**
 * A job as one user sees it. `redacted`: the user (an admin, say) may not read everything the job
 * touches, so payload, result, message, error, logs and event messages are withheld; ids, type,
 * status, progress, timings and owner remain, which is what operating the platform needs.
 */
export type JobView = Job & { redacted: boolean };

export interface JobFilter {
  status?: string | null;
  type?: string | null;
}

export class JobService {
  private readonly finishedListeners: ((job: Job) => void)[] = [];

  constructor(
    private readonly prisma: PrismaClient,
    private readonly queue: JobQueue,
    private readonly bus: EventBus,
  ) {}

  /**
   * `device`: where the job's numeric work runs (cpu unless the job asks for an accelerator).
   * `inputHash`: the step's content address (src/steps), so later identical work can reuse this job.
   */
  async create<N extends JobName>(user: AuthUser, type: N, payload: JobPayloads[N], device = 'cpu', inputHash: string | null = null): Promise<JobView> {
    const job = await this.prisma.job.create({
      data: { type, ownerId: user.id, payload: payload as unknown as Prisma.InputJsonValue, device, inputHash },
    });
    await this.queue.send(job.id);
    await this.event(job.id, 'STATUS', { status: JobStatus.queued });
    return view(job, false);
  }

  /** Jobs are visible to their owner and to admins; their contents only to those who may read what they touch. */
  async get(user: AuthUser, id: string): Promise<JobView> {
    const job = await this.prisma.job.findUnique({ where: { id } });
    if (!job || (job.ownerId !== user.id && user.role !== 'ADMIN')) throw notFound('Job', id);
    return (await this.redact(user, [job]))[0]!;
  }

  /** A job whose contents the user may read (its owner, or one who may read all it touches); else NOT_FOUND. */
  async getReadable(user: AuthUser, id: string): Promise<JobView> {
    const job = await this.get(user, id);
    if (job.redacted) throw notFound('Job', id);
    return job;
  }

  /** Those of these jobs whose contents (results, metric values) the user may read. */
  async readableIds(user: AuthUser, ids: string[]): Promise<Set<string>> {
    const jobs = await this.prisma.job.findMany({ where: { id: { in: ids } } });
    return new Set((await this.redact(user, jobs)).filter((job) => !job.redacted).map((job) => job.id));
  }

  /** Marks and strips the jobs whose corpora or models the user may not read (two queries for any number of jobs). */
  private async redact(user: AuthUser, jobs: Job[]): Promise<JobView[]> {
    const foreign = jobs.filter((job) => job.ownerId !== user.id);
    const touched = new Map(foreign.map((job) => [job.id, touchedBy(job)]));
    const corpusIds = [...new Set([...touched.values()].flatMap((t) => t.corpusIds))];
    const modelIds = [...new Set([...touched.values()].flatMap((t) => t.modelIds))];
    const [corpora, models] = await Promise.all([
      corpusIds.length ? this.prisma.corpus.findMany({ where: { AND: [{ id: { in: corpusIds } }, corpusVisibleWhere(user)] }, select: { id: true } }) : [],
      modelIds.length ? this.prisma.model.findMany({ where: { AND: [{ id: { in: modelIds } }, modelVisibleWhere(user)] }, select: { id: true } }) : [],
    ]);
    const readable = new Set([...corpora, ...models].map((row) => row.id));
    return jobs.map((job) => {
      const t = touched.get(job.id);
      const redacted = t !== undefined && (t.privateUpload || ![...t.corpusIds, ...t.modelIds].every((id) => readable.has(id)));
      return view(job, redacted);
    });
  }

  /**
   * A job with this input hash whose work the user may take as theirs: a finished one whose inputs and
   * outputs they may read, or one of their own still queued or running. Finished ones first, oldest first.
   */
  async reusable(user: AuthUser, inputHash: string): Promise<JobView | null> {
    const candidates = await this.prisma.job.findMany({
      where: { inputHash, OR: [{ status: JobStatus.succeeded }, { status: { in: [JobStatus.queued, JobStatus.running] }, ownerId: user.id, cancelRequested: false }] },
      orderBy: { createdAt: 'asc' },
      take: 20,
    });
    candidates.sort((a, b) => Number(b.status === JobStatus.succeeded) - Number(a.status === JobStatus.succeeded));
    return (await this.redact(user, candidates)).find((job) => !job.redacted) ?? null;
  }

  list(user: AuthUser, filter: JobFilter, page: PageArgs, order: { field: string; direction: SortDirection }) {
    const where: Prisma.JobWhereInput = {
      ...(user.role === 'ADMIN' ? {} : { ownerId: user.id }),
      ...(filter.status ? { status: filter.status as never } : {}),
      ...(filter.type ? { type: filter.type } : {}),
    };
    return paginate(async (args) => this.redact(user, await this.prisma.job.findMany(args as never)), (args) => this.prisma.job.count(args as never), where, page, order);
  }

  async cancel(user: AuthUser, id: string): Promise<JobView> {
    const job = await this.get(user, id);
    if (FINISHED_STATES.includes(job.status)) {
      throw new AppError('INVALID_STATE', `Job ${id} already ended (${job.status}); only queued or running jobs can be cancelled.`);
    }
    if (job.status === JobStatus.queued) {
      const cancelled = await this.prisma.job.update({
        where: { id },
        data: { status: JobStatus.cancelled, cancelRequested: true, finishedAt: new Date(), message: 'Cancelled before it started.' },
      });
      await this.event(id, 'STATUS', { status: JobStatus.cancelled, message: cancelled.message });
      return view(cancelled, job.redacted);
    }
    // A running job stops at its next cancellation point; the runner marks it CANCELLED.
    const updated = await this.prisma.job.update({ where: { id }, data: { cancelRequested: true } });
    return view(updated, job.redacted);
  }

  /** The job's current state as an event, then its live events, ending after it finishes. */
  async *subscribe(user: AuthUser, id: string): AsyncGenerator<JobEventPayload> {
    // Subscribe before reading the snapshot, so nothing published in between is lost.
    const live = this.bus.subscribe(Topic.JobEvent, id)[Symbol.asyncIterator]();
    try {
      const job = await this.get(user, id);
      const snapshot = snapshotEvent(job);
      yield snapshot;
      if (FINISHED_STATES.includes(job.status)) return;
      while (true) {
        const next = await live.next();
        if (next.done) return;
        const event = next.value as JobEventPayload;
        if (event.seq <= snapshot.seq) continue;
        // Log lines and metrics describe the data: a redacted view gets the event's kind, status and progress only.
        yield job.redacted ? { ...event, message: null, metricName: null, metricValue: null, metricStep: null } : event;
        if (event.kind === 'STATUS' && FINISHED_STATES.includes(event.status)) return;
      }
    } finally {
      await live.return?.();
    }
  }

  logs(jobId: string, afterSeq: number, take: number) {
    return this.prisma.jobLog.findMany({ where: { jobId, seq: { gt: afterSeq } }, orderBy: { seq: 'asc' }, take });
  }

  /** Called in this process after any job ends (succeeded, failed or cancelled), e.g. to advance its experiments. */
  onFinished(listener: (job: Job) => void) {
    this.finishedListeners.push(listener);
  }

  /** Persists the job's new state and publishes it as the job's next numbered event. */
  async event(
    jobId: string,
    kind: JobEventPayload['kind'],
    fields: {
      status?: string;
      progress?: number;
      etaSeconds?: number | null;
      message?: string | null;
      metric?: { name: string; value: number; step: number | null };
      data?: Prisma.JobUpdateInput;
    },
  ): Promise<Job> {
    const job = await this.prisma.job.update({
      where: { id: jobId },
      data: {
        ...fields.data,
        eventSeq: { increment: 1 },
        ...(fields.status ? { status: fields.status as never } : {}),
        ...(fields.progress !== undefined ? { progress: fields.progress } : {}),
        ...(fields.etaSeconds !== undefined ? { etaSeconds: fields.etaSeconds } : {}),
        ...(kind !== 'LOG' && kind !== 'METRIC' && fields.message !== undefined ? { message: fields.message } : {}),
      },
    });
    if (kind === 'LOG' && fields.message) {
      await this.prisma.jobLog.create({ data: { jobId, seq: job.eventSeq, level: 'info', message: fields.message } });
    }
    this.bus.emit(Topic.JobEvent, jobId, {
      ...snapshotEvent(job),
      kind,
      message: fields.message ?? null,
      metricName: fields.metric?.name ?? null,
      metricValue: fields.metric?.value ?? null,
      metricStep: fields.metric?.step ?? null,
    });
    if (kind === 'STATUS' && FINISHED_STATES.includes(job.status)) for (const listener of this.finishedListeners) listener(job);
    return job;
  }
}

function snapshotEvent(job: Job): JobEventPayload {
  return {
    jobId: job.id,
    seq: job.eventSeq,
    kind: 'STATUS',
    status: job.status,
    progress: job.progress,
    etaSeconds: job.etaSeconds,
    message: job.message,
    metricName: null,
    metricValue: null,
    metricStep: null,
    at: new Date().toISOString(),
  };
}

function view(job: Job, redacted: boolean): JobView {
  return redacted ? { ...job, payload: null, result: null, message: null, error: null, checkpoint: null, redacted } : { ...job, redacted };
}

/** The corpora and models a job reads or made, from its payload and result. */
function touchedBy(job: Job): { corpusIds: string[]; modelIds: string[]; privateUpload: boolean } {
  const fields = { ...(job.payload as Record<string, unknown>), ...(job.result as Record<string, unknown> | null) };
  const ids = (keys: readonly string[]) => keys.flatMap((key) => fields[key]).filter((value): value is string => typeof value === 'string');
  const corpusIds = ids([...JOB_CORPUS_KEYS, ...JOB_CORPUS_LIST_KEYS]);
  // An import of PHI names no corpus until it has made one; until then it is its owner's alone.
  const privateUpload = fields.containsPhi === true && corpusIds.length === 0;
  return { corpusIds, modelIds: ids(JOB_MODEL_KEYS), privateUpload };
}
