export { exportForTransformersJs, TRANSFORMERS_JS_TASKS } from './transformers-js.js';
export type { ExportSource, TransformersJsExport, TransformersJsExportOptions, TransformersJsTask } from './transformers-js.js';
export { buildDecoderExportGraph, decoderIoNames, DECODER_EXPORT_TYPES } from './decoder-graph.js';
export { buildEncoderExportGraph, ENCODER_EXPORT_TYPES } from './encoder-graph.js';
