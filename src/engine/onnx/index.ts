export { ProtoWriter } from './protobuf.js';
export { DataType, encodeModel } from './model.js';
export type { AttrValue, DType, Dim, ModelData, NodeData, TensorData, ValueInfo } from './model.js';
