// A model folder's generation defaults: generation_config.json, else config.json's token ids.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generationConfigFromHf, type GenerationConfig } from './generate.js';

/** Defaults from the folder, with `overrides` (e.g. maxNewTokens, doSample, seed) on top. */
export function loadGenerationConfig(folder: string, overrides: Partial<GenerationConfig> = {}): GenerationConfig {
  const genPath = join(folder, 'generation_config.json');
  const cfgPath = join(folder, 'config.json');
  const path = existsSync(genPath) ? genPath : existsSync(cfgPath) ? cfgPath : null;
  const json = path ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {};
  const base = generationConfigFromHf(json);
  const merged: GenerationConfig = { ...base };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (merged as unknown as Record<string, unknown>)[k] = v;
  return merged;
}
