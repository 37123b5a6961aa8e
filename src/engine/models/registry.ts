// model_type → family and architecture kind, and one loadModel(folder) for all of them.
// Encoders (BERT, RoBERTa) load through models/bert; decoders through CausalLMModel with
// their family (models/gpt2, models/llama). An unknown model_type lists the supported ones.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, parseConfig, type ModelConfig } from '../io/config.js';
import { EncoderModel, loadEncoder, type EncoderOptions } from './bert/index.js';
import { CausalLMModel, readJson, type CausalLMOptions, type DecoderFamily } from './causal-lm.js';
import { gpt2 } from './gpt2/index.js';
import { llama } from './llama/index.js';
import { loadLora } from './lora/index.js';

export type ArchitectureKind = 'encoder' | 'decoder';

export interface RegistryEntry {
  kind: ArchitectureKind;
  /** The decoder family (layers, positions, parameter names); encoders are built by models/bert. */
  family?: DecoderFamily<any>;
}

export const MODEL_REGISTRY: ReadonlyMap<string, RegistryEntry> = new Map<string, RegistryEntry>([
  ['bert', { kind: 'encoder' }],
  ['roberta', { kind: 'encoder' }],
  ['gpt2', { kind: 'decoder', family: gpt2 }],
  ['llama', { kind: 'decoder', family: llama }],
]);

export const SUPPORTED_MODEL_TYPES: readonly string[] = [...MODEL_REGISTRY.keys()];

export function registryEntry(modelType: unknown): RegistryEntry {
  const e = typeof modelType === 'string' ? MODEL_REGISTRY.get(modelType) : undefined;
  if (!e) throw new Error(`unsupported model_type ${JSON.stringify(modelType ?? null)}; supported: ${SUPPORTED_MODEL_TYPES.join(', ')}`);
  return e;
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
  const raw = await readJson(join(folder, 'config.json'));
  const entry = registryEntry(raw.model_type);
  if (entry.kind === 'encoder') return { kind: 'encoder', modelType: String(raw.model_type), model: await loadEncoder(folder, { ...opts.encoder, device: opts.device, intraOpThreads: opts.intraOpThreads }) };
  const config = loadConfig(folder);
  return { kind: 'decoder', modelType: config.modelType, model: await CausalLMModel.fromPretrained(entry.family!, config, folder, opts) };
}

/** A fresh, randomly initialised decoder for a config (training from scratch). */
export function createDecoder(config: ModelConfig | Record<string, unknown>, opts: CausalLMOptions & { seed?: number } = {}): CausalLMModel {
  const cfg = 'modelType' in config ? (config as ModelConfig) : parseConfig(config as Record<string, unknown>);
  const entry = registryEntry(cfg.modelType);
  if (entry.kind !== 'decoder') throw new Error(`${cfg.modelType} is an encoder; create it with EncoderModel.fromConfig`);
  return CausalLMModel.fromConfig(entry.family!, cfg, opts);
}
