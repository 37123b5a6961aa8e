export { bioLabels, bioTransitions, chunkByWords, collectWordTags, decodeSpans, decodeWordTags, encodeChunks, ignoredAt, labelChunks, scoreSpans, textWords, unsureWords, viterbiBio, wordIndices } from './examples.js';
export type { EncodedChunk, NerDocument, NerSpan, Transitions, WordTag } from './examples.js';
export { annotateNer, splitDocuments, trainNer } from './tasks.js';
export type { NerAnnotateSpec, NerAnnotation, NerTrainProgress, NerTrainResult, NerTrainSpec, NerValidation, ScratchEncoderSpec } from './tasks.js';
