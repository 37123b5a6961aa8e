/**
 * The content address of a unit of work (a step): sha256 over its kind, its canonical config, the
 * content hashes of the corpora and models it reads, and the code version. Two requests with equal
 * hashes compute the same thing, whoever made them and whatever the ids of their inputs.
 */
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import { SCORER_VERSION } from '../scoring/version.js';
import { JOB_CORPUS_KEYS, JOB_CORPUS_LIST_KEYS, JOB_MODEL_KEYS, type JobName, type JobPayloads } from '../jobs/types.js';

const { version: PACKAGE_VERSION } = createRequire(import.meta.url)('../../../package.json') as { version: string };

/** Engine and scorer code that produced a step's output; bump the package version when numerics change. */
export const CODE_VERSION = `deid-synth ${PACKAGE_VERSION}; scorer ${SCORER_VERSION}`;

/** Payload fields that name the work rather than define it. */
const NAMING_KEYS = new Set(['name', 'ownerId']);

export interface ContentHashes {
  corpus(id: string): Promise<string>;
  model(id: string): Promise<string>;
}

/** JSON with object keys sorted at every level: one text per value. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export async function inputHash<N extends JobName>(kind: N, payload: JobPayloads[N], hashes: ContentHashes): Promise<string> {
  const fields = payload as unknown as Record<string, unknown>;
  const config: Record<string, unknown> = {};
  const inputs: Record<string, string> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (NAMING_KEYS.has(key)) continue;
    if ((JOB_CORPUS_KEYS as readonly string[]).includes(key) && typeof value === 'string') inputs[key] = `corpus:${await hashes.corpus(value)}`;
    else if ((JOB_CORPUS_LIST_KEYS as readonly string[]).includes(key) && Array.isArray(value)) inputs[key] = (await Promise.all(value.map((id: string) => hashes.corpus(id)))).map((h) => `corpus:${h}`).join(',');
    else if ((JOB_MODEL_KEYS as readonly string[]).includes(key) && typeof value === 'string') inputs[key] = `model:${await hashes.model(value)}`;
    else config[key] = value;
  }
  return crypto.createHash('sha256').update(canonicalJson({ kind, config, inputs, code: CODE_VERSION })).digest('hex');
}
