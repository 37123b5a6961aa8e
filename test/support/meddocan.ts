/** Builds uploads from the MEDDOCAN files in ../shared (never copied into the repository). */
import fs from 'node:fs';
import path from 'node:path';
import { zipSync } from 'fflate';
import { MEDDOCAN_DIR } from './paths.js';

export const MEDDOCAN = MEDDOCAN_DIR;

/**
 * A zip of BRAT folders, e.g. { train: 20, dev: 5 } takes the first N documents of each split (all
 * when N is omitted); { test: { from: 'dev', skip: 5, take: 5 } } fills a split from another one
 * (the shared copy has no test split).
 */
export function meddocanZip(splits: Record<string, number | { from: string; skip: number; take: number } | undefined>): { bytes: Uint8Array; files: Record<string, Uint8Array> } {
  const files: Record<string, Uint8Array> = {};
  for (const [split, selection] of Object.entries(splits)) {
    const { from, skip, take } = typeof selection === 'object' ? selection : { from: split, skip: 0, take: selection };
    const stems = fs
      .readdirSync(path.join(MEDDOCAN, from))
      .filter((name) => name.endsWith('.txt'))
      .sort()
      .slice(skip, take === undefined ? undefined : skip + take)
      .map((name) => name.slice(0, -4));
    for (const stem of stems) {
      for (const ext of ['.txt', '.ann']) files[`${split}/${stem}${ext}`] = fs.readFileSync(path.join(MEDDOCAN, from, stem + ext));
    }
  }
  return { bytes: zipSync(files, { level: 1 }), files };
}

export const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
