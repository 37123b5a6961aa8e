// ONNX ModelProto as plain data, and its encoding to bytes (onnx.proto3 field numbers).
// onnxruntime-node's InferenceSession.create(Uint8Array) takes the result.
import { ProtoWriter } from './protobuf.js';

/** ONNX TensorProto.DataType values for the element types the engine uses. */
export const DataType = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
} as const;
export type DType = keyof typeof DataType;

/** A dimension: a fixed size, or a symbolic name (e.g. 'B', 'T') resolved at run time. */
export type Dim = number | string;

export type AttrValue =
  | { kind: 'float'; value: number }
  | { kind: 'int'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'floats'; value: number[] }
  | { kind: 'ints'; value: number[] }
  | { kind: 'tensor'; value: TensorData }
  | { kind: 'graph'; value: GraphData };

export interface NodeData {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attributes?: Record<string, AttrValue>;
}

export interface TensorData {
  name: string;
  dtype: DType;
  dims: number[];
  /** Raw little-endian bytes of the values. */
  raw: Uint8Array;
}

export interface ValueInfo {
  name: string;
  dtype: DType;
  shape: Dim[];
}

/** A graph: a model's, or a subgraph (a Loop's body) that may read the enclosing graph's values by name. */
export interface GraphData {
  graphName: string;
  nodes: NodeData[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: TensorData[];
}

export interface ModelData extends GraphData {
  /** Default-domain opset; com.microsoft is imported at version 1 when any node uses it. */
  opset: number;
  irVersion?: number;
}

const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7 } as const;

function writeTensor(w: ProtoWriter, t: TensorData): void {
  if (t.dims.length) w.packedInts(1, t.dims);
  w.int(2, DataType[t.dtype]);
  w.string(8, t.name);
  w.bytes(9, t.raw);
}

function writeValueInfo(w: ProtoWriter, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, DataType[v.dtype]);
      tt.message(2, (shape) => {
        for (const d of v.shape) {
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        }
      });
    }),
  );
}

function writeAttribute(w: ProtoWriter, name: string, a: AttrValue): void {
  w.string(1, name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value);
      break;
    case 'int':
      w.int(3, a.value);
      break;
    case 'string':
      w.string(4, a.value);
      break;
    case 'tensor':
      w.message(5, (t) => writeTensor(t, a.value));
      break;
    case 'graph':
      w.message(6, (g) => writeGraph(g, a.value));
      break;
    case 'floats':
      w.packedFloats(7, a.value);
      break;
    case 'ints':
      w.packedInts(8, a.value);
      break;
  }
  w.int(20, ATTR_TYPE[a.kind]);
}

function writeNode(w: ProtoWriter, n: NodeData): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const [k, a] of Object.entries(n.attributes ?? {})) w.message(5, (aw) => writeAttribute(aw, k, a));
  if (n.domain) w.string(7, n.domain);
}

function writeGraph(g: ProtoWriter, d: GraphData): void {
  for (const n of d.nodes) g.message(1, (nw) => writeNode(nw, n));
  g.string(2, d.graphName);
  for (const t of d.initializers) g.message(5, (tw) => writeTensor(tw, t));
  for (const v of d.inputs) g.message(11, (vw) => writeValueInfo(vw, v));
  for (const v of d.outputs) g.message(12, (vw) => writeValueInfo(vw, v));
}

/** Whether any node of the graph or its subgraphs is of `domain`. */
function usesDomain(d: GraphData, domain: string): boolean {
  return d.nodes.some((n) => n.domain === domain || Object.values(n.attributes ?? {}).some((a) => a.kind === 'graph' && usesDomain(a.value, domain)));
}

export function encodeModel(m: ModelData): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, m.irVersion ?? 8);
  w.string(2, 'deid-synth-engine');
  w.message(7, (g) => writeGraph(g, m));
  w.message(8, (o) => o.string(1, '').int(2, m.opset));
  if (usesDomain(m, 'com.microsoft')) w.message(8, (o) => o.string(1, 'com.microsoft').int(2, 1));
  return w.finish();
}
