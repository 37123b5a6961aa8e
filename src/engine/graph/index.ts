export { Graph, Tensor, floatAttr, isFloat } from './graph.js';
export type { Attrs, DType, Dim, GraphOptions, OpNode, OutputSpec, Shape } from './graph.js';
export { gradients, reduceToShape } from './autodiff.js';
