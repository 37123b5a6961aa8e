export { bioLabels, chunkByWords, collectWordTags, decodeSpans, decodeWordTags, encodeChunks, labelChunks, viterbiBio, wordIndices } from './examples.js';
export type { EncodedChunk, NerDocument, NerSpan, WordTag } from './examples.js';
export { annotateNer, trainNer } from './tasks.js';
export type { NerAnnotateSpec, NerTrainResult, NerTrainSpec, ScratchEncoderSpec } from './tasks.js';
