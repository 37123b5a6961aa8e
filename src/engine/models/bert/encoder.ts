// BERT / RoBERTa encoder as a graph: embeddings, post-LN transformer layers, and a
// token-classification or masked-LM head. Weights are graph inputs named exactly as in
// the Hugging Face checkpoint, so one set of Float32Arrays feeds both the training and
// the inference session.
//
// Dimension letters: B batch, T sequence, C hidden, H heads, D = C/H head size,
// F intermediate (FFN) size, V vocabulary, L labels, P max positions.
import { Graph, gradients } from '../../graph/index.js';
import type { GraphOptions, Tensor } from '../../graph/index.js';
import * as op from '../../ops/index.js';
import type { EncoderConfig } from './config.js';

export type EncoderHead = 'token-classification' | 'masked-lm';
export const ENCODER_HEADS: readonly EncoderHead[] = ['token-classification', 'masked-lm'];

export interface ParamSpec {
  name: string;
  shape: number[];
  /** How a fresh parameter is initialised (HF's _init_weights: normal(0, 0.02), LayerNorm 1/0, biases 0). */
  init: 'normal' | 'zeros' | 'ones';
}

export const prefixOf = (cfg: EncoderConfig): string => cfg.modelType;

export function encoderParamSpecs(cfg: EncoderConfig, head: EncoderHead): ParamSpec[] {
  const p = prefixOf(cfg);
  const { hiddenSize: C, intermediateSize: F, vocabSize: V, maxPositions: P, typeVocabSize: TV, numLabels: L } = cfg;
  const specs: ParamSpec[] = [];
  const lin = (name: string, out: number, inp: number): void => {
    specs.push({ name: `${name}.weight`, shape: [out, inp], init: 'normal' }, { name: `${name}.bias`, shape: [out], init: 'zeros' });
  };
  const ln = (name: string): void => {
    specs.push({ name: `${name}.weight`, shape: [C], init: 'ones' }, { name: `${name}.bias`, shape: [C], init: 'zeros' });
  };
  specs.push(
    { name: `${p}.embeddings.word_embeddings.weight`, shape: [V, C], init: 'normal' },
    { name: `${p}.embeddings.position_embeddings.weight`, shape: [P, C], init: 'normal' },
    { name: `${p}.embeddings.token_type_embeddings.weight`, shape: [TV, C], init: 'normal' },
  );
  ln(`${p}.embeddings.LayerNorm`);
  for (let i = 0; i < cfg.numLayers; i++) {
    const l = `${p}.encoder.layer.${i}`;
    lin(`${l}.attention.self.query`, C, C);
    lin(`${l}.attention.self.key`, C, C);
    lin(`${l}.attention.self.value`, C, C);
    lin(`${l}.attention.output.dense`, C, C);
    ln(`${l}.attention.output.LayerNorm`);
    lin(`${l}.intermediate.dense`, F, C);
    lin(`${l}.output.dense`, C, F);
    ln(`${l}.output.LayerNorm`);
  }
  if (head === 'token-classification') lin('classifier', L, C);
  else if (cfg.modelType === 'bert') {
    lin('cls.predictions.transform.dense', C, C);
    ln('cls.predictions.transform.LayerNorm');
    specs.push({ name: 'cls.predictions.bias', shape: [V], init: 'zeros' });
  } else {
    lin('lm_head.dense', C, C);
    ln('lm_head.layer_norm');
    specs.push({ name: 'lm_head.bias', shape: [V], init: 'zeros' });
  }
  return specs;
}

function activation(name: string, x: Tensor): Tensor {
  switch (name) {
    case 'gelu':
      return op.gelu(x);
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
    case 'gelu_fast':
      return op.geluTanh(x);
    case 'relu':
      return op.relu(x);
    default:
      return op.silu(x);
  }
}

/** One dropout site of the training graph: a bool input `name` (true = keep); the graph also takes `dropout_on` (float []). */
export interface DropoutSite {
  name: string;
  /** 'hidden' sites are [B,T,C]; 'attention' sites are [B,H,T,T]. */
  kind: 'hidden' | 'attention';
  p: number;
}

export interface EncoderGraph {
  graph: Graph;
  params: ParamSpec[];
  /**
   * Output names: 'logits' (inference); 'loss' and 'grad:<param>' (training), except the
   * parameters in `rowGrads`, whose gradient comes as rows to scatter-add on the host.
   */
  lossOutputs: string[];
  /**
   * Embedding tables whose training output is the gradient of the looked-up rows
   * (`output`, [B,T,C]) instead of the [V,C] table: the host adds row b·T+t into row
   * input_ids[b,t] of a zeroed gradient. For the word embeddings of token classification this
   * replaces a zero-filled [V,C] tensor, a scatter over it and its copy out of onnxruntime.
   */
  rowGrads: Array<{ param: string; output: string }>;
  /** Dropout mask inputs of the training graph (none when every dropout probability is 0). */
  dropout: DropoutSite[];
}

