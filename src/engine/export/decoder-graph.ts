// The inference graph of a causal LM (GPT-2, LLaMA) in the layout transformers.js v4 runs
// for `AutoModelForCausalLM` / `pipeline('text-generation')` with a KV cache (one
// `onnx/model.onnx`, like Optimum's merged decoder without the `use_cache_branch` input):
//
//   inputs   input_ids       int64 [batch_size, sequence_length]
//            attention_mask  int64 [batch_size, total_sequence_length]   (past + new positions)
//            position_ids    int64 [batch_size, sequence_length]
//            past_key_values.{i}.key / .value  float32 [batch_size, G, past_sequence_length, D]
//   outputs  logits          float32 [batch_size, sequence_length, V]
//            present.{i}.key / .value          float32 [batch_size, G, total_sequence_length, D]
//
// G is the number of KV heads and D the head size, both fixed numbers in the metadata: the
// first generation step feeds past tensors of length 0 built from that metadata.
//
// The layers are the model's own code: the family's `body` and `head` (models/gpt2,
// models/llama) run on a DecoderBuild whose inputs are derived here from the transformers.js
// inputs, in the engine's cached mode (past keys [B,G,D,P], values [B,G,P,D], additive
// attention bias, kv_split). Weights (and LoRA adapters, when attached) are initializers.
//
// Dimension letters inside: B batch, T new positions, P past positions, S = P + T.
import { Graph } from '../graph/index.js';
import type { Tensor } from '../graph/index.js';
import { ropeInverseFrequencies, type LlamaConfig } from '../io/config.js';
import { MASKED, type CausalLMModel, type DecoderBuild } from '../models/causal-lm.js';
import type { ModelData } from '../onnx/index.js';
import * as op from '../ops/index.js';
import { rawOp, renameDims } from './onnx-util.js';

