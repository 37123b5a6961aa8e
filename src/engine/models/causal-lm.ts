// Decoder-only causal LMs (GPT-2, LLaMA): what the families share.
//
// A family (models/gpt2, models/llama) supplies its parameter list, how positions enter
// (learned position ids or RoPE cos/sin) and its layer wiring; everything else lives here:
// causal self-attention with grouped KV heads and a KV cache, LoRA on projections, the
// two graphs (full sequence: logits + loss + gradients; cached: last-position logits +
// new keys/values), and CausalLMModel, which holds the weights and runs both.
//
// Dimension letters: B batch, T new positions, P cached positions, S = P + T key positions,
// C hidden, H query heads, G KV heads (H = G·R), D head size, V vocabulary.
//
// KV cache layout: per layer, keys as [B, G, D, S_max] (already transposed for q·kᵀ) and
// values as [B, G, S_max, D], preallocated for the whole generation. Each step feeds the
// full buffers (zero-copy) and attends in two parts, cached and new positions, joined only
// in the [.., T, S_max + T] scores: the cache is never concatenated, transposed or copied
// inside the graph. The graph outputs just the new keys [B,G,D,T] and values [B,G,T,D],
// which the host writes at the current length; unused slots are masked by the bias.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Graph, gradients, Tensor as TensorValue } from '../graph/index.js';
import type { GraphOptions, Tensor } from '../graph/index.js';
import { planShards, readCheckpointIndex, saveConfig, shardFileName, SINGLE_CHECKPOINT, writeCheckpointIndex, type DecoderConfig } from '../io/config.js';
import { readSafetensors, writeSafetensors, type NamedTensor } from '../io/safetensors.js';
import * as op from '../ops/index.js';
import { Session, type Device, type HostTensor } from '../runtime/index.js';
import type { CausalLM, StepOutput } from '../generation/generate.js';
import { Rng } from '../runtime/rng.js';
import { assertNotFrozen, weightConstants } from './frozen.js';
import { graphOptionsFor } from './graph-options.js';
import { createDeviceTraining, deviceTrainingKind, type DeviceTraining } from '../train/device-training.js';

export interface ParamSpec {
  name: string;
  shape: number[];
  init: 'normal' | 'zeros' | 'ones';
  /** Std multiplier for 'normal' (GPT-2 scales residual projections by 1/√(2·layers)). */
  scale?: number;
}

/** A projection that may carry a LoRA adapter: torch Linear ([out, in]) or GPT-2 Conv1D ([in, out]). */
export interface ProjectionSpec {
  name: string;
  kind: 'linear' | 'conv1d';
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
}

export interface LoraSettings {
  r: number;
  alpha: number;
  /** Module suffixes (q_proj, c_attn, ...) that get adapters. */
  targetModules: string[];
  /** alpha / r (alpha / √r with rsLoRA). */
  scaling: number;
}

export interface LoraTarget {
  /** The projection's name without ".weight", e.g. model.layers.0.self_attn.q_proj. */
  module: string;
  a: ParamSpec; // [r, in]
  b: ParamSpec; // [out, r]
}

/** Graph inputs shared by the families' builders. */
export interface DecoderInputs {
  ids: Tensor; // int64 [B,T]
  /** 0 where attending is allowed, a large negative elsewhere. [B,1,T,S] */
  bias: Tensor;
  /** Family-specific position inputs by name (position_ids, or rope_cos/rope_sin). */
  positions: Record<string, Tensor>;
  /** Cached mode: past keys [B,G,D,P] and values [B,G,P,D] per layer. */
  past?: Array<{ k: Tensor; v: Tensor }>;
  /** Cached mode: int64 [2] = [P, T], to split attention weights into cached and new parts. */
  kvSplit?: Tensor;
}

export interface DecoderBuild {
  g: Graph;
  w: (name: string) => Tensor;
  inputs: DecoderInputs;
  /** Cached mode: collects each layer's new keys [B,G,D,T] and values [B,G,T,D]. */
  present?: Array<{ k: Tensor; v: Tensor }>;
  lora: Map<string, LoraTarget>;
  loraScaling: number;
}

export interface DecoderFamily<C extends DecoderConfig = DecoderConfig> {
  modelType: C['modelType'];
  architecture: string;
  paramSpecs(config: C): ParamSpec[];
  projections(config: C): ProjectionSpec[];
  numKvHeads(config: C): number;
  headDim(config: C): number;
  /** Declare the position inputs (B,T symbolic). */
  positionInputs(g: Graph, config: C): Record<string, Tensor>;
  /** Feed them for positions [B*T]. */
  positionFeeds(config: C, positions: Int32Array, B: number, T: number): Record<string, HostTensor>;
  /** The hidden states [B,T,C] after the final norm. */
  body(b: DecoderBuild, config: C): Tensor;
  /** Logits from final hidden states [..., C] → [..., V]. */
  head(b: DecoderBuild, config: C, h: Tensor): Tensor;
}

