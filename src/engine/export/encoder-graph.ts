// The inference graph of a BERT / RoBERTa token classifier in the layout transformers.js
// v4 runs for `AutoModelForTokenClassification` / `pipeline('token-classification')`
// (one `onnx/model.onnx`, as Optimum exports it):
//
//   inputs   input_ids       int64 [batch_size, sequence_length]
//            attention_mask  int64 [batch_size, sequence_length]
//            token_type_ids  int64 [batch_size, sequence_length]  (transformers.js feeds zeros
//                                                                   when the tokenizer gives none)
//   outputs  logits          float32 [batch_size, sequence_length, num_labels]
//
// The layers are the model's own graph (`buildEncoderGraph`, pruned to `logits`); this
// module only rewires its inputs: the weights become initializers, the float attention mask
// is cast from the int64 one, and the position ids are computed in the graph as transformers
// does without `position_ids`: 0..T-1 for BERT; for RoBERTa, padding_idx + 1 + the count of
// non-padding tokens so far, padding_idx on padding tokens (EncoderModel's host-side rule).
import type { EncoderModel } from '../models/bert/index.js';
import { buildEncoderGraph } from '../models/bert/index.js';
import { DataType } from '../onnx/index.js';
import type { ModelData, NodeData, TensorData, ValueInfo } from '../onnx/index.js';
import { float32Bytes, renameDims } from './onnx-util.js';

const PREFIX = 'export::';

function int64Scalar(name: string, v: number): TensorData {
  const raw = new Uint8Array(8);
  new DataView(raw.buffer).setBigInt64(0, BigInt(v), true);
  return { name, dtype: 'int64', dims: [], raw };
}

const int = (value: number) => ({ kind: 'int' as const, value });

export function buildEncoderExportGraph(model: EncoderModel): ModelData {
  const cfg = model.config;
  if (model.head !== 'token-classification') {
    throw new Error(`transformers.js export: the encoder has a '${model.head}' head; only 'token-classification' is exported`);
  }
  const eg = buildEncoderGraph(cfg, 'token-classification', { contribOps: false });
  const m = eg.graph.toModel(['logits'], { keepAllInputs: false });

  const params = new Map(model.specs.map((s) => [s.name, s]));
  const initializers: TensorData[] = [...m.initializers];
  const inputs: ValueInfo[] = [];
  const has = (name: string): boolean => m.inputs.some((i) => i.name === name);
  for (const i of m.inputs) {
    const spec = params.get(i.name);
    if (spec) initializers.push({ name: spec.name, dtype: 'float32', dims: [...spec.shape], raw: float32Bytes(model.params.get(spec.name)!) });
  }
  for (const name of ['input_ids', 'attention_mask', 'token_type_ids']) if (name === 'input_ids' || has(name)) inputs.push({ name, dtype: 'int64', shape: ['B', 'T'] });
  for (const i of m.inputs) {
    if (!params.has(i.name) && !['input_ids', 'attention_mask', 'token_type_ids', 'position_ids'].includes(i.name)) {
      throw new Error(`transformers.js export: unexpected input '${i.name}' in the ${cfg.modelType} graph`);
    }
  }

  // attention_mask: int64 in, float as the model graph takes it.
  const maskFloat = `${PREFIX}attention_mask_float`;
  const pre: NodeData[] = [];
  if (has('attention_mask')) pre.push({ opType: 'Cast', inputs: ['attention_mask'], outputs: [maskFloat], attributes: { to: int(DataType.float32) } });

  // position_ids, computed from input_ids.
  const one = `${PREFIX}one`;
  const axis = `${PREFIX}axis1`;
  initializers.push(int64Scalar(one, 1), int64Scalar(axis, 1));
  if (cfg.modelType === 'roberta') {
    const pad = `${PREFIX}padding_idx`;
    initializers.push(int64Scalar(pad, cfg.padTokenId));
    const n = (s: string) => `${PREFIX}${s}`;
    pre.push(
      { opType: 'Equal', inputs: ['input_ids', pad], outputs: [n('is_pad')] },
      { opType: 'Not', inputs: [n('is_pad')], outputs: [n('not_pad')] },
      { opType: 'Cast', inputs: [n('not_pad')], outputs: [n('not_pad_i64')], attributes: { to: int(DataType.int64) } },
      { opType: 'CumSum', inputs: [n('not_pad_i64'), axis], outputs: [n('count')] },
      { opType: 'Mul', inputs: [n('count'), n('not_pad_i64')], outputs: [n('count_masked')] },
      { opType: 'Add', inputs: [n('count_masked'), pad], outputs: ['position_ids'] },
    );
  } else {
    const n = (s: string) => `${PREFIX}${s}`;
    const oneTensor: TensorData = int64Scalar('value', 1);
    pre.push(
      { opType: 'Shape', inputs: ['input_ids'], outputs: [n('ids_shape')] },
      { opType: 'ConstantOfShape', inputs: [n('ids_shape')], outputs: [n('ones')], attributes: { value: { kind: 'tensor', value: { ...oneTensor, dims: [1] } } } },
      { opType: 'CumSum', inputs: [n('ones'), axis], outputs: [n('count')] },
      { opType: 'Sub', inputs: [n('count'), one], outputs: ['position_ids'] },
    );
  }

  const nodes: NodeData[] = [...pre, ...m.nodes.map((node) => ({ ...node, inputs: node.inputs.map((x) => (x === 'attention_mask' ? maskFloat : x)) }))];
  return renameDims({ ...m, graphName: `${cfg.modelType}-token-classification-transformersjs`, nodes, inputs, initializers }, { B: 'batch_size', T: 'sequence_length' });
}
