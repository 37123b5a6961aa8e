// EncoderModel: a BERT or RoBERTa encoder with a token-classification or masked-LM head,
// weights held as Float32Arrays (HF names), run through two onnxruntime sessions: an
// inference graph (logits only) and a training graph (loss + every gradient).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../../io/safetensors.js';
import type { NamedTensor } from '../../io/safetensors.js';
import type { Tensor } from '../../graph/index.js';
import * as op from '../../ops/index.js';
import { Rng } from '../../runtime/rng.js';
import { Session } from '../../runtime/session.js';
import type { Device, HostTensor } from '../../runtime/session.js';
import { createDeviceTraining, deviceTrainingKind, type DeviceTraining } from '../../train/device-training.js';
import { encoderConfigJson, parseEncoderConfig } from './config.js';
import type { EncoderConfig, EncoderModelType } from './config.js';
import { assertNotFrozen, weightConstants } from '../frozen.js';
import { graphOptionsFor } from '../graph-options.js';
import { ENCODER_HEADS, buildEncoderGraph, encoderParamSpecs, prefixOf } from './encoder.js';
import type { EncoderGraph, EncoderHead, ParamSpec } from './encoder.js';

/** One batch as plain data: row-major [batchSize, seqLen] arrays. */
export interface EncoderBatch {
  batchSize: number;
  seqLen: number;
  inputIds: ArrayLike<number>;
  /** 1 = attend, 0 = padding (default all 1). */
  attentionMask?: ArrayLike<number>;
  tokenTypeIds?: ArrayLike<number>;
  /** Targets; -100 = ignored. Needed for loss/gradients. */
  labels?: ArrayLike<number>;
}

export interface EncoderOptions {
  head?: EncoderHead;
  device?: Device;
  intraOpThreads?: number;
  /** com.microsoft FusedMatMul for x @ Wᵀ (default: true on cpu, false elsewhere). */
  contribOps?: boolean;
  /** Seeds the dropout masks (default 0); the state is `model.dropoutRng.state`. */
  dropoutSeed?: number;
  /** Inference only: the weights are constants of the inference session, and training throws (models/frozen.ts). */
  frozen?: boolean;
}

export interface LossAndGrads {
  loss: number;
  /** Gradient per parameter name; the buffers are reused by the next call. */
  grads: Map<string, Float32Array>;
}

/** The Hugging Face class each model_type and head is saved as (config.json's architectures). */
export const ENCODER_ARCHITECTURES: Record<EncoderModelType, Record<EncoderHead, string>> = {
  bert: { 'token-classification': 'BertForTokenClassification', 'masked-lm': 'BertForMaskedLM' },
  roberta: { 'token-classification': 'RobertaForTokenClassification', 'masked-lm': 'RobertaForMaskedLM' },
};

export class EncoderModel {
  readonly head: EncoderHead;
  readonly specs: ParamSpec[];
  /** Parameters by HF name; update in place (the optimizer does). */
  readonly params: Map<string, Float32Array>;
  private graph?: EncoderGraph;
  private inferSession?: Session;
  private trainSession?: Session;
  private gradBuffers = new Map<string, Float32Array>();
  private maskBuffers = new Map<string, Uint8Array>();
  /** Draws the dropout masks of each training step; checkpoints save its state. */
  readonly dropoutRng: Rng;

  constructor(
    readonly config: EncoderConfig,
    params: Map<string, Float32Array>,
    readonly options: EncoderOptions = {},
  ) {
    this.head = options.head ?? 'token-classification';
    if (!ENCODER_HEADS.includes(this.head)) throw new Error(`unknown head '${this.head}'; supported: ${ENCODER_HEADS.join(', ')}`);
    this.specs = encoderParamSpecs(config, this.head);
    for (const s of this.specs) {
      const p = params.get(s.name);
      const n = s.shape.reduce((a, b) => a * b, 1);
      if (!p) throw new Error(`missing tensor '${s.name}' (expected shape [${s.shape}])`);
      if (p.length !== n) throw new Error(`tensor '${s.name}' has ${p.length} values; expected shape [${s.shape}] (${n} values)`);
    }
    this.params = params;
    this.dropoutRng = Rng.fromSeed(options.dropoutSeed ?? 0, 'dropout');
  }

