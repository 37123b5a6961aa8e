/**
 * Executes queued jobs. The loop never throws: a handler's error fails its job with a code and
 * a message; a crash of the whole process is recovered by the queue (heartbeats stop, the job is
 * handed out again and resumes from its last checkpoint). Cancellation is cooperative: handlers
 * call `ctx.throwIfCancelled()` between units of work.
 */
import os from 'node:os';
import type { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { AppError } from '../common/errors.js';
import { log } from '../common/log.js';
import type { JobService } from './job.service.js';
import type { MetricRepository } from '../metrics/metric.repository.js';
import type { JobQueue, QueuedJob } from './queue.js';
import { JobStatus, type JobName, type JobPayloads } from './types.js';

export interface JobContext<N extends JobName = JobName> {
  jobId: string;
  ownerId: string;
  payload: JobPayloads[N];
  /** 0 on the first run; higher when the job is resumed after a crash. */
  attempt: number;
  /** What the last run saved with saveCheckpoint, or null. */
  checkpoint: unknown;
  signal: AbortSignal;
  /** fraction in [0, 1]; the ETA is derived from the time spent so far. */
  progress(fraction: number, message?: string): Promise<void>;
  log(message: string): Promise<void>;
  metric(name: string, value: number, step?: number | null): Promise<void>;
  /**
   * Stores a whole curve (points by step) in place of the points metric() recorded for it, after
   * those. For the end of a resumable run: a crash can lose live points the run's checkpoint
   * already covers (they are not computed again) or store twice the ones it does not.
   */
  replaceCurve(name: string, points: { step: number; value: number }[]): Promise<void>;
  saveCheckpoint(state: unknown): Promise<void>;
  throwIfCancelled(): void;
}

export type JobHandler<N extends JobName = JobName> = (ctx: JobContext<N>) => Promise<Prisma.InputJsonValue>;
export type JobHandlers = { [N in JobName]?: JobHandler<N> };

class CancelledError extends Error {}

const PROGRESS_MIN_INTERVAL_MS = 200;
const CANCEL_POLL_MS = 500;

export class JobRunner {
  readonly workerId = `${os.hostname()}:${process.pid}`;
  lastError: Error | null = null;
  /** Jobs executing in this process. */
  private readonly active = new Map<string, Promise<void>>();

  constructor(
    private readonly prisma: PrismaClient,
    private readonly queue: JobQueue,
    private readonly jobs: JobService,
    private readonly handlers: JobHandlers,
    private readonly metricRows: MetricRepository,
    private readonly onError: (error: Error, jobId: string) => void = () => {},
  ) {}

  async start(concurrency: number): Promise<void> {
    await this.queue.work(concurrency, (job, attempt) => this.run(job, attempt));
  }

  private async run({ jobId }: QueuedJob, attempt: number): Promise<void> {
    // The queue hands a job out again when its heartbeats stop; a process whose event loop was held
    // (a long write on the embedded database, a starved CPU) can still be running it. Never twice here.
    const running = this.active.get(jobId);
    if (running) {
      log('warn', 'job.redelivered_while_running', { jobId, workerId: this.workerId });
      await running;
      return;
    }
    const execution = this.execute(jobId, attempt);
    this.active.set(jobId, execution.catch(() => {}));
    try {
      await execution;
    } catch (error) {
      // Only bookkeeping can fail here (e.g. the database went away); record it and move on.
      this.lastError = error as Error;
      // The class only: messages of database errors can quote the values they were given.
      log('error', 'job.runner_error', { jobId, workerId: this.workerId, errorClass: (error as Error)?.constructor?.name });
      this.onError(error as Error, jobId);
    } finally {
      this.active.delete(jobId);
    }
  }

  private async execute(jobId: string, attempt: number): Promise<void> {
    const row = await this.prisma.job.findUnique({ where: { id: jobId } });
    if (!row || ![JobStatus.queued, JobStatus.running].includes(row.status as never)) return;
    if (row.cancelRequested) {
      await this.jobs.event(jobId, 'STATUS', { status: JobStatus.cancelled, message: 'Cancelled.', data: { finishedAt: new Date() } });
      return;
    }
    const handler = this.handlers[row.type as JobName] as JobHandler | undefined;
    if (!handler) {
      await this.fail(jobId, new AppError('INTERNAL_SERVER_ERROR', `No handler for job type ${row.type} in this worker; is it an older version?`));
      return;
    }
    const resumed = row.status === JobStatus.running;
    const startedAt = Date.now();
    // Events of one job are published strictly one after another.
    let chain: Promise<unknown> = Promise.resolve();
    const serial = <T>(fn: () => Promise<T>): Promise<T> => {
      const next = chain.then(fn);
      chain = next.catch(() => {});
      return next;
    };
    await serial(() =>
      this.jobs.event(jobId, 'STATUS', {
        status: JobStatus.running,
        message: resumed ? `Resumed after an interruption (attempt ${attempt + 1}).` : 'Started.',
        data: { attempts: { increment: 1 }, startedAt: row.startedAt ?? new Date(), workerId: this.workerId, heartbeatAt: new Date() },
      }),
    );

    const abort = new AbortController();
    const cancelWatch = setInterval(async () => {
      const current = await this.prisma.job.findUnique({ where: { id: jobId }, select: { cancelRequested: true } }).catch(() => null);
      if (current?.cancelRequested) abort.abort();
    }, CANCEL_POLL_MS);
    let lastProgressAt = 0;
    const ctx: JobContext = {
      jobId,
      ownerId: row.ownerId,
      payload: row.payload as never,
      attempt,
      checkpoint: row.checkpoint,
      signal: abort.signal,
      throwIfCancelled() {
        if (abort.signal.aborted) throw new CancelledError('Cancelled by request.');
      },
      progress: async (fraction, message) => {
        const now = Date.now();
        const clamped = Math.min(1, Math.max(0, fraction));
        if (now - lastProgressAt < PROGRESS_MIN_INTERVAL_MS && clamped < 1) return;
        lastProgressAt = now;
        const elapsedSeconds = (now - startedAt) / 1000;
        const etaSeconds = clamped > 0 ? (elapsedSeconds * (1 - clamped)) / clamped : null;
        await serial(() => this.jobs.event(jobId, 'PROGRESS', { progress: clamped, etaSeconds, message: message ?? null, data: { heartbeatAt: new Date() } }));
      },
      log: (message) => serial(() => this.jobs.event(jobId, 'LOG', { message })).then(() => {}),
      metric: (name, value, step = null) =>
        serial(async () => {
          await this.metricRows.recordPoint(jobId, { name, value, step });
          await this.jobs.event(jobId, 'METRIC', { metric: { name, value, step } });
        }),
      replaceCurve: (name, points) => serial(() => this.metricRows.replaceCurve(jobId, name, points)),
      saveCheckpoint: (state) => serial(() => this.prisma.job.update({ where: { id: jobId }, data: { checkpoint: state as Prisma.InputJsonValue } })).then(() => {}),
    };

    try {
      const result = await handler(ctx);
      await chain;
      await this.jobs.event(jobId, 'STATUS', {
        status: JobStatus.succeeded,
        progress: 1,
        etaSeconds: 0,
        message: 'Finished.',
        data: { result, finishedAt: new Date() },
      });
    } catch (error) {
      await chain;
      if (error instanceof CancelledError || abort.signal.aborted) {
        await this.jobs.event(jobId, 'STATUS', { status: JobStatus.cancelled, message: 'Cancelled; finished work was kept.', data: { finishedAt: new Date() } });
      } else {
        await this.fail(jobId, error as Error);
      }
    } finally {
      clearInterval(cancelWatch);
    }
  }

  private async fail(jobId: string, error: Error) {
    const known = error instanceof AppError;
    const code = known ? error.code : 'INTERNAL_SERVER_ERROR';
    // Unexpected errors keep their message in the job (the owner may read it) but logs get only the code.
    log(known ? 'warn' : 'error', 'job.failed', { jobId, code, workerId: this.workerId });
    this.lastError = error;
    await this.jobs.event(jobId, 'STATUS', {
      status: JobStatus.failed,
      message: error.message,
      data: { error: error.message, errorCode: code, finishedAt: new Date(), result: known && error.details ? (error.details as Prisma.InputJsonValue) : undefined },
    });
  }
}

/** The engine task's lines (runEngineTask's onLog) into the job's log. */
export const engineLog =
  (ctx: JobContext) =>
  (line: string): void =>
    void ctx.log(line);

/** Waits for an engine task, passing the job's cancellation on to it. */
export async function untilDoneOrCancelled<T>(ctx: JobContext, task: { result: Promise<T>; cancel: () => Promise<void> }, what: string): Promise<T> {
  const onCancel = () => void task.cancel();
  ctx.signal.addEventListener('abort', onCancel);
  try {
    return await task.result;
  } catch (error) {
    ctx.throwIfCancelled();
    throw new AppError('INTERNAL_SERVER_ERROR', `${what} failed: ${(error as Error).message}`);
  } finally {
    ctx.signal.removeEventListener('abort', onCancel);
  }
}