/** Names of the graph's inputs and outputs for a decoder with `numLayers` layers. */
export function decoderIoNames(numLayers: number): { inputs: string[]; outputs: string[] } {
  const layers = Array.from({ length: numLayers }, (_, i) => i);
  return {
    inputs: ['input_ids', 'attention_mask', 'position_ids', ...layers.flatMap((i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`])],
    outputs: ['logits', ...layers.flatMap((i) => [`present.${i}.key`, `present.${i}.value`])],
  };
}

export function buildDecoderExportGraph(model: CausalLMModel): ModelData {
  const { family, config } = model;
  const g = new Graph(`${config.modelType}-transformersjs`, { contribOps: false });

  // Weights (and adapter matrices) as initializers named as in the checkpoint, made on first use.
  const shapes = new Map<string, number[]>(model.specs.map((s) => [s.name, s.shape]));
  for (const t of model.lora?.targets ?? []) for (const s of [t.a, t.b]) shapes.set(s.name, s.shape);
  const weights = new Map<string, Tensor>();
  const w = (name: string): Tensor => {
    let t = weights.get(name);
    if (!t) {
      const data = model.params.get(name);
      const shape = shapes.get(name);
      if (!data || !shape) throw new Error(`${config.modelType} export: no parameter '${name}'`);
      t = g.constant(data, shape, 'float32', name);
      weights.set(name, t);
    }
    return t;
  };

  const L = config.numLayers;
  const G = family.numKvHeads(config);
  const D = family.headDim(config);
  const ids = g.input('input_ids', 'int64', ['B', 'T']);
  const mask = g.input('attention_mask', 'int64', ['B', 'P+T']);
  const positionIds = g.input('position_ids', 'int64', ['B', 'T']);
  const past = Array.from({ length: L }, (_, i) => ({
    k: g.input(`past_key_values.${i}.key`, 'float32', ['B', G, 'P', D]),
    v: g.input(`past_key_values.${i}.value`, 'float32', ['B', G, 'P', D]),
  }));

  // Lengths: T from input_ids, P from the cache (0 on the first step); S = P + T.
  const T1 = rawOp(g, 'Shape', [ids], 'int64', [1], { start: 1, end: 2 });
  const P1 = L ? rawOp(g, 'Shape', [past[0]!.k], 'int64', [1], { start: 2, end: 3 }) : g.ints([0]);
  const kvSplit = op.concat([P1, T1], 0); // [P, T]
  const Ps = op.squeeze(P1, [0]);
  const Ss = op.add(Ps, op.squeeze(T1, [0]));

  // Additive attention bias [B,1,T,S]: key s is visible to new position t when s ≤ P + t
  // (causal) and attention_mask[b, s] = 1 — what CausalLMModel feeds as attn_bias.
  const one = g.scalar(1, 'int64');
  const keyIdx = rawOp(g, 'Range', [g.scalar(0, 'int64'), Ss, one], 'int64', ['P+T']);
  const queryIdx = rawOp(g, 'Range', [Ps, Ss, one], 'int64', ['T']);
  const causal = rawOp(g, 'LessOrEqual', [op.unsqueeze(keyIdx, [0]), op.unsqueeze(queryIdx, [1])], 'bool', ['T', 'P+T']);
  const attended = op.unsqueeze(rawOp(g, 'Cast', [mask], 'bool', ['B', 'P+T'], { to: 9 }), [1, 2]); // [B,1,1,S]
  const allowed = rawOp(g, 'And', [causal, attended], 'bool', ['B', 1, 'T', 'P+T']);
  const bias = op.where(allowed, g.scalar(0), g.scalar(MASKED));

  // Positions as the family takes them: GPT-2 learned position ids; LLaMA RoPE cos/sin.
  let positions: Record<string, Tensor>;
  if (config.modelType === 'gpt2') positions = { position_ids: positionIds };
  else {
    // angle = position · inv_freq in float32 (the D/2 frequencies twice, transformers' cat(freqs, freqs)),
    // as LLaMA's positionFeeds computes it on the host.
    const inv = Float32Array.from(ropeInverseFrequencies(config as LlamaConfig));
    const freqs = g.constant([...inv, ...inv], [D], 'float32');
    const angle = op.mul(op.unsqueeze(op.cast(positionIds, 'float32'), [2]), freqs); // [B,T,D]
    positions = {
      rope_cos: rawOp(g, 'Cos', [angle], 'float32', ['B', 'T', D]),
      rope_sin: rawOp(g, 'Sin', [angle], 'float32', ['B', 'T', D]),
    };
  }

  const present: Array<{ k: Tensor; v: Tensor }> = [];
  const build: DecoderBuild = {
    g,
    w,
    inputs: {
      ids,
      bias,
      positions,
      // the engine's cached attention reads keys transposed: [B,G,D,P]
      past: past.map(({ k, v }) => ({ k: op.transpose(k, [0, 1, 3, 2]), v })),
      kvSplit,
    },
    present,
    lora: new Map((model.lora?.targets ?? []).map((t) => [t.module, t])),
    loraScaling: model.lora?.settings.scaling ?? 0,
  };
  const h = family.body(build, config); // [B,T,C]
  g.output(family.head(build, config, h), 'logits'); // [B,T,V]
  if (present.length !== L) throw new Error(`${config.modelType} export: expected ${L} layers of new keys/values, got ${present.length}`);
  present.forEach(({ k, v }, i) => {
    // new keys come as [B,G,D,T] and values as [B,G,T,D]; the cache is [B,G,S,D]
    g.output(op.concat([past[i]!.k, op.transpose(k, [0, 1, 3, 2])], 2), `present.${i}.key`);
    g.output(op.concat([past[i]!.v, v], 2), `present.${i}.value`);
  });

  const m = g.toModel(decoderIoNames(L).outputs, { keepAllInputs: true });
  return renameDims(m, { B: 'batch_size', T: 'sequence_length', P: 'past_sequence_length', 'P+T': 'total_sequence_length' });
}