/** Inverted dropout with a given keep-mask: where(keep, x · scale, 0), scale = 1/(1-p) when on, else 1. */
function dropout(x: Tensor, keep: Tensor, p: number, on: Tensor): Tensor {
  const scale = op.add(op.mul(on, 1 / (1 - p) - 1), 1); // a scalar: [] float
  return op.where(keep, op.mul(x, scale), 0);
}

/**
 * Inputs: input_ids, position_ids, token_type_ids, labels: int64 [B,T]; attention_mask: float [B,T];
 * one float input per parameter; in training, one bool keep-mask per dropout site, and for the
 * masked-LM head masked_positions: int64 [M], the flat indices b·T+t of the labels != -100
 * (at least one: a batch without labels feeds one ignored position).
 * Outputs: logits [B,T,L|V] (no dropout), loss, and grad:<name> per parameter (with dropout).
 * Serialize `graph.toBytes(['logits'])` for inference and `graph.toBytes(lossOutputs)` for training.
 */
export function buildEncoderGraph(cfg: EncoderConfig, head: EncoderHead, opts: GraphOptions & { fuseQkv?: boolean } = {}): EncoderGraph {
  // Q, K and V as one Gemm over concatenated weights, then Split: measured slower here (forward
  // 148 vs 135 ms, training 530 vs 496 ms at 16×128, hidden 256): the Split and the backward's
  // Concat cost more than the larger GEMM saves. Off by default.
  const fuseQkv = opts.fuseQkv ?? false;
  const g = new Graph(`${cfg.modelType}-${head}`, opts);
  const specs = encoderParamSpecs(cfg, head);
  const W = new Map<string, Tensor>();
  for (const s of specs) W.set(s.name, g.input(s.name, 'float32', s.shape));
  const w = (name: string): Tensor => {
    const t = W.get(name);
    if (!t) throw new Error(`encoder graph: no parameter '${name}'`);
    return t;
  };
  const p = prefixOf(cfg);
  const { hiddenSize: C, numHeads: H, layerNormEps: eps } = cfg;
  const D = C / H;

  const ids = g.input('input_ids', 'int64', ['B', 'T']);
  const pos = g.input('position_ids', 'int64', ['B', 'T']);
  const types = g.input('token_type_ids', 'int64', ['B', 'T']);
  const mask = g.input('attention_mask', 'float32', ['B', 'T']);
  const labels = g.input('labels', 'int64', ['B', 'T']);
  // additive attention bias: 0 where attended, a large negative where masked. [B,1,1,T]
  const maskBias = op.unsqueeze(op.mul(op.sub(1, mask), -3.4028234663852886e38), [1, 2]);
  const lin = (x: Tensor, name: string): Tensor => op.linear(x, w(`${name}.weight`), w(`${name}.bias`));

  const sites: DropoutSite[] = [];
  let on: Tensor | undefined; // 1 = dropout on; 0 = masks all true and no rescaling (training-graph loss without dropout)
  /** Dropout at a named site in training; identity in inference or when p = 0. */
  const drop = (train: boolean, x: Tensor, name: string, kind: DropoutSite['kind'], prob: number): Tensor => {
    if (!train || prob <= 0) return x;
    sites.push({ name, kind, p: prob });
    const keep = g.input(name, 'bool', kind === 'hidden' ? ['B', 'T', C] : ['B', H, 'T', 'T']);
    on ??= g.input('dropout_on', 'float32', []);
    return dropout(x, keep, prob, on);
  };

  let wordRows: Tensor | undefined; // the word-embedding lookup of the latest encode
  /** Embeddings and transformer layers: hidden states [B,T,C]. */
  const encode = (train: boolean): Tensor => {
    const hp = cfg.hiddenDropout;
    // embeddings: [B,T,C]
    wordRows = op.gather(w(`${p}.embeddings.word_embeddings.weight`), ids);
    const emb = op.add(
      op.add(wordRows, op.gather(w(`${p}.embeddings.position_embeddings.weight`), pos)),
      op.gather(w(`${p}.embeddings.token_type_embeddings.weight`), types),
    );
    let h = drop(train, op.layerNorm(emb, w(`${p}.embeddings.LayerNorm.weight`), w(`${p}.embeddings.LayerNorm.bias`), eps), 'dropout.embeddings', 'hidden', hp);

    for (let i = 0; i < cfg.numLayers; i++) {
      const l = `${p}.encoder.layer.${i}`;
      // q pre-scaled by 1/sqrt(D) on [B,T,C] (cheaper than scaling [B,H,T,T] scores)
      const sa = `${l}.attention.self`;
      let q0: Tensor, k0: Tensor, v0: Tensor;
      if (fuseQkv) {
        const wqkv = op.concat([w(`${sa}.query.weight`), w(`${sa}.key.weight`), w(`${sa}.value.weight`)], 0);
        const bqkv = op.concat([w(`${sa}.query.bias`), w(`${sa}.key.bias`), w(`${sa}.value.bias`)], 0);
        [q0, k0, v0] = op.split(op.linear(h, wqkv, bqkv), -1, [C, C, C]) as [Tensor, Tensor, Tensor];
      } else [q0, k0, v0] = [lin(h, `${sa}.query`), lin(h, `${sa}.key`), lin(h, `${sa}.value`)];
      const q = op.transpose(op.reshape(op.mul(q0!, 1 / Math.sqrt(D)), [0, 0, H, D]), [0, 2, 1, 3]); // [B,H,T,D]
      const k = op.transpose(op.reshape(k0!, [0, 0, H, D]), [0, 2, 1, 3]); // [B,H,T,D]: q kᵀ as FusedMatMul transB, no Transpose of k
      const v = op.transpose(op.reshape(v0!, [0, 0, H, D]), [0, 2, 1, 3]); // [B,H,T,D]
      const att = drop(train, op.softmax(op.add(op.matmul(q, k, { transB: true }), maskBias), -1), `dropout.${i}.attention`, 'attention', cfg.attentionDropout); // [B,H,T,T]
      const ctx = op.reshape(op.transpose(op.matmul(att, v), [0, 2, 1, 3]), [0, 0, C]); // [B,T,C]
      const ao = drop(train, lin(ctx, `${l}.attention.output.dense`), `dropout.${i}.attention_output`, 'hidden', hp);
      const a = op.layerNorm(op.add(ao, h), w(`${l}.attention.output.LayerNorm.weight`), w(`${l}.attention.output.LayerNorm.bias`), eps);
      const f = activation(cfg.hiddenAct, lin(a, `${l}.intermediate.dense`)); // [B,T,F]
      const fo = drop(train, lin(f, `${l}.output.dense`), `dropout.${i}.output`, 'hidden', hp);
      h = op.layerNorm(op.add(fo, a), w(`${l}.output.LayerNorm.weight`), w(`${l}.output.LayerNorm.bias`), eps);
    }

    return h;
  };
  /** Masked-LM head: hidden [..., C] -> [..., V]; the decoder is tied to the word embeddings, as in HF. */
  const lmHead = (h: Tensor): Tensor => {
    const [dense, norm] = cfg.modelType === 'bert' ? ['cls.predictions.transform.dense', 'cls.predictions.transform.LayerNorm'] : ['lm_head.dense', 'lm_head.layer_norm'];
    const t = op.layerNorm(activation(cfg.hiddenAct, lin(h, dense)), w(`${norm}.weight`), w(`${norm}.bias`), eps);
    const bias = cfg.modelType === 'bert' ? 'cls.predictions.bias' : 'lm_head.bias';
    return op.linear(t, w(`${p}.embeddings.word_embeddings.weight`), w(bias));
  };
  const classify = (train: boolean, h: Tensor): Tensor => lin(drop(train, h, 'dropout.classifier', 'hidden', cfg.classifierDropout), 'classifier'); // [B,T,L]

  const hidden = encode(false);
  const logits = head === 'token-classification' ? classify(false, hidden) : lmHead(hidden);
  g.output(logits, 'logits');
  const hasDropout = cfg.hiddenDropout > 0 || cfg.attentionDropout > 0 || cfg.classifierDropout > 0;
  const trainHidden = hasDropout ? encode(true) : hidden;
  const trainRows = wordRows!;
  let loss: Tensor;
  if (head === 'token-classification') loss = op.softmaxCrossEntropy(hasDropout ? classify(true, trainHidden) : logits, labels);
  else {
    // Only the masked rows go through the head and its [C,V] decoder (~15% of B·T): the host
    // feeds their flat indices b·T+t, so the mean over them equals the mean over labels != -100.
    const at = g.input('masked_positions', 'int64', ['M']);
    loss = op.softmaxCrossEntropy(lmHead(op.gather(op.reshape(trainHidden, [-1, C]), at)), op.gather(op.reshape(labels, [-1]), at));
  }
  g.output(loss, 'loss');
  // The word embeddings are also the masked-LM decoder (tied): that gradient stays a [V,C] tensor.
  const wordName = `${p}.embeddings.word_embeddings.weight`;
  const rowGrads = head === 'token-classification' ? [{ param: wordName, output: `grad_rows:${wordName}` }] : [];
  const dense = specs.filter((s) => !rowGrads.some((r) => r.param === s.name));
  const grads = gradients(loss, [...dense.map((s) => W.get(s.name)!), ...(rowGrads.length ? [trainRows] : [])]);
  dense.forEach((s, i) => g.output(grads[i]!, `grad:${s.name}`));
  if (rowGrads.length) g.output(grads[dense.length]!, rowGrads[0]!.output);
  return { graph: g, params: specs, lossOutputs: ['loss', ...dense.map((s) => `grad:${s.name}`), ...rowGrads.map((r) => r.output)], rowGrads, dropout: sites };
}
