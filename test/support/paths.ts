/** Where tests find the repository and the read-only data beside it (../shared: MEDDOCAN, fixtures). */
import fs from 'node:fs';
import path from 'node:path';

/** The folder holding prisma/schema.prisma, from test/support or from dist/test/support (benchmarks). */
export const REPO_ROOT = (() => {
  let dir = import.meta.dirname;
  while (!fs.existsSync(path.join(dir, 'prisma', 'schema.prisma'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the repository root above ' + import.meta.dirname);
    dir = parent;
  }
  return dir;
})();

export const SHARED = path.resolve(REPO_ROOT, '../shared');
/** Tiny Hugging Face checkpoints with reference outputs (HF_TINY overrides). */
export const HF_TINY = process.env.HF_TINY ?? path.join(SHARED, 'fixtures/hf-tiny');
/** MEDDOCAN train and dev in BRAT, and dev in XML (MEDDOCAN_DIR overrides). */
export const MEDDOCAN_DIR = process.env.MEDDOCAN_DIR ?? path.join(SHARED, 'data/meddocan');