// ---------------------------------------------------------------------------------------
// Building blocks used by the families.

/** x @ W (+ b), with the LoRA term scaling · (x Aᵀ) Bᵀ when the module has an adapter. */
export function projection(b: DecoderBuild, x: Tensor, spec: ProjectionSpec): Tensor {
  const W = b.w(`${spec.name}.weight`);
  const bias = spec.bias ? b.w(`${spec.name}.bias`) : undefined;
  // The fused linear op: one Gemm over all tokens, bias included. Conv1D stores W as
  // [in, out]: the Gemm reads it as it is (no per-step transpose of the weight or its gradient).
  let y: Tensor;
  if (spec.kind === 'linear') y = op.linear(x, W, bias);
  else if (!b.inputs.past) y = op.linear(x, W, bias, { inOut: true });
  else {
    y = op.matmul(x, W);
    if (bias) y = op.add(y, bias);
  }
  const t = b.lora.get(spec.name);
  if (t) {
    const down = op.matmul(x, b.w(t.a.name), { transB: true }); // [..., r]
    y = op.add(y, op.mul(op.matmul(down, b.w(t.b.name), { transB: true }), b.loraScaling));
  }
  return y;
}

/**
 * Causal self-attention over projected q [B,T,H·D], k and v [B,T,G·D].
 * `rope(x)` rotates queries ([B,G,R,T,D], rank 5, or [B,H,T,D] when G = H) and keys ([B,G,T,D]).
 * Query heads h = g·R + r share KV head g (transformers' repeat_kv order); instead of
 * repeating K and V, queries are grouped and K/V broadcast over the group axis.
 */
export function causalSelfAttention(
  b: DecoderBuild,
  layer: number,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  dims: { H: number; G: number; D: number; scale: number },
  rope?: (x: Tensor) => Tensor,
): Tensor {
  const { H, G, D, scale } = dims;
  const R = H / G;
  // Queries [B,G,R,T,D] with K/V broadcast over the group axis R; without grouped-query
  // attention (R = 1: GPT-2, LLaMA without GQA) plain [B,H,T,D], which saves an Unsqueeze per
  // K/V use and runs 4-D transposes (fewer nodes per decode step).
  const grouped = R > 1;
  const heads = (x: Tensor): Tensor => (grouped ? op.unsqueeze(x, [2]) : x); // K/V [B,G,·,·] as the queries' rank
  let qh = grouped
    ? op.transpose(op.reshape(op.mul(q, scale), [0, 0, G, R, D]), [0, 2, 3, 1, 4]) // [B,G,R,T,D]
    : op.transpose(op.reshape(op.mul(q, scale), [0, 0, H, D]), [0, 2, 1, 3]); // [B,H,T,D]
  let k4 = op.transpose(op.reshape(k, [0, 0, G, D]), [0, 2, 1, 3]); // [B,G,T,D]
  const v4 = op.transpose(op.reshape(v, [0, 0, G, D]), [0, 2, 1, 3]); // [B,G,T,D]
  if (rope) {
    qh = rope(qh);
    k4 = rope(k4);
  }
  const bias = grouped ? op.unsqueeze(b.inputs.bias, [1]) : b.inputs.bias; // [B,1,(1,)T,S]
  let ctx: Tensor;
  if (b.inputs.past && b.present && b.inputs.kvSplit) {
    // Inference only (no gradient needed): cached and new positions are scored separately
    // and joined in the small score tensor, so the cache itself is only read.
    const kT = op.transpose(k4, [0, 1, 3, 2]); // [B,G,D,T]
    b.present.push({ k: kT, v: v4 });
    const past = b.inputs.past[layer]!;
    const sPast = op.matmul(qh, heads(past.k)); // [B,G,(R,)T,P]
    const sNew = op.matmul(qh, heads(kT)); // [B,G,(R,)T,T]
    const att = op.softmax(op.add(op.concat([sPast, sNew], -1), bias), -1); // [B,G,(R,)T,P+T]
    const [pPast, pNew] = splitLast(att, b.inputs.kvSplit, ['P', 'T']);
    ctx = op.add(op.matmul(pPast, heads(past.v)), op.matmul(pNew, heads(v4))); // [B,G,(R,)T,D]
  } else {
    // q kᵀ with k as it is (FusedMatMul transB on the CPU): no Transpose of k, nor of its gradient
    const att = op.softmax(op.add(op.matmul(qh, heads(k4), { transB: true }), bias), -1); // [B,G,(R,)T,T]
    ctx = op.matmul(att, heads(v4)); // [B,G,(R,)T,D]
  }
  const back = grouped ? op.transpose(ctx, [0, 3, 1, 2, 4]) : op.transpose(ctx, [0, 2, 1, 3]); // [B,T,G,(R,)D]
  return op.reshape(back, [0, 0, H * D]); // [B,T,H·D]
}

