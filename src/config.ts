import os from 'node:os';
import path from 'node:path';

/** Everything the process reads from its environment, with units in the names and defaults documented in the README. */
export interface AppConfig {
  port: number;
  host: string;
  /** Embedded database, artifacts and exports live here. */
  dataDir: string;
  /** Empty: the embedded database. postgres://…: a PostgreSQL server shared by API and workers. */
  databaseUrl: string;
  /** Whether this process also executes jobs (the embedded default does; API-only processes set RUN_JOBS=0). */
  runJobs: boolean;
  /** Jobs one process runs at once. */
  jobConcurrency: number;
  /** A job whose worker sent no heartbeat for this long is handed out again (its worker is presumed dead). */
  jobHeartbeatSeconds: number;
  /** onnxruntime threads for one training or tagging task. */
  engineThreads: number;
  maxUploadBytes: number;
  /** Largest unpacked file inside an upload (an archive entry or the upload itself). */
  maxFileBytes: number;
  maxQueryDepth: number;
  maxQueryComplexity: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer (got "${raw}")`);
  return value;
}

export function loadConfig(overrides: Partial<AppConfig> = {}): AppConfig {
  return {
    port: int('PORT', 4000),
    host: process.env.HOST || '127.0.0.1',
    dataDir: path.resolve(process.env.DATA_DIR || '.data'),
    databaseUrl: process.env.DATABASE_URL || '',
    runJobs: process.env.RUN_JOBS !== '0',
    jobConcurrency: int('JOB_CONCURRENCY', 2),
    jobHeartbeatSeconds: int('JOB_HEARTBEAT_SECONDS', 30),
    // By default one core stays free for the API when this process also serves requests.
    engineThreads: int('ENGINE_THREADS', Math.max(1, os.availableParallelism() - (process.argv.includes('worker') ? 0 : 1))),
    maxUploadBytes: int('MAX_UPLOAD_BYTES', 200 * 1024 * 1024),
    maxFileBytes: int('MAX_FILE_BYTES', 100 * 1024 * 1024),
    maxQueryDepth: int('MAX_QUERY_DEPTH', 12),
    maxQueryComplexity: int('MAX_QUERY_COMPLEXITY', 5000),
    logLevel: (process.env.LOG_LEVEL as AppConfig['logLevel']) || 'info',
    ...overrides,
  };
}
