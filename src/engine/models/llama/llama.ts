// LLaMA: RMSNorm, rotary position embeddings (RoPE), grouped-query attention, SwiGLU MLP,
// Linear projections (weights [out, in]), untied LM head by default.
//
// RoPE's cos/sin tables are graph inputs computed on the host from the position ids (they
// carry no gradient), so one graph serves any position offset, padding or KV-cache length.
//
// Dimension letters: B batch, T positions, C hidden, H query heads, G KV heads, D head size.
import type { Graph, Tensor } from '../../graph/index.js';
import { ropeInverseFrequencies, type LlamaConfig } from '../../io/config.js';
import * as op from '../../ops/index.js';
import type { HostTensor } from '../../runtime/index.js';
import { causalSelfAttention, projection, type DecoderBuild, type DecoderFamily, type ParamSpec, type ProjectionSpec } from '../causal-lm.js';

const layer = (i: number) => `model.layers.${i}`;

/** x·cos + rotate_half(x)·sin, rotate_half(x) = [−x₂, x₁] on the halves of the last axis. */
function applyRope(x: Tensor, cos: Tensor, sin: Tensor, D: number): Tensor {
  const half = D / 2;
  const rotated = op.concat([op.neg(op.slice(x, -1, half, D)), op.slice(x, -1, 0, half)], -1);
  return op.add(op.mul(x, cos), op.mul(rotated, sin));
}

export const llama: DecoderFamily<LlamaConfig> = {
  modelType: 'llama',
  architecture: 'LlamaForCausalLM',

  paramSpecs(c) {
    const { vocabSize: V, hiddenSize: C } = c;
    const specs: ParamSpec[] = [{ name: 'model.embed_tokens.weight', shape: [V, C], init: 'normal' }];
    for (let i = 0; i < c.numLayers; i++) {
      for (const p of llama.projections(c).filter((p) => p.name.startsWith(`${layer(i)}.`))) {
        specs.push({ name: `${p.name}.weight`, shape: [p.outFeatures, p.inFeatures], init: 'normal' });
        if (p.bias) specs.push({ name: `${p.name}.bias`, shape: [p.outFeatures], init: 'zeros' });
      }
      specs.push(
        { name: `${layer(i)}.input_layernorm.weight`, shape: [C], init: 'ones' },
        { name: `${layer(i)}.post_attention_layernorm.weight`, shape: [C], init: 'ones' },
      );
    }
    specs.push({ name: 'model.norm.weight', shape: [C], init: 'ones' });
    if (!c.tieWordEmbeddings) specs.push({ name: 'lm_head.weight', shape: [V, C], init: 'normal' });
    return specs;
  },

  projections(c) {
    const { hiddenSize: C, intermediateSize: F, numHeads: H, numKvHeads: G, headDim: D } = c;
    return Array.from({ length: c.numLayers }, (_, i) => {
      const l = layer(i);
      const lin = (name: string, inF: number, outF: number, bias: boolean): ProjectionSpec => ({ name: `${l}.${name}`, kind: 'linear', inFeatures: inF, outFeatures: outF, bias });
      return [
        lin('self_attn.q_proj', C, H * D, c.attentionBias),
        lin('self_attn.k_proj', C, G * D, c.attentionBias),
        lin('self_attn.v_proj', C, G * D, c.attentionBias),
        lin('self_attn.o_proj', H * D, C, c.attentionBias),
        lin('mlp.gate_proj', C, F, c.mlpBias),
        lin('mlp.up_proj', C, F, c.mlpBias),
        lin('mlp.down_proj', F, C, c.mlpBias),
      ];
    }).flat();
  },

  numKvHeads: (c) => c.numKvHeads,
  headDim: (c) => c.headDim,

  positionInputs(g: Graph, c) {
    return {
      rope_cos: g.input('rope_cos', 'float32', ['B', 'T', c.headDim]),
      rope_sin: g.input('rope_sin', 'float32', ['B', 'T', c.headDim]),
    };
  },

  // cos/sin of position · inv_freq, the D/2 frequencies repeated twice (transformers' cat(freqs, freqs)).
  positionFeeds(c, positions, B, T): Record<string, HostTensor> {
    const D = c.headDim;
    const inv = Float32Array.from(ropeInverseFrequencies(c)); // float32, as transformers keeps inv_freq
    const cos = new Float32Array(B * T * D);
    const sin = new Float32Array(B * T * D);
    for (let i = 0; i < B * T; i++) {
      for (let j = 0; j < D / 2; j++) {
        const angle = Math.fround(positions[i]! * inv[j]!);
        const cv = Math.cos(angle);
        const sv = Math.sin(angle);
        cos[i * D + j] = cos[i * D + j + D / 2] = cv;
        sin[i * D + j] = sin[i * D + j + D / 2] = sv;
      }
    }
    return { rope_cos: { data: cos, shape: [B, T, D] }, rope_sin: { data: sin, shape: [B, T, D] } };
  },

  body(b: DecoderBuild, c) {
    const { numHeads: H, numKvHeads: G, headDim: D, rmsNormEps: eps } = c;
    const proj = new Map(llama.projections(c).map((p) => [p.name, p]));
    const P = (x: Tensor, name: string) => projection(b, x, proj.get(name)!);
    const cos4 = op.unsqueeze(b.inputs.positions.rope_cos!, [1]); // [B,1,T,D] for keys [B,G,T,D]
    const sin4 = op.unsqueeze(b.inputs.positions.rope_sin!, [1]);
    const cos5 = op.unsqueeze(cos4, [1]); // [B,1,1,T,D] for grouped queries [B,G,R,T,D]
    const sin5 = op.unsqueeze(sin4, [1]);
    const rope = (x: Tensor) => (x.rank === 5 ? applyRope(x, cos5, sin5, D) : applyRope(x, cos4, sin4, D));
    let h = op.gather(b.w('model.embed_tokens.weight'), b.inputs.ids); // [B,T,C]
    for (let i = 0; i < c.numLayers; i++) {
      const l = layer(i);
      const x = op.rmsNorm(h, b.w(`${l}.input_layernorm.weight`), eps);
      const att = causalSelfAttention(
        b,
        i,
        P(x, `${l}.self_attn.q_proj`),
        P(x, `${l}.self_attn.k_proj`),
        P(x, `${l}.self_attn.v_proj`),
        { H, G, D, scale: 1 / Math.sqrt(D) },
        rope,
      );
      h = op.add(h, P(att, `${l}.self_attn.o_proj`));
      const m = op.rmsNorm(h, b.w(`${l}.post_attention_layernorm.weight`), eps);
      if (c.hiddenAct !== 'silu') throw new Error(`LLaMA hidden_act '${c.hiddenAct}' is not supported; supported: silu`);
      h = op.add(h, P(op.mul(op.silu(P(m, `${l}.mlp.gate_proj`)), P(m, `${l}.mlp.up_proj`)), `${l}.mlp.down_proj`));
    }
    return op.rmsNorm(h, b.w('model.norm.weight'), eps);
  },

  head(b, c, h) {
    return op.matmul(h, b.w(c.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight'), { transB: true });
  },
};
