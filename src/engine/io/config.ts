// Hugging Face config.json → typed, normalized decoder configs (and back); encoders are read by
// models/bert/config.ts, and models/registry.ts picks the parser by model_type.
//
// transformers 4 and 5 spell some fields differently; both are read:
//  - RoPE: v5 `rope_parameters: { rope_theta, rope_type, ... }`, v4 `rope_theta` + `rope_scaling`.
//  - GPT-2 keeps its own names (`n_embd`, `n_layer`, ...) in both versions.
// Every normalized config keeps the parsed JSON in `raw`, so saving preserves fields this
// engine does not model (id2label order, architectures, generation ids, ...).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectModelType } from '../models/model-types.js';

export type Json = Record<string, unknown>;

export interface BaseModelConfig {
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositionEmbeddings: number;
  bosTokenId: number | null;
  /** One id or several (LLaMA 3 lists more than one end-of-sequence token). */
  eosTokenIds: number[];
  padTokenId: number | null;
  tieWordEmbeddings: boolean;
  raw: Json;
}

export interface Gpt2Config extends BaseModelConfig {
  modelType: 'gpt2';
  /** `gelu_new` (tanh approximation) in every public GPT-2. */
  hiddenAct: string;
  layerNormEps: number;
  scaleAttnWeights: boolean;
  scaleAttnByInverseLayerIdx: boolean;
}

export interface RopeConfig {
  theta: number;
  /** `default` or `llama3`; others are rejected with a clear error when frequencies are built. */
  type: string;
  /** Extra parameters of the scaling type (factor, low_freq_factor, ...). */
  params: Json;
}

export interface LlamaConfig extends BaseModelConfig {
  modelType: 'llama';
  numKvHeads: number;
  headDim: number;
  hiddenAct: string;
  rmsNormEps: number;
  rope: RopeConfig;
  attentionBias: boolean;
  mlpBias: boolean;
}

export type DecoderConfig = Gpt2Config | LlamaConfig;

