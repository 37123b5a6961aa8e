export { EngineTaskError, runEngineTask } from './worker.js';
export { generateTexts } from './generate.js';
export type { GenerateTextsProgress, GenerateTextsResult, GenerateTextsSpec } from './generate.js';
export { adaptGenerator } from './adapt.js';
export type { AdaptGeneratorSpec, AdaptProgress, AdaptResult } from './adapt.js';
export { heldOutMlmLoss, pretrainDecoder, pretrainEncoder } from './pretrain.js';
export type { DecoderSize, HeldOutMlmLoss, ModelSize, PretrainDecoderSpec, PretrainEncoderProgress, PretrainEncoderResult, PretrainEncoderSpec } from './pretrain.js';
