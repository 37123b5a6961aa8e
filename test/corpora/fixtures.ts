import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CorpusImportError, type CorpusIssueCode } from '../../src/corpora/errors.js';
import type { InputFile } from '../../src/corpora/formats/types.js';

export { MEDDOCAN_DIR as MEDDOCAN } from '../support/paths.js';
import { MEDDOCAN_DIR as MEDDOCAN } from '../support/paths.js';

/** Every file of a MEDDOCAN folder, with paths like `train/x.txt`. */
export function readFolder(folder: string): InputFile[] {
  const dir = path.join(MEDDOCAN, folder);
  return readdirSync(dir)
    .sort()
    .map((name) => ({ path: `${folder}/${name}`, bytes: new Uint8Array(readFileSync(path.join(dir, name))) }));
}

const enc = new TextEncoder();
export const file = (p: string, content: string | Uint8Array): InputFile => ({ path: p, bytes: typeof content === 'string' ? enc.encode(content) : content });

/** Runs `fn`, expects a CorpusImportError and returns it. */
export function importError(fn: () => unknown): CorpusImportError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CorpusImportError) return e;
    throw e;
  }
  throw new Error('expected a CorpusImportError, but nothing was thrown');
}

export function expectCode(fn: () => unknown, code: CorpusIssueCode): CorpusImportError {
  const e = importError(fn);
  if (e.code !== code) throw new Error(`expected ${code}, got ${e.code}: ${e.message}`);
  return e;
}
