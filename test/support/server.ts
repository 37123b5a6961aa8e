/**
 * Starts the real server (the compiled dist/, as users run it) in a child process against a fresh
 * database: the embedded one in a temporary data directory, or a new PostgreSQL database on the
 * local server. Tests talk to it over real HTTP and WebSocket.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

export { REPO_ROOT, SHARED } from './paths.js';
import { REPO_ROOT } from './paths.js';
const MAIN = path.join(REPO_ROOT, 'dist/src/main.js');
export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';

export type DatabaseChoice = 'embedded' | 'postgres';
/** Which databases the platform tests run against (TEST_DATABASES=embedded,postgres by default). */
export const DATABASES: DatabaseChoice[] = (process.env.TEST_DATABASES || 'embedded,postgres').split(',') as DatabaseChoice[];

export interface TestServer {
  url: string;
  adminToken: string;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  output: () => string;
  /** Kills the server process (SIGKILL = a crash) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Resolves when the server process has exited on its own (a crash point, say). */
  exited(): Promise<void>;
  /** Starts the server again on the same data directory and database. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestServer(database: DatabaseChoice, extraEnv: Record<string, string> = {}): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'deid-test-'));
  let databaseUrl = '';
  let dbName = '';
  if (database === 'postgres') {
    dbName = `deid_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    await adminQuery(`CREATE DATABASE ${dbName}`);
    const url = new URL(POSTGRES_ADMIN_URL);
    url.pathname = `/${dbName}`;
    databaseUrl = url.toString();
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: dataDir,
    DATABASE_URL: databaseUrl,
    PORT: '0',
    LOG_LEVEL: 'warn',
    JOB_CONCURRENCY: '2',
    // Killed servers' jobs come back sooner in crash tests.
    JOB_HEARTBEAT_SECONDS: '10',
    ...extraEnv,
  };
  const adminToken = execFileSync(process.execPath, [MAIN, 'create-admin-token', 'admin@test.local'], { env, encoding: 'utf8' }).trim().split('\n').at(-1)!;

  let child: ChildProcess;
  let log = '';
  let url = '';
  const launch = () =>
    new Promise<void>((resolve, reject) => {
      child = spawn(process.execPath, [MAIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        const match = /GraphQL API: (http:\/\/[^/\s]+)\/graphql/.exec(log);
        if (match && !url) {
          url = match[1]!;
          resolve();
        } else if (match && url) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
      child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening:\n${log}`)));
    });
  await launch();
  // A restart listens on a new port (PORT=0); remember the first URL pattern only for parsing.
  const server: TestServer = {
    get url() {
      return url;
    },
    adminToken,
    dataDir,
    env,
    output: () => log,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
    async exited() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await new Promise((resolve) => child.once('exit', resolve));
    },
    async restart() {
      await server.kill('SIGTERM');
      url = '';
      log = '';
      await launch();
    },
    async stop() {
      await server.kill('SIGTERM');
      fs.rmSync(dataDir, { recursive: true, force: true });
      if (dbName) await adminQuery(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    },
  };
  return server;
}

export interface SiblingProcess {
  /** The API URL for `serve`; '' for `worker`. */
  url: string;
  output: () => string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Another process on the same database and data directory: a second API instance or a worker. */
export async function startSibling(server: TestServer, command: 'serve' | 'worker', extraEnv: Record<string, string> = {}): Promise<SiblingProcess> {
  const child = spawn(process.execPath, [MAIN, command], { env: { ...server.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const ready = command === 'serve' ? /GraphQL API: (http:\/\/[^/\s]+)\/graphql/ : /Worker started/;
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      const match = ready.exec(log);
      if (match) resolve(match[1] ?? '');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${command} exited with ${code}:\n${log}`)));
  });
  return {
    url,
    output: () => log,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };
}

async function adminQuery(sql: string) {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
