export { latestCheckpoint, loadBestWeights, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
export type { TrainerState } from './checkpoint.js';
export { Rng } from './rng.js';
export { NonFiniteLossError, collate, trainStep, trainTokenClassification } from './token-classification.js';
export type { TokenClassificationExample, TrainConfig, TrainProgress, TrainResult, Validation } from './token-classification.js';
export { runTrainJob } from './job.js';
export type { TrainJob, TrainJobResult } from './job.js';