function num(raw: Json, keys: string[], fallback?: number): number {
  for (const k of keys) {
    const v = raw[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  if (fallback !== undefined) return fallback;
  throw new Error(`config.json: missing numeric field ${keys.map((k) => `"${k}"`).join(' or ')}`);
}

function optId(v: unknown): number | null {
  return typeof v === 'number' ? v : null;
}

function ids(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number');
  return [];
}

function bool(v: unknown, fallback: boolean): boolean {
  return typeof v === 'boolean' ? v : fallback;
}

function base(raw: Json): Omit<BaseModelConfig, 'modelType' | 'tieWordEmbeddings'> {
  return {
    vocabSize: num(raw, ['vocab_size']),
    hiddenSize: num(raw, ['hidden_size', 'n_embd', 'd_model']),
    numLayers: num(raw, ['num_hidden_layers', 'n_layer']),
    numHeads: num(raw, ['num_attention_heads', 'n_head']),
    intermediateSize: 0,
    maxPositionEmbeddings: num(raw, ['max_position_embeddings', 'n_positions'], 2048),
    bosTokenId: optId(raw.bos_token_id),
    eosTokenIds: ids(raw.eos_token_id),
    padTokenId: optId(raw.pad_token_id),
    raw,
  };
}

/** RoPE settings in either spelling: v5 `rope_parameters`, v4 `rope_theta` + `rope_scaling`. */
export function parseRope(raw: Json): RopeConfig {
  const p = (raw.rope_parameters ?? null) as Json | null;
  const legacyScaling = (raw.rope_scaling ?? null) as Json | null;
  const src: Json = { ...(legacyScaling ?? {}), ...(p ?? {}) };
  const theta = typeof src.rope_theta === 'number' ? src.rope_theta : num(raw, ['rope_theta'], 10000);
  const type = String(src.rope_type ?? src.type ?? 'default');
  const params: Json = { ...src };
  delete params.rope_theta;
  delete params.rope_type;
  delete params.type;
  return { theta, type, params };
}

/** A decoder's config.json (models/registry.ts parses every model_type; this is its decoder half). */
export function parseDecoderConfig(raw: Json): DecoderConfig {
  const modelType = expectModelType(raw.model_type, 'decoder');
  switch (modelType) {
    case 'gpt2': {
      const b = base(raw);
      const inner = raw.n_inner;
      return {
        ...b,
        modelType,
        intermediateSize: typeof inner === 'number' ? inner : 4 * b.hiddenSize,
        hiddenAct: String(raw.activation_function ?? 'gelu_new'),
        layerNormEps: num(raw, ['layer_norm_epsilon'], 1e-5),
        scaleAttnWeights: bool(raw.scale_attn_weights, true),
        scaleAttnByInverseLayerIdx: bool(raw.scale_attn_by_inverse_layer_idx, false),
        tieWordEmbeddings: bool(raw.tie_word_embeddings, true),
      };
    }
    case 'llama': {
      const b = base(raw);
      const numKvHeads = num(raw, ['num_key_value_heads'], b.numHeads);
      if (b.numHeads % numKvHeads !== 0) {
        throw new Error(`config.json: num_attention_heads (${b.numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`);
      }
      return {
        ...b,
        modelType,
        intermediateSize: num(raw, ['intermediate_size']),
        numKvHeads,
        headDim: num(raw, ['head_dim'], b.hiddenSize / b.numHeads),
        hiddenAct: String(raw.hidden_act ?? 'silu'),
        rmsNormEps: num(raw, ['rms_norm_eps'], 1e-6),
        rope: parseRope(raw),
        attentionBias: bool(raw.attention_bias, false),
        mlpBias: bool(raw.mlp_bias, false),
        tieWordEmbeddings: bool(raw.tie_word_embeddings, false),
      };
    }
  }
}

/** The config as Hugging Face JSON: `raw` with the normalized fields written over it. */
export function toHfJson(config: DecoderConfig): Json {
  const out: Json = { ...config.raw, model_type: config.modelType, vocab_size: config.vocabSize };
  out.bos_token_id = config.bosTokenId;
  out.eos_token_id = config.eosTokenIds.length === 1 ? config.eosTokenIds[0] : config.eosTokenIds.length ? config.eosTokenIds : null;
  out.pad_token_id = config.padTokenId;
  out.tie_word_embeddings = config.tieWordEmbeddings;
  switch (config.modelType) {
    case 'gpt2':
      Object.assign(out, {
        n_embd: config.hiddenSize,
        n_layer: config.numLayers,
        n_head: config.numHeads,
        n_inner: config.intermediateSize === 4 * config.hiddenSize ? null : config.intermediateSize,
        n_positions: config.maxPositionEmbeddings,
        activation_function: config.hiddenAct,
        layer_norm_epsilon: config.layerNormEps,
        scale_attn_weights: config.scaleAttnWeights,
        scale_attn_by_inverse_layer_idx: config.scaleAttnByInverseLayerIdx,
      });
      break;
    case 'llama': {
      const rope = { rope_theta: config.rope.theta, rope_type: config.rope.type, ...config.rope.params };
      Object.assign(out, {
        hidden_size: config.hiddenSize,
        num_hidden_layers: config.numLayers,
        num_attention_heads: config.numHeads,
        num_key_value_heads: config.numKvHeads,
        head_dim: config.headDim,
        intermediate_size: config.intermediateSize,
        max_position_embeddings: config.maxPositionEmbeddings,
        hidden_act: config.hiddenAct,
        rms_norm_eps: config.rmsNormEps,
        attention_bias: config.attentionBias,
        mlp_bias: config.mlpBias,
        // Both spellings: transformers 5 reads rope_parameters, transformers 4 rope_theta/rope_scaling.
        rope_parameters: rope,
        rope_theta: config.rope.theta,
        rope_scaling: config.rope.type === 'default' ? null : { rope_type: config.rope.type, ...config.rope.params },
      });
      break;
    }
  }
  if (!out.architectures) out.architectures = [defaultArchitecture(config)];
  return out;
}

function defaultArchitecture(config: DecoderConfig): string {
  switch (config.modelType) {
    case 'gpt2':
      return 'GPT2LMHeadModel';
    case 'llama':
      return 'LlamaForCausalLM';
  }
}

export function saveConfig(folder: string, config: DecoderConfig): void {
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'config.json'), JSON.stringify(toHfJson(config), null, 2) + '\n');
}

