import fs from 'node:fs';
import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { printAppSchema, SDL_PATH } from '../../src/server/schema.js';

describe('schema.graphql', () => {
  it('should match the schema the code builds (run `npm run build && node dist/src/main.js print-schema` after changing types)', async () => {
    const committed = fs.readFileSync(SDL_PATH, 'utf8');
    expect(await printAppSchema()).toBe(committed);
  });
});