/** ONNX Split of the last axis by run-time sizes (inference graphs only: no gradient rule). */
function splitLast(x: Tensor, sizes: Tensor, names: [string, string]): [Tensor, Tensor] {
  const g = x.graph;
  const outs = g.emit('Split', [x, sizes], 2, { axis: x.rank - 1 });
  return outs.map((n, i) => new TensorValue(g, n, x.dtype, [...x.shape.slice(0, -1), names[i]!], null)) as [Tensor, Tensor];
}

// ---------------------------------------------------------------------------------------
// Graphs.

export interface DecoderGraph {
  graph: Graph;
  /** Output names to serialize: training = loss + grad:<param>; inference = logits (+ new k/v). */
  outputs: string[];
}

function buildContext<C extends DecoderConfig>(
  family: DecoderFamily<C>,
  config: C,
  lora: { settings: LoraSettings; targets: LoraTarget[] } | null,
  cached: boolean,
  options: GraphOptions,
): { build: DecoderBuild; weights: Map<string, Tensor>; specs: ParamSpec[] } {
  const g = new Graph(`${config.modelType}-${cached ? 'cached' : 'full'}`, options);
  const specs = [...family.paramSpecs(config), ...(lora ? lora.targets.flatMap((t) => [t.a, t.b]) : [])];
  const weights = new Map<string, Tensor>();
  for (const s of specs) weights.set(s.name, g.input(s.name, 'float32', s.shape));
  const ids = g.input('input_ids', 'int64', ['B', 'T']);
  // S = T without a cache; P + T with one (the symbolic name concat gives the key axis).
  const bias = g.input('attn_bias', 'float32', ['B', 1, 'T', cached ? 'P+T' : 'T']);
  const positions = family.positionInputs(g, config);
  const G = family.numKvHeads(config);
  const D = family.headDim(config);
  const past = cached
    ? Array.from({ length: config.numLayers }, (_, i) => ({
        k: g.input(`past_k.${i}`, 'float32', ['B', G, D, 'P']),
        v: g.input(`past_v.${i}`, 'float32', ['B', G, 'P', D]),
      }))
    : undefined;
  const kvSplit = cached ? g.input('kv_split', 'int64', [2]) : undefined;
  const build: DecoderBuild = {
    g,
    w: (name) => {
      const t = weights.get(name);
      if (!t) throw new Error(`${config.modelType} graph: no parameter '${name}'`);
      return t;
    },
    inputs: { ids, bias, positions, past, kvSplit },
    present: cached ? [] : undefined,
    lora: new Map((lora?.targets ?? []).map((t) => [t.module, t])),
    loraScaling: lora?.settings.scaling ?? 0,
  };
  return { build, weights, specs };
}

/** Full-sequence graph: logits [B,T,V]; loss over labels (already shifted) and the gradients of `trainable`. */
export function buildTrainingGraph<C extends DecoderConfig>(
  family: DecoderFamily<C>,
  config: C,
  lora: { settings: LoraSettings; targets: LoraTarget[] } | null,
  trainable: string[],
  options: GraphOptions = {},
): DecoderGraph {
  const { build, weights } = buildContext(family, config, lora, false, options);
  const labels = build.g.input('labels', 'int64', ['B', 'T']);
  const logits = family.head(build, config, family.body(build, config)); // [B,T,V]
  build.g.output(logits, 'logits');
  const loss = op.softmaxCrossEntropy(logits, labels);
  build.g.output(loss, 'loss');
  const grads = gradients(loss, trainable.map((n) => weights.get(n)!));
  trainable.forEach((n, i) => build.g.output(grads[i]!, `grad:${n}`));
  return { graph: build.g, outputs: ['loss', ...trainable.map((n) => `grad:${n}`)] };
}

