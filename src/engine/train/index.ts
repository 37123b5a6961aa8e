export { latestCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
export type { TrainerState } from './checkpoint.js';
export { Rng } from './rng.js';
export { NonFiniteLossError, collate, trainTokenClassification } from './token-classification.js';
export type { TokenClassificationExample, TrainConfig, TrainProgress, TrainResult } from './token-classification.js';
