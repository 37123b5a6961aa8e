export { bioLabels, chunkByWords, decodeSpans, encodeChunks, labelChunks } from './examples.js';
export type { EncodedChunk, NerDocument, NerSpan } from './examples.js';
export { annotateNer, trainNer } from './tasks.js';
export type { NerAnnotateSpec, NerTrainResult, NerTrainSpec, ScratchEncoderSpec } from './tasks.js';