/** Cached graph: logits of the last position [B,V], and new_k.i [B,G,D,T] / new_v.i [B,G,T,D] per layer. */
export function buildCachedGraph<C extends DecoderConfig>(
  family: DecoderFamily<C>,
  config: C,
  lora: { settings: LoraSettings; targets: LoraTarget[] } | null,
  options: GraphOptions = {},
): DecoderGraph {
  const { build } = buildContext(family, config, lora, true, options);
  const h = family.body(build, config); // [B,T,C]
  const last = op.reshape(op.slice(h, 1, -1, 2 ** 62), [0, config.hiddenSize]); // [B,C]
  build.g.output(family.head(build, config, last), 'logits');
  const names = ['logits'];
  build.present!.forEach(({ k, v }, i) => {
    build.g.output(k, `new_k.${i}`);
    build.g.output(v, `new_v.${i}`);
    names.push(`new_k.${i}`, `new_v.${i}`);
  });
  return { graph: build.g, outputs: names };
}

// ---------------------------------------------------------------------------------------
// The model: weights + sessions + KV cache.

/** Additive mask value where attention is not allowed (torch.finfo(float32).min, as transformers). */
export const MASKED = -3.4028234663852886e38;

export interface CausalBatch {
  batchSize: number;
  seqLen: number;
  /** Row-major [batchSize, seqLen]. */
  inputIds: ArrayLike<number>;
  /** 1 = attend, 0 = padding (default all 1). */
  attentionMask?: ArrayLike<number>;
  /** Unshifted targets as in transformers (labels[t] is predicted from tokens ≤ t−1); -100 ignored. */
  labels?: ArrayLike<number>;
}

export interface CausalLMOptions {
  device?: Device;
  intraOpThreads?: number;
  /** com.microsoft FusedMatMul for x @ Wᵀ (default: true on cpu). */
  contribOps?: boolean;
  /** Inference only: the weights (an adapter's included) are constants of the logits and KV-cache sessions, and training throws (models/frozen.ts). */
  frozen?: boolean;
}

export interface LossAndGrads {
  loss: number;
  /** Gradient per trainable parameter; the buffers are reused by the next call. */
  grads: Map<string, Float32Array>;
}

export interface KvCache {
  batch: number;
  /** Cached positions. */
  length: number;
  /** Allocated positions (S_max); grows by doubling when a step needs more. */
  capacity: number;
  /** Keys per layer, [B,G,D,capacity]. */
  k: Float32Array[];
  /** Values per layer, [B,G,capacity,D]. */
  v: Float32Array[];
  /** mask[b][s] for s < length. */
  mask: number[][];
  /** Position id of each row's next token. */
  nextPosition: number[];
}

/** The decoder's sessions, named for their placement reports. */
const SESSION_NAMES = { logits: 'decoder logits', train: 'decoder training step', cached: 'decoder step with a KV cache (generation)' } as const;

export class CausalLMModel<C extends DecoderConfig = DecoderConfig> implements CausalLM<KvCache> {
  readonly specs: ParamSpec[];
  readonly params: Map<string, Float32Array>;
  lora: { settings: LoraSettings; targets: LoraTarget[] } | null = null;
  /** 'all' trains every base parameter (and adapters); 'lora' only the adapters. */
  trainable: 'all' | 'lora' = 'all';
  private fullGraph?: { key: string; g: DecoderGraph };
  private sessions = new Map<string, Session>();
  private gradBuffers = new Map<string, Float32Array>();

  constructor(
    readonly family: DecoderFamily<C>,
    readonly config: C,
    params: Map<string, Float32Array>,
    readonly options: CausalLMOptions = {},
  ) {
    this.specs = family.paramSpecs(config);
    for (const s of this.specs) {
      const p = params.get(s.name);
      const n = s.shape.reduce((a, c) => a * c, 1);
      if (!p) throw new Error(`missing tensor '${s.name}' (expected shape [${s.shape}])`);
      if (p.length !== n) throw new Error(`tensor '${s.name}' has ${p.length} values; expected shape [${s.shape}] (${n} values)`);
    }
    this.params = params;
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  get device(): Device {
    return this.options.device ?? 'cpu';
  }

  /** Fresh weights (transformers' init: normal(0, initializer_range), norms 1, biases 0), seeded. */
  static fromConfig<C extends DecoderConfig>(family: DecoderFamily<C>, config: C, opts: CausalLMOptions & { seed?: number } = {}): CausalLMModel<C> {
    const rng = Rng.fromSeed(opts.seed ?? 0, 'init');
    const std = Number(config.raw.initializer_range ?? 0.02);
    const params = new Map<string, Float32Array>();
    for (const s of family.paramSpecs(config)) {
      const a = new Float32Array(s.shape.reduce((x, y) => x * y, 1));
      if (s.init === 'ones') a.fill(1);
      else if (s.init === 'normal') for (let i = 0; i < a.length; i++) a[i] = rng.nextNormal() * std * (s.scale ?? 1);
      params.set(s.name, a);
    }
    return new CausalLMModel(family, config, params, opts);
  }

  /** Load weights from model.safetensors or the shards of model.safetensors.index.json. */
  static async fromPretrained<C extends DecoderConfig>(family: DecoderFamily<C>, config: C, dir: string, opts: CausalLMOptions = {}): Promise<CausalLMModel<C>> {
    const tensors = new Map<string, NamedTensor>();
    for (const f of readCheckpointIndex(dir).files) for (const [k, t] of await readSafetensors(join(dir, f))) tensors.set(k, t);
    const params = new Map<string, Float32Array>();
    for (const s of family.paramSpecs(config)) {
      const t = tensors.get(s.name) ?? (s.name === 'lm_head.weight' ? undefined : tensors.get(s.name.replace(/^transformer\./, '')));
      if (!t) throw new Error(`${dir}: missing tensor '${s.name}' (expected shape [${s.shape}])`);
      if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
        throw new Error(`${dir}: tensor '${s.name}' has shape [${t.shape}]; expected [${s.shape}]`);
      }
      if (!(t.data instanceof Float32Array)) throw new Error(`${dir}: tensor '${s.name}' is not a float tensor`);
      params.set(s.name, t.data);
    }
    return new CausalLMModel(family, config, params, opts);
  }

