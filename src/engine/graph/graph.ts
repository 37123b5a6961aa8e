// A small typed ONNX graph builder.
//
// Two layers live in one Graph:
//  - `OpNode`s: the differentiable ops (one per call of an op in src/engine/ops), each with
//    inputs, outputs and attributes. The autodiff driver walks these.
//  - ONNX `NodeData`: what is actually serialized. An op emits one or more ONNX nodes.
// `toModel()` prunes every ONNX node that no requested output depends on, because
// onnxruntime does not prune: a session would otherwise run the backward pass even when
// only logits are fetched. So one Graph can hold forward + backward, and you serialize
// an inference model (outputs: logits) and a training model (outputs: loss + grads) from it.
import { encodeModel } from '../onnx/model.js';
import type { AttrValue, DType, Dim, ModelData, NodeData, TensorData, ValueInfo } from '../onnx/model.js';

export type { DType, Dim } from '../onnx/model.js';
export type Shape = Dim[];

export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
    /** The op that produced this tensor; null for graph inputs and constants. */
    readonly producer: OpNode | null,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  toString(): string {
    return `${this.name}:${this.dtype}[${this.shape.join(',')}]`;
  }
}

export type Attrs = Record<string, unknown>;

export interface OpNode {
  id: number;
  /** Key into the gradient-rule table (GRAD_RULES in src/engine/ops/rules.ts). */
  op: string;
  inputs: Tensor[];
  outputs: Tensor[];
  attrs: Attrs;
}

export interface GraphOptions {
  /**
   * Allow com.microsoft contrib ops (FusedMatMul) where they save a Transpose.
   * The CPU execution provider has them; WebGPU does not place FusedMatMul. Default false.
   */
  contribOps?: boolean;
  /**
   * Cross-entropy's log-softmax as onnxruntime's LogSoftmax kernel (default true). WebGPU has no
   * such kernel: there it is ReduceMax, Sub, Exp, ReduceSum, Log and Sub on the device, instead of
   * the logits going to the host and back every step (62.5 MiB each way for a 16×128 step of an
   * 8,000-token vocabulary).
   */
  logSoftmaxKernel?: boolean;
}

export interface SerializeOptions {
  /** Keep inputs no kept node reads (default true). */
  keepAllInputs?: boolean;
  /**
   * Float32 inputs to hold as constants (initializers) with these values instead of taking them
   * as inputs: a model's fixed weights, which onnxruntime then folds into the graph and prepacks,
   * and which a GPU receives once at session creation instead of with every run.
   */
  constants?: ReadonlyMap<string, Float32Array>;
}

export interface OutputSpec {
  name: string;
  tensor: Tensor;
}

const FLOAT_TYPES: ReadonlySet<DType> = new Set(['float32', 'float64', 'float16']);
export const isFloat = (d: DType): boolean => FLOAT_TYPES.has(d);

export class Graph {
  readonly ops: OpNode[] = [];
  readonly nodes: NodeData[] = [];
  readonly inputs: Tensor[] = [];
  readonly initializers: TensorData[] = [];
  readonly outputs: OutputSpec[] = [];
  readonly options: Required<GraphOptions>;
  private counter = 0;
  private scalars = new Map<string, Tensor>();
  private memo = new Map<string, string>();
  private names = new Set<string>();

  constructor(readonly name = 'graph', options: GraphOptions = {}) {
    this.options = { contribOps: options.contribOps ?? false, logSoftmaxKernel: options.logSoftmaxKernel ?? true };
  }