  /** Fresh weights, HF-style init (normal(0, initializer_range), LayerNorm 1/0, biases 0), seeded. */
  static fromConfig(config: EncoderConfig, opts: EncoderOptions & { seed?: number } = {}): EncoderModel {
    const specs = encoderParamSpecs(config, opts.head ?? 'token-classification');
    const rng = Rng.fromSeed(opts.seed ?? 0, 'init');
    const std = Number(config.raw.initializer_range ?? 0.02);
    const params = new Map<string, Float32Array>();
    for (const s of specs) {
      const a = new Float32Array(s.shape.reduce((x, y) => x * y, 1));
      if (s.init === 'ones') a.fill(1);
      else if (s.init === 'normal') for (let i = 0; i < a.length; i++) a[i] = rng.nextNormal() * std;
      params.set(s.name, a);
    }
    // HF zeroes the padding row of the word embeddings
    const wte = params.get(`${prefixOf(config)}.embeddings.word_embeddings.weight`)!;
    wte.fill(0, config.padTokenId * config.hiddenSize, (config.padTokenId + 1) * config.hiddenSize);
    return new EncoderModel(config, params, opts);
  }

  /**
   * Load config.json + model.safetensors from a Hugging Face folder. A missing task head
   * (e.g. `classifier` when fine-tuning a pre-trained encoder) is freshly initialised when
   * `numLabels`/`id2label` are given; any other missing or misshapen tensor is an error.
   */
  static async fromPretrained(
    dir: string,
    opts: EncoderOptions & { id2label?: Record<number, string>; seed?: number } = {},
  ): Promise<EncoderModel> {
    const raw = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    if (opts.id2label) {
      raw.id2label = opts.id2label;
      raw.num_labels = Object.keys(opts.id2label).length;
    }
    const config = parseEncoderConfig(raw);
    const head = opts.head ?? 'token-classification';
    const tensors = await readSafetensors(join(dir, 'model.safetensors'));
    const prefix = prefixOf(config);
    const lookup = (name: string): NamedTensor | undefined => {
      const legacy = name.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta');
      const bare = name.startsWith(`${prefix}.`) ? name.slice(prefix.length + 1) : undefined;
      for (const n of [name, legacy, bare, bare && legacy.slice(prefix.length + 1)]) if (n && tensors.has(n)) return tensors.get(n);
      return undefined;
    };
    const fresh = EncoderModel.fromConfig(config, { ...opts, head });
    const params = new Map<string, Float32Array>();
    for (const s of fresh.specs) {
      const t = lookup(s.name);
      const isHead = !s.name.startsWith(`${prefix}.`);
      if (!t) {
        if (isHead && opts.id2label) {
          params.set(s.name, fresh.params.get(s.name)!);
          continue;
        }
        throw new Error(`${dir}: missing tensor '${s.name}' (expected shape [${s.shape}])${isHead ? '; pass id2label to initialise a new head' : ''}`);
      }
      if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
        if (isHead && opts.id2label) {
          // a new label set: the checkpoint's head does not fit, start it fresh (HF: ignore_mismatched_sizes)
          params.set(s.name, fresh.params.get(s.name)!);
          continue;
        }
        throw new Error(`${dir}: tensor '${s.name}' has shape [${t.shape}]; expected [${s.shape}]`);
      }
      if (!(t.data instanceof Float32Array)) throw new Error(`${dir}: tensor '${s.name}' is not a float tensor`);
      params.set(s.name, t.data);
    }
    return new EncoderModel(config, params, { ...opts, head });
  }

  get device(): Device {
    return this.options.device ?? 'cpu';
  }

  private getGraph(): EncoderGraph {
    this.graph ??= buildEncoderGraph(this.config, this.head, graphOptionsFor(this.device, this.options.contribOps));
    return this.graph;
  }

  private sessionOptions() {
    return { device: this.device, ...(this.options.intraOpThreads ? { intraOpThreads: this.options.intraOpThreads } : {}) };
  }

  /** The serialized models (e.g. to hand to a worker or inspect with netron). */
  onnxModels(): { inference: Uint8Array; training: Uint8Array } {
    const g = this.getGraph();
    return {
      inference: g.graph.toBytes(['logits'], { keepAllInputs: false }),
      training: g.graph.toBytes(g.lossOutputs, { keepAllInputs: false }),
    };
  }

  private feeds(batch: EncoderBatch, withLabels: boolean): Record<string, HostTensor> {
    const { batchSize: B, seqLen: T } = batch;
    const n = B * T;
    const check = (name: string, a: ArrayLike<number> | undefined): void => {
      if (a && a.length !== n) throw new Error(`batch.${name} has ${a.length} values; expected batchSize×seqLen = ${n}`);
    };
    check('inputIds', batch.inputIds);
    check('attentionMask', batch.attentionMask);
    check('tokenTypeIds', batch.tokenTypeIds);
    check('labels', batch.labels);
    const cfg = this.config;
    const ids = new BigInt64Array(n);
    const pos = new BigInt64Array(n);
    const types = new BigInt64Array(n);
    const mask = new Float32Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      const id = batch.inputIds[i]!;
      if (id < 0 || id >= cfg.vocabSize) throw new Error(`token id ${id} at position ${i} is outside the vocabulary (size ${cfg.vocabSize})`);
      ids[i] = BigInt(id);
      if (batch.tokenTypeIds) types[i] = BigInt(batch.tokenTypeIds[i]!);
      if (batch.attentionMask) mask[i] = batch.attentionMask[i]!;
    }
    if (cfg.modelType === 'roberta') {
      // RoBERTa: positions count non-padding tokens from padding_idx + 1; padding keeps padding_idx
      const pad = cfg.padTokenId;
      for (let b = 0; b < B; b++) {
        let c = 0;
        for (let t = 0; t < T; t++) {
          const i = b * T + t;
          if (batch.inputIds[i] !== pad) c++;
          pos[i] = BigInt(batch.inputIds[i] !== pad ? c + pad : pad);
        }
      }
      if (T + pad + 1 > cfg.maxPositions) {
        throw new Error(`sequence length ${T} exceeds the model's maximum of ${cfg.maxPositions - pad - 1} tokens (max_position_embeddings ${cfg.maxPositions} minus padding_idx + 1)`);
      }
    } else {
      if (T > cfg.maxPositions) throw new Error(`sequence length ${T} exceeds the model's maximum of ${cfg.maxPositions} tokens (max_position_embeddings)`);
      for (let i = 0; i < n; i++) pos[i] = BigInt(i % T);
    }
    const shape = [B, T];
    const f: Record<string, HostTensor> = {
      input_ids: { data: ids, shape },
      position_ids: { data: pos, shape },
      token_type_ids: { data: types, shape },
      attention_mask: { data: mask, shape },
    };
    if (withLabels) {
      if (!batch.labels) throw new Error('batch.labels is required for loss and gradients');
      f.labels = { data: BigInt64Array.from(Array.from(batch.labels, (v) => BigInt(v))), shape };
      if (this.head === 'masked-lm') {
        const at: bigint[] = [];
        for (let i = 0; i < n; i++) if (batch.labels[i] !== -100) at.push(BigInt(i));
        // no empty tensors in the head: with no labels, one position whose label is -100 (loss 0, gradients 0)
        if (!at.length) at.push(0n);
        f.masked_positions = { data: BigInt64Array.from(at), shape: [at.length] };
      }
    }
    for (const s of this.specs) f[s.name] = { data: this.params.get(s.name)!, shape: s.shape };
    return f;
  }

  /** Logits [batchSize, seqLen, numLabels (or vocab for masked-LM)], row-major. */
  async forward(batch: EncoderBatch): Promise<Float32Array> {
    if (!this.inferSession) {
      const bytes = this.getGraph().graph.toBytes(['logits'], { keepAllInputs: false, constants: weightConstants(this.options.frozen, this.params) });
      this.inferSession = await Session.create(bytes, { ...this.sessionOptions(), name: `encoder ${this.head} inference` });
    }
    const out = await this.inferSession.run(this.feeds(batch, false), ['logits']);
    return out.logits!.data as Float32Array;
  }

  /** Arg-max label id per token, [batchSize × seqLen] row-major (padding positions included). */
  async predict(batch: EncoderBatch): Promise<Int32Array> {
    const logits = await this.forward(batch);
    const n = batch.batchSize * batch.seqLen;
    const L = logits.length / n;
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let j = 1; j < L; j++) if (logits[i * L + j]! > logits[i * L + best]!) best = j;
      out[i] = best;
    }
    return out;
  }

  /** A training step's feeds: the batch with its labels, the weights, and fresh dropout masks (unless `dropout: false`). */
  private trainingFeeds(batch: EncoderBatch, g: EncoderGraph, opts: { dropout?: boolean }): Record<string, HostTensor> {
    const feeds = this.feeds(batch, true);
    const { batchSize: B, seqLen: T } = batch;
    for (const site of g.dropout) {
      const shape = site.kind === 'hidden' ? [B, T, this.config.hiddenSize] : [B, this.config.numHeads, T, T];
      const n = shape.reduce((a, b) => a * b, 1);
      let keep = this.maskBuffers.get(site.name);
      if (!keep || keep.length !== n) {
        keep = new Uint8Array(n);
        this.maskBuffers.set(site.name, keep);
      }
      if (opts.dropout === false) keep.fill(1);
      else this.dropoutRng.fillKeepMask(keep, site.p);
      feeds[site.name] = { data: keep, shape, dtype: 'bool' };
    }
    if (g.dropout.length) feeds.dropout_on = { data: Float32Array.of(opts.dropout === false ? 0 : 1), shape: [] };
    return feeds;
  }

  /**
   * Training with AdamW in the graph and the weights and moments where the device works
   * (train/device-training.ts): by default as the model's device calls for (WebGPU resident,
   * CUDA looped; null on the CPU, which keeps the host's AdamW). The word embeddings' row
   * gradient (token classification) is scattered into the table in the graph.
   */
  async deviceTraining(kind = deviceTrainingKind(this.device)): Promise<DeviceTraining<EncoderBatch> | null> {
    assertNotFrozen(this.options.frozen);
    if (!kind) return null;
    const g = buildEncoderGraph(this.config, this.head, graphOptionsFor(this.device, this.options.contribOps)); // a copy of its own: the update is appended to it
    const input = (name: string): Tensor => g.graph.inputs.find((t) => t.name === name)!;
    const gradient = (s: ParamSpec): string => {
      const rows = g.rowGrads.find((r) => r.param === s.name);
      if (!rows) return `grad:${s.name}`;
      const rowGrad = g.graph.outputs.find((o) => o.name === rows.output)!.tensor;
      return op.scatterAddRows(op.zerosLike(input(s.name)), input('input_ids'), rowGrad).name;
    };
    return createDeviceTraining(kind, {
      graph: g.graph,
      trainable: this.specs.map((s) => ({ name: s.name, shape: s.shape, grad: gradient(s) })),
      fixed: [],
      params: this.params,
      batchFeeds: (batch: EncoderBatch) => this.trainingFeeds(batch, g, {}),
      session: { ...this.sessionOptions(), name: `encoder ${this.head} training step` },
    });
  }

  /**
   * Mean cross-entropy over labels != -100 and its gradient for every parameter, in training
   * mode: dropout (config's probabilities) with fresh masks from `dropoutRng`, unless
   * `dropout: false`.
   */
  async lossAndGrads(batch: EncoderBatch, opts: { dropout?: boolean } = {}): Promise<LossAndGrads> {
    assertNotFrozen(this.options.frozen);
    const g = this.getGraph();
    this.trainSession ??= await Session.create(g.graph.toBytes(g.lossOutputs, { keepAllInputs: false }), { ...this.sessionOptions(), memoryPattern: false, name: `encoder ${this.head} training step` });
    const feeds = this.trainingFeeds(batch, g, opts);
    const { batchSize: B, seqLen: T } = batch;
    const into: Record<string, HostTensor> = {};
    const rowGrad = new Map(g.rowGrads.map((r) => [r.param, r.output]));
    const C = this.config.hiddenSize;
    for (const s of this.specs) {
      let buf = this.gradBuffers.get(s.name);
      if (!buf) {
        buf = new Float32Array(this.params.get(s.name)!.length);
        this.gradBuffers.set(s.name, buf);
      }
      const rows = rowGrad.get(s.name);
      if (rows) {
        const n = B * T * C;
        let rb = this.gradBuffers.get(rows);
        if (!rb || rb.length !== n) this.gradBuffers.set(rows, (rb = new Float32Array(n)));
        into[rows] = { data: rb, shape: [B, T, C] };
      } else into[`grad:${s.name}`] = { data: buf, shape: s.shape };
    }
    const out = await this.trainSession.run(feeds, g.lossOutputs, into);
    const grads = new Map<string, Float32Array>();
    for (const s of this.specs) {
      const buf = this.gradBuffers.get(s.name)!;
      const rows = rowGrad.get(s.name);
      if (rows) {
        // scatter-add the looked-up rows' gradient into the zeroed table (ids were checked in feeds)
        const src = out[rows]!.data as Float32Array;
        buf.fill(0);
        for (let i = 0; i < B * T; i++) {
          const o = Number(batch.inputIds[i]) * C;
          const r = i * C;
          for (let c = 0; c < C; c++) buf[o + c]! += src[r + c]!;
        }
      } else {
        const got = out[`grad:${s.name}`]!.data as Float32Array;
        if (got !== buf) buf.set(got); // Session.run returns the preallocated buffer when written in place
      }
      grads.set(s.name, buf);
    }
    return { loss: Number((out.loss!.data as Float32Array)[0]), grads };
  }

  /** Write config.json + model.safetensors in the Hugging Face layout. */
  async save(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const arch = ENCODER_ARCHITECTURES[this.config.modelType]![this.head];
    await writeFile(join(dir, 'config.json'), JSON.stringify(encoderConfigJson(this.config, arch), null, 2));
    const tensors: Record<string, NamedTensor> = {};
    for (const s of this.specs) tensors[s.name] = { data: this.params.get(s.name)!, shape: s.shape };
    await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  }

  async dispose(): Promise<void> {
    await this.inferSession?.release();
    await this.trainSession?.release();
    this.inferSession = this.trainSession = undefined;
  }
}
