/** transformers.js reading models from a temporary folder only (no hub), removed after the suite. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { env } from '@huggingface/transformers';
import { afterAll, beforeAll } from 'vitest';

export function useLocalTransformersJs(prefix: string): { dir: () => string } {
  let tmp = '';
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), prefix));
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.useFSCache = false;
    env.localModelPath = tmp;
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  return { dir: () => tmp };
}