/**
 * RoPE inverse frequencies, one per pair of head dimensions (length headDim / 2), as
 * transformers computes them for `default` and `llama3` rope types.
 */
export function ropeInverseFrequencies(config: LlamaConfig): Float64Array {
  const { theta, type, params } = config.rope;
  const half = config.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(theta, (2 * i) / config.headDim);
  if (type === 'default') return inv;
  if (type === 'llama3') {
    const factor = Number(params.factor);
    const low = Number(params.low_freq_factor);
    const high = Number(params.high_freq_factor);
    const oldLen = Number(params.original_max_position_embeddings);
    const lowWavelen = oldLen / low;
    const highWavelen = oldLen / high;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen > lowWavelen) inv[i] = inv[i] / factor;
      else if (wavelen >= highWavelen) {
        const smooth = (oldLen / wavelen - low) / (high - low);
        inv[i] = (1 - smooth) * (inv[i] / factor) + smooth * inv[i];
      }
    }
    return inv;
  }
  throw new Error(`rope type "${type}" is not supported; supported: default, llama3`);
}

// ---------------------------------------------------------------------------------------
// Checkpoint files: one model.safetensors, or shards listed in model.safetensors.index.json.

export interface CheckpointIndex {
  /** Shard file names (relative to the folder), in first-use order. */
  files: string[];
  /** Parameter name → shard file name. */
  weightMap: Map<string, string>;
  metadata: Json;
}

export const SINGLE_CHECKPOINT = 'model.safetensors';
export const CHECKPOINT_INDEX = 'model.safetensors.index.json';

/** Which safetensors files hold a folder's weights. */
export function readCheckpointIndex(folder: string): CheckpointIndex {
  const indexPath = join(folder, CHECKPOINT_INDEX);
  if (existsSync(indexPath)) {
    const json = JSON.parse(readFileSync(indexPath, 'utf8')) as { weight_map?: Record<string, string>; metadata?: Json };
    if (!json.weight_map) throw new Error(`${indexPath}: missing "weight_map"`);
    const weightMap = new Map(Object.entries(json.weight_map));
    const files = [...new Set(weightMap.values())];
    for (const f of files) {
      if (!existsSync(join(folder, f))) throw new Error(`${indexPath} lists ${f}, which is not in ${folder}`);
    }
    return { files, weightMap, metadata: json.metadata ?? {} };
  }
  if (existsSync(join(folder, SINGLE_CHECKPOINT))) {
    return { files: [SINGLE_CHECKPOINT], weightMap: new Map(), metadata: {} };
  }
  throw new Error(`no ${SINGLE_CHECKPOINT} or ${CHECKPOINT_INDEX} in ${folder}`);
}

/**
 * Plan shards for saving: tensors in the given order, a new shard whenever the next one
 * would exceed maxShardBytes. Returns one group when everything fits (save as model.safetensors).
 */
export function planShards(sizes: Array<[name: string, bytes: number]>, maxShardBytes: number): string[][] {
  const shards: string[][] = [];
  let cur: string[] = [];
  let curBytes = 0;
  for (const [name, bytes] of sizes) {
    if (cur.length && curBytes + bytes > maxShardBytes) {
      shards.push(cur);
      cur = [];
      curBytes = 0;
    }
    cur.push(name);
    curBytes += bytes;
  }
  if (cur.length) shards.push(cur);
  return shards;
}

export function shardFileName(i: number, n: number): string {
  const pad = (x: number) => String(x).padStart(5, '0');
  return `model-${pad(i + 1)}-of-${pad(n)}.safetensors`;
}

export function writeCheckpointIndex(folder: string, shards: string[][], totalSizeBytes: number): void {
  const weight_map: Record<string, string> = {};
  shards.forEach((names, i) => {
    for (const n of names) weight_map[n] = shardFileName(i, shards.length);
  });
  const sorted = Object.fromEntries(Object.entries(weight_map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  writeFileSync(
    join(folder, CHECKPOINT_INDEX),
    JSON.stringify({ metadata: { total_size: totalSizeBytes }, weight_map: sorted }, null, 2) + '\n',
  );
}
