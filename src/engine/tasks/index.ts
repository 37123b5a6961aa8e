export { EngineTaskError, runEngineTask } from './worker.js';
export { generateTexts } from './generate.js';
export type { GenerateTextsProgress, GenerateTextsResult, GenerateTextsSpec } from './generate.js';
export { adaptGenerator } from './adapt.js';
export type { AdaptGeneratorSpec, AdaptProgress, AdaptResult } from './adapt.js';
export { pretrainDecoder } from './pretrain.js';
export type { DecoderSize, PretrainDecoderSpec } from './pretrain.js';
