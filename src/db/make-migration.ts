/**
 * Developer command: write the SQL migration that takes prisma/migrations to prisma/schema.prisma.
 *
 *   npm run build && npm run db:make-migration -- add_something
 *
 * The Prisma CLI's native schema engine cannot be downloaded here, so this drives the same
 * engine compiled to WebAssembly (@prisma/schema-engine-wasm, pinned to the CLI's engine hash).
 * No database server is needed: an in-memory PGlite serves as the shadow database.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { PGlite } from '@electric-sql/pglite';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { listMigrations, MIGRATIONS_DIR, SCHEMA_PATH } from './migrate.js';

const require = createRequire(import.meta.url);

async function loadSchemaEngine() {
  // The package entry imports .wasm as an ES module, which Node 20 cannot; instantiate it ourselves.
  const dir = path.dirname(require.resolve('@prisma/schema-engine-wasm'));
  const bindings = await import(path.join(dir, 'schema_engine_bg.js'));
  const bytes = fs.readFileSync(path.join(dir, 'schema_engine_bg.wasm'));
  const { instance } = await (globalThis as unknown as { WebAssembly: { instantiate: Function } }).WebAssembly.instantiate(bytes, { './schema_engine_bg.js': bindings });
  bindings.__wbg_set_wasm(instance.exports);
  (instance.exports as { __wbindgen_start?: () => void }).__wbindgen_start?.();
  return bindings.SchemaEngine as {
    new: (options: unknown, log: (msg: string) => void, adapter: unknown) => Promise<{
      diff(params: unknown): Promise<{ exitCode: number; stdout: string | null }>;
    }>;
  };
}

async function main() {
  const name = process.argv[2];
  if (!name || !/^[a-z0-9_]+$/.test(name)) throw new Error('usage: make-migration <snake_case_name>');
  const schema = { files: [{ path: SCHEMA_PATH, content: fs.readFileSync(SCHEMA_PATH, 'utf8') }] };
  const SchemaEngine = await loadSchemaEngine();
  // A throwaway in-memory PGlite is the shadow database the existing migrations are replayed on.
  const factory = new PrismaPGlite(await PGlite.create());
  // The engine expects the error-capturing wrapper the Prisma CLI puts around an adapter factory.
  const adapter = bindMigrationAwareSqlAdapterFactory(factory);
  const engine = await SchemaEngine.new({ datamodels: [[SCHEMA_PATH, schema.files[0].content]] }, () => {}, adapter);
  const migrations = listMigrations();
  const result = await engine.diff({
    from: {
      tag: 'migrations',
      baseDir: MIGRATIONS_DIR,
      lockfile: { path: 'migration_lock.toml', content: fs.readFileSync(path.join(MIGRATIONS_DIR, 'migration_lock.toml'), 'utf8') },
      shadowDbInitScript: '',
      migrationDirectories: migrations.map((m) => ({
        path: m.name,
        migrationFile: { path: 'migration.sql', content: { tag: 'ok', value: m.sql } },
      })),
    },
    to: { tag: 'schemaDatamodel', ...schema },
    script: true,
    exitCode: true,
    filters: { externalTables: [], externalEnums: [] },
  });
  if (result.exitCode === 0 || !result.stdout?.trim()) {
    console.log('The schema matches the migrations; nothing to write.');
    return;
  }
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const folder = path.join(MIGRATIONS_DIR, `${stamp}_${name}`);
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, 'migration.sql'), result.stdout);
  console.log(`Wrote ${path.relative(process.cwd(), folder)}/migration.sql`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
