// Small helpers shared by the export graphs: raw ONNX nodes as Tensors, weights as
// initializer bytes, and renaming the engine's dimension letters to the symbolic names
// transformers.js resolves at run time.
import { Graph, Tensor } from '../graph/index.js';
import type { Attrs, DType, Shape } from '../graph/index.js';
import type { Dim, ModelData, ValueInfo } from '../onnx/index.js';

/**
 * One raw ONNX node whose single output is wrapped as a Tensor. Forward-only: these
 * tensors have no producer op, so autodiff never walks through them (export graphs are
 * inference graphs).
 */
export function rawOp(g: Graph, opType: string, inputs: Tensor[], dtype: DType, shape: Shape, attrs: Attrs = {}): Tensor {
  const [name] = g.emit(opType, inputs, 1, attrs);
  return new Tensor(g, name!, dtype, shape, null);
}

/** The little-endian bytes of a Float32Array, without copying. */
export function float32Bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Rename symbolic dims of the graph inputs and outputs (the engine's letters B, T, P ...)
 * to the names transformers.js and onnxruntime metadata show. transformers.js builds the
 * empty first-step cache from the input metadata: a dim named `batch_size` becomes the batch
 * size, any other symbolic dim 0, so the past inputs must name their batch dim exactly so.
 */
export function renameDims(m: ModelData, names: Record<string, string>): ModelData {
  const dim = (d: Dim): Dim => (typeof d === 'string' ? (names[d] ?? d) : d);
  const info = (v: ValueInfo): ValueInfo => ({ ...v, shape: v.shape.map(dim) });
  return { ...m, inputs: m.inputs.map(info), outputs: m.outputs.map(info) };
}

/** Total bytes of the initializers (the serialized model is a protobuf: at most 2 GiB). */
export function initializerBytes(m: ModelData): number {
  return m.initializers.reduce((a, t) => a + t.raw.byteLength, 0);
}
