export { exportForTransformersJs, TRANSFORMERS_JS_TASKS } from './transformers-js.js';
export type { ExportSource, TransformersJsExport, TransformersJsExportOptions, TransformersJsTask } from './transformers-js.js';
export { buildDecoderExportGraph, decoderIoNames } from './decoder-graph.js';
export { buildEncoderExportGraph } from './encoder-graph.js';
