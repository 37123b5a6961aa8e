/**
 * The durable queue: pg-boss, on PostgreSQL or on the embedded PGlite (through pg-boss's custom
 * `db` hook). Several worker processes on several machines can pull from one PostgreSQL queue.
 * A worker that dies stops sending heartbeats; pg-boss then hands its job to another worker
 * (or to the restarted one), which resumes from the job's last checkpoint.
 */
import { PgBoss } from 'pg-boss';
import type { Database } from '../db/database.js';
import { log } from '../common/log.js';

export const QUEUE_NAME = 'deid-jobs';
const SUPERVISE_SECONDS = 5;
/** Attempts after a crash (a handled error fails the job at once and is not retried). */
export const CRASH_RETRY_LIMIT = 3;

export interface QueuedJob {
  jobId: string;
}

export class JobQueue {
  private constructor(private readonly boss: PgBoss) {}

  static async start(database: Database, heartbeatSeconds: number): Promise<JobQueue> {
    // Supervision (which notices missed heartbeats) every few seconds: a crashed job resumes soon after.
    const common = { schema: 'pgboss', superviseIntervalSeconds: SUPERVISE_SECONDS, monitorIntervalSeconds: SUPERVISE_SECONDS };
    const boss = database.pglite
      ? new PgBoss({ ...common, db: pgliteDb(database.pglite), backend: 'pglite' })
      : new PgBoss({ ...common, connectionString: database.url, max: 4 });
    boss.on('error', (error: Error) => log('error', 'queue.error', { error: error.message }));
    await boss.start();
    await boss.createQueue(QUEUE_NAME, {
      retryLimit: CRASH_RETRY_LIMIT,
      retryDelay: 1,
      heartbeatSeconds,
      // Long training runs are fine: liveness is judged by heartbeats, not by a total time limit.
      expireInSeconds: 24 * 3600,
    }).catch((error: Error) => {
      if (!/already exists/i.test(error.message)) throw error;
    });
    return new JobQueue(boss);
  }

  async send(jobId: string): Promise<void> {
    await this.boss.send(QUEUE_NAME, { jobId } satisfies QueuedJob);
  }

  async work(concurrency: number, handler: (job: QueuedJob, attempt: number) => Promise<void>): Promise<void> {
    await this.boss.work<QueuedJob>(
      QUEUE_NAME,
      { localConcurrency: concurrency, pollingIntervalSeconds: 0.5, batchSize: 1, includeMetadata: true },
      async ([job]) => handler(job.data, (job as unknown as { retryCount?: number }).retryCount ?? 0),
    );
  }

  async stop(): Promise<void> {
    await this.boss.stop({ graceful: true, timeout: 30_000 });
  }
}

/** pg-boss's custom-db contract: parameterless text may hold several statements, each with its rows. */
function pgliteDb(pglite: NonNullable<Database['pglite']>) {
  return {
    async executeSql(text: string, values?: unknown[]): Promise<{ rows: any[] }> {
      if (values && values.length) return pglite.query(text, values);
      const results = await pglite.exec(text);
      // Like node-postgres: an array of results for several statements.
      return (results.length > 1 ? results : (results[0] ?? { rows: [] })) as { rows: any[] };
    },
  };
}
