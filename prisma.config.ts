import { defineConfig } from 'prisma/config';

// The CLI is used only for `prisma generate`; migrations are applied by the app itself
// (src/db/migrate.ts), which works with only the npm registry reachable.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
