// GPT-2: learned positions, pre-LayerNorm blocks, Conv1D projections (weights [in, out]),
// tanh-GELU MLP, LM head tied to the token embeddings.
//
// Dimension letters: B batch, T positions, C hidden, V vocabulary, F = MLP size.
import type { Graph, Tensor } from '../../graph/index.js';
import type { Gpt2Config } from '../../io/config.js';
import * as op from '../../ops/index.js';
import type { HostTensor } from '../../runtime/index.js';
import { causalSelfAttention, projection, type DecoderBuild, type DecoderFamily, type ParamSpec, type ProjectionSpec } from '../causal-lm.js';

function activation(name: string, x: Tensor): Tensor {
  switch (name) {
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
      return op.geluTanh(x);
    case 'gelu':
      return op.gelu(x);
    case 'relu':
      return op.relu(x);
    case 'silu':
    case 'swish':
      return op.silu(x);
    default:
      throw new Error(`GPT-2 activation_function '${name}' is not supported; supported: gelu_new, gelu_pytorch_tanh, gelu_fast, gelu, relu, silu`);
  }
}

const block = (i: number) => `transformer.h.${i}`;

export const gpt2: DecoderFamily<Gpt2Config> = {
  modelType: 'gpt2',
  architecture: 'GPT2LMHeadModel',

  paramSpecs(c) {
    const { vocabSize: V, hiddenSize: C, intermediateSize: F } = c;
    // Residual projections start smaller (transformers' GPT2 init: std / √(2·n_layer)).
    const resid = 1 / Math.sqrt(2 * c.numLayers);
    const specs: ParamSpec[] = [
      { name: 'transformer.wte.weight', shape: [V, C], init: 'normal' },
      { name: 'transformer.wpe.weight', shape: [c.maxPositionEmbeddings, C], init: 'normal' },
    ];
    for (let i = 0; i < c.numLayers; i++) {
      const l = block(i);
      specs.push(
        { name: `${l}.ln_1.weight`, shape: [C], init: 'ones' },
        { name: `${l}.ln_1.bias`, shape: [C], init: 'zeros' },
        { name: `${l}.attn.c_attn.weight`, shape: [C, 3 * C], init: 'normal' },
        { name: `${l}.attn.c_attn.bias`, shape: [3 * C], init: 'zeros' },
        { name: `${l}.attn.c_proj.weight`, shape: [C, C], init: 'normal', scale: resid },
        { name: `${l}.attn.c_proj.bias`, shape: [C], init: 'zeros' },
        { name: `${l}.ln_2.weight`, shape: [C], init: 'ones' },
        { name: `${l}.ln_2.bias`, shape: [C], init: 'zeros' },
        { name: `${l}.mlp.c_fc.weight`, shape: [C, F], init: 'normal' },
        { name: `${l}.mlp.c_fc.bias`, shape: [F], init: 'zeros' },
        { name: `${l}.mlp.c_proj.weight`, shape: [F, C], init: 'normal', scale: resid },
        { name: `${l}.mlp.c_proj.bias`, shape: [C], init: 'zeros' },
      );
    }
    specs.push({ name: 'transformer.ln_f.weight', shape: [C], init: 'ones' }, { name: 'transformer.ln_f.bias', shape: [C], init: 'zeros' });
    if (!c.tieWordEmbeddings) specs.push({ name: 'lm_head.weight', shape: [V, C], init: 'normal' });
    return specs;
  },

  projections(c) {
    const C = c.hiddenSize;
    const F = c.intermediateSize;
    return Array.from({ length: c.numLayers }, (_, i) => [
      { name: `${block(i)}.attn.c_attn`, kind: 'conv1d', inFeatures: C, outFeatures: 3 * C, bias: true },
      { name: `${block(i)}.attn.c_proj`, kind: 'conv1d', inFeatures: C, outFeatures: C, bias: true },
      { name: `${block(i)}.mlp.c_fc`, kind: 'conv1d', inFeatures: C, outFeatures: F, bias: true },
      { name: `${block(i)}.mlp.c_proj`, kind: 'conv1d', inFeatures: F, outFeatures: C, bias: true },
    ] satisfies ProjectionSpec[]).flat();
  },

  numKvHeads: (c) => c.numHeads,
  headDim: (c) => c.hiddenSize / c.numHeads,

  positionInputs(g: Graph) {
    return { position_ids: g.input('position_ids', 'int64', ['B', 'T']) };
  },

  positionFeeds(_c, positions, B, T): Record<string, HostTensor> {
    return { position_ids: { data: BigInt64Array.from(positions, (p) => BigInt(p)), shape: [B, T] } };
  },

  body(b: DecoderBuild, c) {
    const { hiddenSize: C, numHeads: H, layerNormEps: eps } = c;
    const D = C / H;
    const proj = new Map(gpt2.projections(c).map((p) => [p.name, p]));
    const P = (x: Tensor, name: string) => projection(b, x, proj.get(name)!);
    let h = op.add(op.gather(b.w('transformer.wte.weight'), b.inputs.ids), op.gather(b.w('transformer.wpe.weight'), b.inputs.positions.position_ids!)); // [B,T,C]
    for (let i = 0; i < c.numLayers; i++) {
      const l = block(i);
      const a = op.layerNorm(h, b.w(`${l}.ln_1.weight`), b.w(`${l}.ln_1.bias`), eps);
      const qkv = P(a, `${l}.attn.c_attn`); // [B,T,3C]
      let scale = c.scaleAttnWeights ? 1 / Math.sqrt(D) : 1;
      if (c.scaleAttnByInverseLayerIdx) scale /= i + 1;
      const [q, k, v] = op.split(qkv, 2, [C, C, C]); // backward: one Concat (slices would pad and add)
      const att = causalSelfAttention(b, i, q!, k!, v!, { H, G: H, D, scale });
      h = op.add(h, P(att, `${l}.attn.c_proj`));
      const m = op.layerNorm(h, b.w(`${l}.ln_2.weight`), b.w(`${l}.ln_2.bias`), eps);
      h = op.add(h, P(activation(c.hiddenAct, P(m, `${l}.mlp.c_fc`)), `${l}.mlp.c_proj`));
    }
    return op.layerNorm(h, b.w('transformer.ln_f.weight'), b.w('transformer.ln_f.bias'), eps);
  },

  head(b, c, h) {
    return op.matmul(h, b.w(c.tieWordEmbeddings ? 'transformer.wte.weight' : 'lm_head.weight'), { transB: true });
  },
};
