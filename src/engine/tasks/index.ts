export { EngineTaskError, runEngineTask } from './worker.js';
export { generateTexts } from './generate.js';
export type { GenerateTextsProgress, GenerateTextsResult, GenerateTextsSpec } from './generate.js';
export { adaptGenerator, measureHeldOut } from './adapt.js';
export type { AdaptGeneratorSpec, AdaptProgress, AdaptResult, HeldOutLoss } from './adapt.js';
export { heldOutMlmLoss, pretrainDecoder, pretrainEncoder } from './pretrain.js';
export type { DecoderSize, HeldOutMlmLoss, ModelSize, PretrainDecoderSpec, PretrainEncoderProgress, PretrainEncoderResult, PretrainEncoderSpec } from './pretrain.js';