  /** A fresh unique value name. */
  fresh(prefix = 't'): string {
    let n: string;
    do n = `${prefix}_${this.counter++}`;
    while (this.names.has(n));
    this.names.add(n);
    return n;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`Graph '${this.name}': value name '${name}' is already used`);
    this.names.add(name);
    return name;
  }

  /** Declare a graph input. Symbolic dims (strings) are bound at run time. */
  input(name: string, dtype: DType, shape: Shape): Tensor {
    const t = new Tensor(this, this.claim(name), dtype, [...shape], null);
    this.inputs.push(t);
    return t;
  }

  /** A constant baked into the model (initializer). */
  constant(values: ArrayLike<number> | ArrayLike<bigint>, shape: number[], dtype: DType = 'float32', name?: string): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    if (values.length !== n) throw new Error(`constant: ${values.length} values for shape [${shape}]`);
    const raw = toRaw(values, dtype);
    const t = new Tensor(this, name ? this.claim(name) : this.fresh('const'), dtype, [...shape], null);
    this.initializers.push({ name: t.name, dtype, dims: [...shape], raw });
    return t;
  }

  /** A rank-0 constant, shared between uses. */
  scalar(value: number, dtype: DType = 'float32'): Tensor {
    const key = `${dtype}:${Object.is(value, -0) ? '-0' : value}`;
    let t = this.scalars.get(key);
    if (!t) {
      t = this.constant(dtype === 'int64' ? [BigInt(value)] : [value], [], dtype);
      this.scalars.set(key, t);
    }
    return t;
  }

  /** A 1-D int64 constant (axes, shapes, slice bounds). */
  ints(values: number[]): Tensor {
    const key = `ints:${values.join(',')}`;
    let t = this.scalars.get(key);
    if (!t) {
      t = this.constant(values.map((v) => BigInt(v)), [values.length], 'int64');
      this.scalars.set(key, t);
    }
    return t;
  }

  /** A value emitted once per key and shared by every later use (e.g. a ones vector per row count). */
  shared(key: string, make: () => string): string {
    let v = this.memo.get(key);
    if (v === undefined) this.memo.set(key, (v = make()));
    return v;
  }

  /** Mark a tensor as a graph output under `name` (adds an Identity when renamed). */
  output(tensor: Tensor, name: string = tensor.name): Tensor {
    if (name !== tensor.name) {
      this.claim(name);
      this.nodes.push({ opType: 'Identity', inputs: [tensor.name], outputs: [name] });
      tensor = new Tensor(this, name, tensor.dtype, tensor.shape, tensor.producer);
    }
    this.outputs.push({ name, tensor });
    return tensor;
  }

  /** Emit a raw ONNX node (no autodiff record). Returns the output value names. */
  emit(opType: string, inputs: (Tensor | string)[], nOutputs = 1, attrs: Attrs = {}, domain?: string): string[] {
    const outputs = Array.from({ length: nOutputs }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push({
      opType,
      inputs: inputs.map((i) => (typeof i === 'string' ? i : i.name)),
      outputs,
      attributes: toAttributes(attrs),
      ...(domain ? { domain } : {}),
    });
    return outputs;
  }

  /** A Tensor for a value that `emit` produced (no autodiff record: not differentiable), e.g. to make it an output. */
  value(name: string, dtype: DType, shape: Shape): Tensor {
    return new Tensor(this, name, dtype, [...shape], null);
  }

  /**
   * Record a differentiable op. `emit` writes its ONNX nodes and returns the output names
   * (default: one ONNX node of type `op` with `attrs`).
   */
  apply(
    op: string,
    inputs: Tensor[],
    outs: { dtype: DType; shape: Shape }[],
    attrs: Attrs = {},
    emit?: (g: Graph) => string[],
  ): Tensor[] {
    for (const i of inputs) {
      if (i.graph !== this) throw new Error(`${op}: input ${i.name} belongs to another graph`);
    }
    const names = emit ? emit(this) : this.emit(op, inputs, outs.length, attrs);
    const node: OpNode = { id: this.ops.length, op, inputs, outputs: [], attrs };
    node.outputs = outs.map((o, k) => new Tensor(this, names[k]!, o.dtype, [...o.shape], node));
    this.ops.push(node);
    return node.outputs;
  }

  /** Plain data for the ONNX model, keeping only what the outputs need. */
  toModel(outputNames?: string[], opts: SerializeOptions = {}): ModelData {
    const outs = outputNames
      ? outputNames.map((n) => {
          const o = this.outputs.find((x) => x.name === n);
          if (!o) throw new Error(`Graph '${this.name}' has no output '${n}'; outputs: ${this.outputs.map((x) => x.name).join(', ')}`);
          return o;
        })
      : this.outputs;
    const live = new Set(outs.map((o) => o.name));
    const kept: NodeData[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i]!;
      if (n.outputs.some((o) => live.has(o))) {
        kept.push(n);
        for (const x of n.inputs) if (x) live.add(x);
      }
    }
    kept.reverse();
    const info = (t: Tensor, name = t.name): ValueInfo => ({ name, dtype: t.dtype, shape: t.shape });
    const constants: TensorData[] = [];
    const inputs: ValueInfo[] = [];
    for (const t of this.inputs) {
      if (opts.keepAllInputs === false && !live.has(t.name)) continue;
      const values = opts.constants?.get(t.name);
      if (!values) {
        inputs.push(info(t));
        continue;
      }
      const n = t.shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : NaN), 1);
      if (t.dtype !== 'float32' || values.length !== n) throw new Error(`constant input '${t.name}': ${values.length} float32 values for a ${t.dtype} input of shape [${t.shape}]`);
      constants.push({ name: t.name, dtype: 'float32', dims: t.shape as number[], raw: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
    }
    return {
      graphName: this.name,
      nodes: kept,
      inputs,
      outputs: outs.map((o) => info(o.tensor, o.name)),
      initializers: [...this.initializers.filter((t) => live.has(t.name)), ...constants],
      opset: 20,
      irVersion: 9,
    };
  }

  /** Serialized ONNX ModelProto bytes for InferenceSession.create(). */
  toBytes(outputNames?: string[], opts: SerializeOptions = {}): Uint8Array {
    return encodeModel(this.toModel(outputNames, opts));
  }
}

function toRaw(values: ArrayLike<number> | ArrayLike<bigint>, dtype: DType): Uint8Array {
  const n = values.length;
  let arr: ArrayBufferView;
  switch (dtype) {
    case 'float32':
      arr = Float32Array.from(values as ArrayLike<number>);
      break;
    case 'float64':
      arr = Float64Array.from(values as ArrayLike<number>);
      break;
    case 'int64': {
      const a = new BigInt64Array(n);
      for (let i = 0; i < n; i++) a[i] = BigInt(values[i]!);
      arr = a;
      break;
    }
    case 'int32':
      arr = Int32Array.from(values as ArrayLike<number>);
      break;
    case 'bool':
    case 'uint8':
      arr = Uint8Array.from(values as ArrayLike<number>);
      break;
    default:
      throw new Error(`constant: unsupported dtype ${dtype}`);
  }
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}

function toAttributes(attrs: Attrs): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    if (typeof v === 'number') out[k] = Number.isInteger(v) ? { kind: 'int', value: v } : { kind: 'float', value: v };
    else if (typeof v === 'string') out[k] = { kind: 'string', value: v };
    else if (Array.isArray(v)) out[k] = { kind: 'ints', value: v as number[] };
    else if (typeof v === 'object' && v !== null && 'kind' in v) out[k] = v as AttrValue;
    else throw new Error(`attribute ${k}: unsupported value ${String(v)}`);
  }
  return out;
}

/** Helper for float attributes that happen to be integers (e.g. alpha = 1). */
export const floatAttr = (value: number): AttrValue => ({ kind: 'float', value });
