#!/usr/bin/env node
/**
 * The command line: `serve` (API, and jobs unless RUN_JOBS=0), `worker` (jobs only),
 * `migrate`, `create-admin-token <email>`, `print-schema`.
 */
import 'reflect-metadata';
import { loadConfig } from './config.js';
import { log, setLogLevel } from './common/log.js';
import { openDatabase } from './db/database.js';
import { AuthService } from './auth/auth.service.js';
import { createServices } from './server/services.js';
import { startServer } from './server/app.js';
import { writeSdl } from './server/schema.js';
import { describeRuntime, runtime } from './engine/runtime/session.js';

/** Which onnxruntime the engine runs on: after `npm run setup:cuda`, its CUDA runtime, for every device. */
function engineLine(): string {
  return `Engine: onnxruntime-node ${describeRuntime()}${runtime().cudaProvider ? '; installed by npm run setup:cuda, remove that folder to go back' : ''}`;
}

const USAGE = `usage: node dist/src/main.js <command>
  serve                      start the API (and run jobs, unless RUN_JOBS=0)
  worker                     run jobs only (needs DATABASE_URL=postgres://…)
  migrate                    apply database migrations and exit
  create-admin-token <email> create (or reuse) an admin user and print a new API token
  print-schema               write schema.graphql from the code`;

async function main() {
  const [command, ...args] = process.argv.slice(2);
  const config = loadConfig();
  setLogLevel(config.logLevel);
  switch (command) {
    case 'serve': {
      const services = await createServices(config, { runJobs: config.runJobs });
      const server = await startServer(services);
      const firstToken = await services.auth.bootstrapIfNoUsers('admin@localhost');
      if (firstToken) console.log(`First start: created admin@localhost. Its API token (shown once):\n  ${firstToken}`);
      console.log(`GraphQL API: ${server.url}/graphql   IDE: ${server.url}/   database: ${services.database.kind}`);
      console.log(engineLine());
      onShutdown(async () => {
        await server.stop();
        await services.close();
      });
      return;
    }
    case 'worker': {
      if (!config.databaseUrl) throw new Error('A separate worker shares the queue through PostgreSQL: set DATABASE_URL=postgres://… (the embedded server runs jobs itself).');
      const services = await createServices(config, { runJobs: true });
      console.log(`Worker started: ${services.runner.workerId}, ${config.jobConcurrency} jobs at a time, database: ${services.database.kind}`);
      console.log(engineLine());
      onShutdown(() => services.close());
      return;
    }
    case 'migrate': {
      const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, migrate: true });
      console.log(`Migrations applied (${database.kind} database).`);
      await database.close();
      return;
    }
    case 'create-admin-token': {
      const email = args[0];
      if (!email) throw new Error('usage: create-admin-token <email>');
      const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      const { secret } = await new AuthService(database.prisma).bootstrapAdmin(email);
      await database.close();
      console.log(secret);
      return;
    }
    case 'print-schema': {
      console.log(`Wrote ${await writeSdl()}`);
      return;
    }
    default:
      console.error(USAGE);
      process.exit(command ? 2 : 0);
  }
}

function onShutdown(stop: () => Promise<void>) {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, async () => {
      if (stopping) return;
      stopping = true;
      log('info', 'shutdown', { signal });
      try {
        await stop();
      } finally {
        process.exit(0);
      }
    });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
