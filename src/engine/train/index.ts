export { latestCheckpoint, loadBestWeights, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
export type { TrainerState } from './checkpoint.js';
export { Rng } from '../runtime/rng.js';
export { NonFiniteLossError, plannedSteps, trainLoop } from './loop.js';
export type { BatchSource, TrainConfig, TrainHooks, TrainProgress, TrainResult, Trainable, Validation } from './loop.js';
export { collate, encoderMaxTokens, tokenClassificationBatches } from './token-classification.js';
export type { TokenClassificationExample } from './token-classification.js';
export { MaskedLmBatches, packWindows } from './mlm.js';
export type { MaskedLmOptions, MaskedLmTokens } from './mlm.js';
