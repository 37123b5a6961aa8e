/** Where tests find the repository and the read-only data beside it (../shared: MEDDOCAN, fixtures). */
import path from 'node:path';
import { PROJECT_ROOT } from '../../src/common/paths.js';

/** The repository (the folder holding prisma/), from test/support or from dist/test/support (benchmarks). */
export const REPO_ROOT = PROJECT_ROOT;

export const SHARED = path.resolve(REPO_ROOT, '../shared');
/** Tiny Hugging Face checkpoints with reference outputs (HF_TINY overrides). */
export const HF_TINY = process.env.HF_TINY ?? path.join(SHARED, 'fixtures/hf-tiny');
/** MEDDOCAN train and dev in BRAT, and dev in XML (MEDDOCAN_DIR overrides). */
export const MEDDOCAN_DIR = process.env.MEDDOCAN_DIR ?? path.join(SHARED, 'data/meddocan');
