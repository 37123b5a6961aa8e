/** Builds uploads from the MEDDOCAN files in ../shared (never copied into the repository). */
import fs from 'node:fs';
import path from 'node:path';
import { zipSync } from 'fflate';
import { MEDDOCAN_DIR } from './paths.js';

export const MEDDOCAN = MEDDOCAN_DIR;

/** A zip of BRAT folders, e.g. { train: 20, dev: 5 } takes the first N documents of each split (all when N is omitted). */
export function meddocanZip(splits: Record<string, number | undefined>): { bytes: Uint8Array; files: Record<string, Uint8Array> } {
  const files: Record<string, Uint8Array> = {};
  for (const [split, limit] of Object.entries(splits)) {
    const stems = fs
      .readdirSync(path.join(MEDDOCAN, split))
      .filter((name) => name.endsWith('.txt'))
      .sort()
      .slice(0, limit)
      .map((name) => name.slice(0, -4));
    for (const stem of stems) {
      for (const ext of ['.txt', '.ann']) files[`${split}/${stem}${ext}`] = fs.readFileSync(path.join(MEDDOCAN, split, stem + ext));
    }
  }
  return { bytes: zipSync(files, { level: 1 }), files };
}

export const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
