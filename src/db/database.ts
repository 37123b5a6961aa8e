/**
 * Opens the database: the embedded default (PGlite, a WebAssembly PostgreSQL under the data
 * directory, no server needed) or a PostgreSQL server through DATABASE_URL. Both run the same
 * Prisma schema and the same migrations.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { AppError } from '../common/errors.js';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from '../generated/prisma/client.js';
import { applyMigrations } from './migrate.js';
import { codePointLength } from '../common/text.js';
import type { SqlClient } from './sql.js';

export type DatabaseKind = 'embedded' | 'postgres';

export interface Database {
  kind: DatabaseKind;
  /** The PostgreSQL connection string, or '' for the embedded database. */
  url: string;
  prisma: PrismaClient;
  sql: SqlClient;
  /** Runs fn on one connection (session locks, migrations). */
  withSession<T>(fn: (sql: SqlClient) => Promise<T>): Promise<T>;
  /** Runs fn in one transaction: committed if it resolves, rolled back if it throws. For bulk writes that bypass Prisma. */
  transaction<T>(fn: (sql: SqlClient) => Promise<T>): Promise<T>;
  /** node-postgres pool (PostgreSQL only): for LISTEN/NOTIFY and the job queue. */
  pool: pg.Pool | null;
  /** The embedded engine (embedded only): the job queue talks to it directly. */
  pglite: PGlite | null;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres://… selects PostgreSQL; empty selects the embedded database. */
  databaseUrl?: string;
  /** Where the embedded database keeps its files. */
  dataDir: string;
  migrate?: boolean;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const url = options.databaseUrl?.trim();
  const database = url ? openPostgres(url) : await openEmbedded(options.dataDir);
  if (options.migrate !== false) await database.withSession(applyMigrations);
  return database;
}

function openPostgres(url: string): Database {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new Error(`DATABASE_URL must start with postgres:// or postgresql:// (got "${url.split(':')[0]}:…"); leave it unset for the embedded database.`);
  }
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    kind: 'postgres',
    url,
    prisma,
    sql: clientSql(pool),
    async withSession(fn) {
      // BEGIN/COMMIT and advisory locks belong to one connection.
      const client = await pool.connect();
      try {
        return await fn(clientSql(client));
      } finally {
        client.release();
      }
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(clientSql(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    pool,
    pglite: null,
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

function clientSql(client: pg.Pool | pg.PoolClient): SqlClient {
  return {
    async query(text, params) {
      return (await client.query(text, params as unknown[])).rows;
    },
    async exec(script) {
      await client.query(script);
    },
  };
}

/**
 * PGlite decodes result text with a default TextDecoder, which drops a leading U+FEFF (byte-order
 * mark). PostgreSQL stores it, and MEDDOCAN's offsets count it, so Document.text puts it back:
 * charCount (code points, stored at import) tells when one character went missing.
 */
const restoreLeadingBom = {
  result: {
    document: {
      text: {
        needs: { text: true, charCount: true },
        compute({ text, charCount }: { text: string; charCount: number }) {
          return codePointLength(text) === charCount - 1 ? '\uFEFF' + text : text;
        },
      },
    },
  },
};

/**
 * PGlite is one process's database: a second process opening the same folder corrupts it. A lock
 * file with the owner's pid refuses the second one (a stale lock of a dead process is taken over).
 */
function lockEmbedded(dir: string): () => void {
  const lock = `${dir}.lock`;
  try {
    const owner = Number(fs.readFileSync(lock, 'utf8'));
    if (owner && owner !== process.pid && processAlive(owner)) {
      throw new AppError('INTERNAL_SERVER_ERROR', `The embedded database in ${dir} is open in process ${owner}; stop that process first (PGlite allows one), or use another DATA_DIR.`);
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
  }
  fs.writeFileSync(lock, String(process.pid));
  return () => {
    if (fs.existsSync(lock) && fs.readFileSync(lock, 'utf8') === String(process.pid)) fs.rmSync(lock);
  };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function openEmbedded(dataDir: string): Promise<Database> {
  const dir = path.resolve(dataDir, 'db');
  fs.mkdirSync(dir, { recursive: true });
  const unlock = lockEmbedded(dir);
  const pglite = await PGlite.create(dir);
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) }).$extends(restoreLeadingBom) as unknown as PrismaClient;
  const sql: SqlClient = {
    async query(text, params) {
      return (await pglite.query(text, params as unknown[])).rows as never[];
    },
    async exec(script) {
      await pglite.exec(script);
    },
  };
  return {
    kind: 'embedded',
    url: '',
    prisma,
    sql,
    // PGlite is a single connection already.
    withSession: (fn) => fn(sql),
    // PGlite's own transaction holds the connection, so nothing else interleaves with it.
    transaction: (fn) =>
      pglite.transaction((tx) =>
        fn({
          async query(text, params) {
            return (await tx.query(text, params as unknown[])).rows as never[];
          },
          async exec(script) {
            await tx.exec(script);
          },
        }),
      ),
    pool: null,
    pglite,
    async close() {
      await prisma.$disconnect();
      await pglite.close();
      unlock();
    },
  };
}