  /** Attach (or replace) a LoRA adapter; its weights join `params`. Sessions are rebuilt. */
  setLora(settings: LoraSettings, targets: LoraTarget[], weights: Map<string, Float32Array>): void {
    for (const t of targets) {
      for (const s of [t.a, t.b]) {
        const wgt = weights.get(s.name);
        if (!wgt || wgt.length !== s.shape[0]! * s.shape[1]!) throw new Error(`LoRA weight '${s.name}' is missing or not [${s.shape}]`);
        this.params.set(s.name, wgt);
      }
    }
    this.lora = { settings, targets };
    this.invalidate();
  }

  /** Drop the adapter (its weights leave `params`). */
  removeLora(): void {
    for (const t of this.lora?.targets ?? []) {
      this.params.delete(t.a.name);
      this.params.delete(t.b.name);
    }
    this.lora = null;
    this.trainable = 'all';
    this.invalidate();
  }

  private invalidate(): void {
    for (const s of this.sessions.values()) void s.release();
    this.sessions.clear();
    this.fullGraph = undefined;
  }

  /** Names of the parameters lossAndGrads differentiates. */
  trainableNames(): string[] {
    const loraNames = (this.lora?.targets ?? []).flatMap((t) => [t.a.name, t.b.name]);
    return this.trainable === 'lora' ? loraNames : [...this.specs.map((s) => s.name), ...loraNames];
  }

  /** Names and shapes of the parameters lossAndGrads differentiates. */
  trainableSpecs(): Array<{ name: string; shape: number[] }> {
    const byName = new Map(this.allSpecs().map((s) => [s.name, s]));
    return this.trainableNames().map((name) => byName.get(name)!);
  }

  private allSpecs(): Array<{ name: string; shape: number[] }> {
    return [...this.specs, ...(this.lora?.targets ?? []).flatMap((t) => [t.a, t.b])];
  }

  private graphOptions(): GraphOptions {
    return graphOptionsFor(this.device, this.options.contribOps);
  }

  private getFullGraph(): DecoderGraph {
    const key = this.trainableNames().join('|');
    if (this.fullGraph?.key !== key) {
      this.fullGraph = { key, g: buildTrainingGraph(this.family, this.config, this.lora, this.trainableNames(), this.graphOptions()) };
    }
    return this.fullGraph.g;
  }

  private async session(kind: keyof typeof SESSION_NAMES): Promise<Session> {
    const key = kind === 'train' ? `train:${this.trainableNames().join('|')}` : kind;
    let s = this.sessions.get(key);
    if (!s) {
      let bytes: Uint8Array;
      const constants = kind === 'train' ? undefined : weightConstants(this.options.frozen, this.params);
      if (kind === 'cached') {
        const cg = buildCachedGraph(this.family, this.config, this.lora, this.graphOptions());
        bytes = cg.graph.toBytes(cg.outputs, { keepAllInputs: false, constants });
      } else {
        const fg = this.getFullGraph();
        bytes = fg.graph.toBytes(kind === 'logits' ? ['logits'] : fg.outputs, { keepAllInputs: false, constants });
      }
      // training without onnxruntime's memory pattern (see Session)
      s = await Session.create(bytes, {
        device: this.device,
        ...(this.options.intraOpThreads ? { intraOpThreads: this.options.intraOpThreads } : {}),
        memoryPattern: kind !== 'train',
        name: SESSION_NAMES[kind],
      });
      this.sessions.set(key, s);
    }
    return s;
  }

