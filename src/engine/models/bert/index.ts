export { SUPPORTED_ACTIVATIONS, encoderConfigJson, parseEncoderConfig } from './config.js';
export type { EncoderConfig, EncoderModelType } from './config.js';
export { ENCODER_HEADS, buildEncoderGraph, encoderParamSpecs } from './encoder.js';
export type { EncoderGraph, EncoderHead, ParamSpec } from './encoder.js';
export { ENCODER_ARCHITECTURES, EncoderModel } from './model.js';
export type { EncoderBatch, EncoderOptions, LossAndGrads } from './model.js';
export { loadEncoder } from './load.js';
