import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expectModelType } from '../model-types.js';
import { EncoderModel } from './model.js';
import type { EncoderOptions } from './model.js';

/**
 * Load any supported encoder (BERT, RoBERTa) from a Hugging Face folder by its
 * config.json's model_type; an unknown type is an error listing the supported ones.
 */
export async function loadEncoder(dir: string, opts: EncoderOptions & { id2label?: Record<number, string>; seed?: number } = {}): Promise<EncoderModel> {
  let raw: { model_type?: string };
  try {
    raw = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { model_type?: string };
  } catch (e) {
    throw new Error(`${dir}: cannot read config.json (${e instanceof Error ? e.message : String(e)})`);
  }
  try {
    expectModelType(raw.model_type, 'encoder');
  } catch (e) {
    throw new Error(`${dir}: ${(e as Error).message}`);
  }
  return EncoderModel.fromPretrained(dir, opts);
}
