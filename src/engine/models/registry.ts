// The model registry: model_type → kind (models/model-types.ts), its config parser, and how it is
// built. The only place a config.json is parsed (parseConfig / loadConfig) and one loadModel(folder)
// for every family. Encoders (BERT, RoBERTa) load through models/bert; decoders through
// CausalLMModel with their family (models/gpt2, models/llama).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDecoderConfig, type DecoderConfig, type Json } from '../io/config.js';
import { EncoderModel, loadEncoder, parseEncoderConfig, type EncoderConfig, type EncoderOptions } from './bert/index.js';
import { CausalLMModel, readJson, type CausalLMOptions, type DecoderFamily } from './causal-lm.js';
import { gpt2 } from './gpt2/index.js';
import { llama } from './llama/index.js';
import { loadLora } from './lora/index.js';
import { modelKind, type DecoderModelType } from './model-types.js';

export { MODEL_TYPES, SUPPORTED_MODEL_TYPES, expectModelType, modelKind, modelTypesOf } from './model-types.js';
export type { ArchitectureKind, DecoderModelType, EncoderModelType, ModelType } from './model-types.js';

export type ModelConfig = EncoderConfig | DecoderConfig;

/** How each decoder model_type builds its layers, positions and parameter names. */
const DECODER_FAMILIES: Record<DecoderModelType, DecoderFamily<any>> = { gpt2, llama };

/** Any supported config.json, normalized; an unknown model_type lists the supported ones. */
export function parseConfig(raw: Json): ModelConfig {
  return modelKind(raw.model_type) === 'encoder' ? parseEncoderConfig(raw) : parseDecoderConfig(raw);
}

export function isEncoderConfig(config: ModelConfig): config is EncoderConfig {
  return modelKind(config.modelType) === 'encoder';
}

export function loadConfig(folder: string): ModelConfig {
  const path = join(folder, 'config.json');
  if (!existsSync(path)) throw new Error(`no config.json in ${folder}; is this a Hugging Face model folder?`);
  return parseConfig(JSON.parse(readFileSync(path, 'utf8')) as Json);
}

export type LoadedModel =
  | { kind: 'encoder'; modelType: string; model: EncoderModel }
  | { kind: 'decoder'; modelType: string; model: CausalLMModel };

export interface LoadModelOptions extends CausalLMOptions {
  /** Encoders: head and label options, passed to loadEncoder. */
  encoder?: EncoderOptions & { id2label?: Record<number, string>; seed?: number };
}

/**
 * Load any supported Hugging Face model folder (config.json + safetensors). A PEFT adapter
 * folder (adapter_config.json) loads its base model (base_model_name_or_path, relative to
 * the adapter folder when not absolute) and attaches the adapter.
 */
export async function loadModel(folder: string, opts: LoadModelOptions = {}): Promise<LoadedModel> {
  if (!existsSync(join(folder, 'config.json')) && existsSync(join(folder, 'adapter_config.json'))) {
    const adapter = await readJson(join(folder, 'adapter_config.json'));
    const base = String(adapter.base_model_name_or_path ?? '');
    if (!base) throw new Error(`${folder}/adapter_config.json has no base_model_name_or_path; load the base model and call loadLora`);
    const loaded = await loadModel(base.startsWith('/') ? base : join(folder, base), opts);
    if (loaded.kind !== 'decoder') throw new Error(`LoRA adapters are supported on decoders; ${base} is a ${loaded.modelType}`);
    await loadLora(loaded.model, folder);
    return loaded;
  }
  const config = loadConfig(folder);
  if (isEncoderConfig(config)) {
    return { kind: 'encoder', modelType: config.modelType, model: await loadEncoder(folder, { ...opts.encoder, device: opts.device, intraOpThreads: opts.intraOpThreads, frozen: opts.frozen }) };
  }
  return { kind: 'decoder', modelType: config.modelType, model: await CausalLMModel.fromPretrained(DECODER_FAMILIES[config.modelType], config, folder, opts) };
}

/** A fresh, randomly initialised decoder for a config (training from scratch). */
export function createDecoder(config: DecoderConfig | Json, opts: CausalLMOptions & { seed?: number } = {}): CausalLMModel {
  const cfg = 'modelType' in config ? (config as DecoderConfig) : parseDecoderConfig(config as Json);
  return CausalLMModel.fromConfig(DECODER_FAMILIES[cfg.modelType], cfg, opts);
}