  private weightFeeds(session: Session): Record<string, HostTensor> {
    const f: Record<string, HostTensor> = {};
    const wanted = new Set(session.inputNames);
    for (const s of this.allSpecs()) if (wanted.has(s.name)) f[s.name] = { data: this.params.get(s.name)!, shape: s.shape };
    return f;
  }

  private checkIds(ids: ArrayLike<number>): void {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!(id >= 0 && id < this.config.vocabSize)) throw new Error(`token id ${id} at position ${i} is outside the vocabulary (size ${this.config.vocabSize})`);
    }
  }

  /** Feeds of a full-sequence pass; positions 0..T-1 as transformers' forward without position_ids. */
  private batchFeeds(batch: CausalBatch, withLabels: boolean): Record<string, HostTensor> {
    const { batchSize: B, seqLen: T } = batch;
    const n = B * T;
    if (batch.inputIds.length !== n) throw new Error(`batch.inputIds has ${batch.inputIds.length} values; expected batchSize×seqLen = ${n}`);
    if (T > this.config.maxPositionEmbeddings) throw new Error(`sequence length ${T} exceeds max_position_embeddings ${this.config.maxPositionEmbeddings}`);
    this.checkIds(batch.inputIds);
    const mask = batch.attentionMask;
    const bias = new Float32Array(B * T * T);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++)
        for (let s = 0; s < T; s++) bias[(b * T + t) * T + s] = s <= t && (!mask || mask[b * T + s]) ? 0 : MASKED;
    const positions = new Int32Array(n);
    for (let i = 0; i < n; i++) positions[i] = i % T;
    const f: Record<string, HostTensor> = {
      input_ids: { data: BigInt64Array.from(Array.from(batch.inputIds, (x) => BigInt(x))), shape: [B, T] },
      attn_bias: { data: bias, shape: [B, 1, T, T] },
      ...this.family.positionFeeds(this.config, positions, B, T),
    };
    if (withLabels) {
      if (!batch.labels || batch.labels.length !== n) throw new Error('batch.labels is required for loss and gradients (batchSize×seqLen values, -100 = ignored)');
      // Shift: position t predicts labels[t+1]; the last position predicts nothing.
      const shifted = new BigInt64Array(n);
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) shifted[b * T + t] = BigInt(t + 1 < T ? batch.labels[b * T + t + 1]! : -100);
      f.labels = { data: shifted, shape: [B, T] };
    }
    return f;
  }

  /** Logits [B, T, V] for every position. */
  async forward(batch: CausalBatch): Promise<Float32Array> {
    const s = await this.session('logits');
    const out = await s.run({ ...this.batchFeeds(batch, false), ...this.weightFeeds(s) }, ['logits']);
    return out.logits!.data as Float32Array;
  }

  /** Mean next-token cross-entropy and its gradient for every trainable parameter. */
  async lossAndGrads(batch: CausalBatch): Promise<LossAndGrads> {
    assertNotFrozen(this.options.frozen);
    const s = await this.session('train');
    const names = this.trainableNames();
    const into: Record<string, HostTensor> = {};
    const shapes = new Map(this.allSpecs().map((x) => [x.name, x.shape]));
    for (const n of names) {
      let buf = this.gradBuffers.get(n);
      if (!buf) this.gradBuffers.set(n, (buf = new Float32Array(this.params.get(n)!.length)));
      into[`grad:${n}`] = { data: buf, shape: shapes.get(n)! };
    }
    const outNames = ['loss', ...names.map((n) => `grad:${n}`)];
    const out = await s.run({ ...this.batchFeeds(batch, true), ...this.weightFeeds(s) }, outNames, into);
    const grads = new Map<string, Float32Array>();
    for (const n of names) {
      const buf = this.gradBuffers.get(n)!;
      const got = out[`grad:${n}`]!.data as Float32Array;
      if (got !== buf) buf.set(got); // Session.run returns the preallocated buffer when written in place
      grads.set(n, buf);
    }
    return { loss: Number((out.loss!.data as Float32Array)[0]), grads };
  }

  /**
   * Training with AdamW in the graph and the trainable weights and moments where the device works
   * (train/device-training.ts): by default as the model's device calls for (WebGPU resident,
   * CUDA looped; null on the CPU, which keeps the host's AdamW). The weights that do not train
   * (a LoRA adapter's base) are constants of the session, sent to the device once.
   */
  async deviceTraining(kind = deviceTrainingKind(this.device)): Promise<DeviceTraining<CausalBatch> | null> {
    assertNotFrozen(this.options.frozen);
    if (!kind) return null;
    const names = this.trainableNames();
    const training = new Set(names);
    const { graph } = buildTrainingGraph(this.family, this.config, this.lora, names, this.graphOptions()); // a copy of its own: the update is appended to it
    return createDeviceTraining(kind, {
      graph,
      trainable: this.trainableSpecs().map((s) => ({ ...s, grad: `grad:${s.name}` })),
      fixed: this.allSpecs().filter((s) => !training.has(s.name)),
      params: this.params,
      batchFeeds: (batch: CausalBatch) => this.batchFeeds(batch, true),
      session: { device: this.device, ...(this.options.intraOpThreads ? { intraOpThreads: this.options.intraOpThreads } : {}), name: SESSION_NAMES.train },
    });
  }

  // --- generation with a KV cache (the CausalLM interface of generate()) ---

  private newCache(B: number, capacity: number): KvCache {
    const size = B * this.family.numKvHeads(this.config) * this.family.headDim(this.config) * capacity;
    const L = this.config.numLayers;
    return {
      batch: B,
      length: 0,
      capacity,
      k: Array.from({ length: L }, () => new Float32Array(size)),
      v: Array.from({ length: L }, () => new Float32Array(size)),
      mask: Array.from({ length: B }, () => []),
      nextPosition: new Array<number>(B).fill(0),
    };
  }

  /** The cache of a smaller batch: rows `rows` of this one, in that order (generate() drops finished rows). */
  keepRows(cache: KvCache, rows: number[]): KvCache {
    const block = this.family.numKvHeads(this.config) * this.family.headDim(this.config) * cache.capacity;
    const pick = (all: Float32Array): Float32Array => {
      const kept = new Float32Array(rows.length * block);
      rows.forEach((b, i) => kept.set(all.subarray(b * block, (b + 1) * block), i * block));
      return kept;
    };
    return {
      batch: rows.length,
      length: cache.length,
      capacity: cache.capacity,
      k: cache.k.map(pick),
      v: cache.v.map(pick),
      mask: rows.map((b) => cache.mask[b]!),
      nextPosition: rows.map((b) => cache.nextPosition[b]!),
    };
  }

  /** Reallocate the cache for `capacity` positions, keeping the first `length`. */
  private grow(cache: KvCache, capacity: number): void {
    const rows = cache.batch * this.family.numKvHeads(this.config);
    const D = this.family.headDim(this.config);
    const old = cache.capacity;
    for (let l = 0; l < cache.k.length; l++) {
      const k = new Float32Array(rows * D * capacity);
      const v = new Float32Array(rows * capacity * D);
      for (let r = 0; r < rows * D; r++) k.set(cache.k[l]!.subarray(r * old, r * old + cache.length), r * capacity);
      for (let r = 0; r < rows; r++) v.set(cache.v[l]!.subarray(r * old * D, (r * old + cache.length) * D), r * capacity * D);
      cache.k[l] = k;
      cache.v[l] = v;
    }
    cache.capacity = capacity;
  }

  private async runCached(cache: KvCache, ids: number[][], newMask: number[][], positions: Int32Array): Promise<StepOutput<KvCache>> {
    const B = cache.batch;
    const T = ids[0]!.length;
    const L0 = cache.length;
    const G = this.family.numKvHeads(this.config);
    const D = this.family.headDim(this.config);
    if (L0 + T > cache.capacity) this.grow(cache, Math.max(L0 + T, cache.capacity * 2));
    const cap = cache.capacity;
    // The whole buffer, its unused positions masked. An empty cache is fed as one masked position
    // of zeros, not as zero-length tensors: onnxruntime's WebGPU kernels crash the process on
    // those (1.30, seen on Mesa's lavapipe adapter).
    const P = L0 === 0 ? 1 : cap;
    for (let b = 0; b < B; b++) cache.mask[b]!.push(...newMask[b]!);
    const S = P + T;
    const bias = new Float32Array(B * T * S).fill(MASKED);
    for (let b = 0; b < B; b++) {
      const m = cache.mask[b]!;
      for (let t = 0; t < T; t++) {
        const row = (b * T + t) * S;
        for (let s = 0; s < L0; s++) if (m[s]) bias[row + s] = 0;
        for (let u = 0; u <= t; u++) if (m[L0 + u]) bias[row + P + u] = 0;
      }
    }
    const session = await this.session('cached');
    const flatIds = ids.flat();
    this.checkIds(flatIds);
    const feeds: Record<string, HostTensor> = {
      input_ids: { data: BigInt64Array.from(flatIds, (x) => BigInt(x)), shape: [B, T] },
      attn_bias: { data: bias, shape: [B, 1, T, S] },
      kv_split: { data: BigInt64Array.from([BigInt(P), BigInt(T)]), shape: [2] },
      ...this.family.positionFeeds(this.config, positions, B, T),
      ...this.weightFeeds(session),
    };
    const empty = L0 === 0 ? new Float32Array(B * G * D) : undefined;
    for (let l = 0; l < this.config.numLayers; l++) {
      feeds[`past_k.${l}`] = { data: empty ?? cache.k[l]!, shape: [B, G, D, P] };
      feeds[`past_v.${l}`] = { data: empty ?? cache.v[l]!, shape: [B, G, P, D] };
    }
    const out = await session.run(feeds);
    const rows = B * G;
    for (let l = 0; l < this.config.numLayers; l++) {
      const nk = out[`new_k.${l}`]!.data as Float32Array; // [B,G,D,T]
      const nv = out[`new_v.${l}`]!.data as Float32Array; // [B,G,T,D]
      const k = cache.k[l]!;
      const v = cache.v[l]!;
      for (let r = 0; r < rows * D; r++) for (let t = 0; t < T; t++) k[r * cap + L0 + t] = nk[r * T + t]!;
      for (let r = 0; r < rows; r++) v.set(nv.subarray(r * T * D, (r + 1) * T * D), (r * cap + L0) * D);
    }
    cache.length = L0 + T;
    return { logits: out.logits!.data as Float32Array, cache };
  }

  /**
   * Prompts [B][T] (left-padded) with mask [B][T]. Positions count attended tokens
   * (cumsum(mask) − 1, padding at 1), as transformers' generate() does.
   */
  async prefill(inputIds: number[][], attentionMask: number[][], options: { maxNewTokens?: number } = {}): Promise<StepOutput<KvCache>> {
    const B = inputIds.length;
    const T = inputIds[0]!.length;
    const cache = this.newCache(B, T + Math.max(1, options.maxNewTokens ?? 64));
    const positions = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      let c = 0;
      for (let t = 0; t < T; t++) {
        if (attentionMask[b]![t]) positions[b * T + t] = c++;
        else positions[b * T + t] = 1;
      }
      cache.nextPosition[b] = c;
    }
    return this.runCached(cache, inputIds, attentionMask, positions);
  }

  async decodeStep(nextIds: number[], cache: KvCache): Promise<StepOutput<KvCache>> {
    const positions = Int32Array.from(cache.nextPosition);
    for (let b = 0; b < cache.batch; b++) cache.nextPosition[b]!++;
    if (Math.max(...positions) >= this.config.maxPositionEmbeddings && this.config.modelType === 'gpt2') {
      throw new Error(`generation passed max_position_embeddings (${this.config.maxPositionEmbeddings}) of this GPT-2`);
    }
    return this.runCached(cache, nextIds.map((id) => [id]), nextIds.map(() => [1]), positions);
  }

  /**
   * Write config.json, generation_config.json and the weights (tied weights once, as
   * transformers saves them): one model.safetensors, or shards of at most maxShardBytes
   * with model.safetensors.index.json when the weights are larger.
   */
  async save(dir: string, opts: { maxShardBytes?: number } = {}): Promise<void> {
    await mkdir(dir, { recursive: true });
    saveConfig(dir, { ...this.config, raw: { ...this.config.raw, architectures: [this.family.architecture] } });
    const tensor = (name: string): NamedTensor => ({ data: this.params.get(name)!, shape: this.specs.find((s) => s.name === name)!.shape });
    const sizes = this.specs.map((s): [string, number] => [s.name, this.params.get(s.name)!.byteLength]);
    const total = sizes.reduce((a, [, b]) => a + b, 0);
    const shards = planShards(sizes, opts.maxShardBytes ?? Infinity);
    if (shards.length <= 1) {
      await writeSafetensors(join(dir, SINGLE_CHECKPOINT), Object.fromEntries(this.specs.map((s) => [s.name, tensor(s.name)])));
    } else {
      for (const [i, names] of shards.entries()) {
        await writeSafetensors(join(dir, shardFileName(i, shards.length)), Object.fromEntries(names.map((n) => [n, tensor(n)])));
      }
      writeCheckpointIndex(dir, shards, total);
    }
    const eos = this.config.eosTokenIds;
    const gen = { bos_token_id: this.config.bosTokenId, eos_token_id: eos.length === 1 ? eos[0] : eos.length ? eos : null, pad_token_id: this.config.padTokenId };
    await writeFile(join(dir, 'generation_config.json'), JSON.stringify(gen, null, 2) + '\n');
  }

  /** Close the onnxruntime sessions (weights stay; the next call rebuilds them). */
  async dispose(): Promise<void> {
    for (const s of this.sessions.values()) await s.release();
    this.sessions.clear();
  }
}

/** Read JSON, with the path in the error. */
export async function readJson(path: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
