// A training job as plain data (file paths, configs, examples): `runTrainJob` does the work.
// The platform runs engine work off the event loop through src/engine/tasks (runEngineTask).
import { EncoderModel } from '../models/bert/model.js';
import { parseEncoderConfig } from '../models/bert/config.js';
import type { Device } from '../runtime/session.js';
import { trainTokenClassification } from './token-classification.js';
import type { TokenClassificationExample, TrainConfig, TrainProgress, TrainResult } from './token-classification.js';

export interface TrainJob {
  /** Start from a Hugging Face folder (config.json + model.safetensors) ... */
  modelDir?: string;
  /** ... or from scratch with this config.json content. */
  modelConfig?: Record<string, unknown>;
  /** Label names by id; a new classifier head is made when the checkpoint has none. */
  id2label?: Record<number, string>;
  /** Where the trained model (config.json + model.safetensors) is written. */
  outputDir: string;
  data: TokenClassificationExample[];
  train: TrainConfig;
  resume?: boolean;
  device?: Device;
  intraOpThreads?: number;
  seed?: number;
}

export interface TrainJobResult extends TrainResult {
  outputDir: string;
}

export async function runTrainJob(job: TrainJob, onProgress?: (p: TrainProgress) => void, signal?: AbortSignal): Promise<TrainJobResult> {
  const opts = {
    ...(job.device ? { device: job.device } : {}),
    ...(job.intraOpThreads ? { intraOpThreads: job.intraOpThreads } : {}),
    ...(job.id2label ? { id2label: job.id2label } : {}),
    seed: job.seed ?? 0,
  };
  let model: EncoderModel;
  if (job.modelDir) model = await EncoderModel.fromPretrained(job.modelDir, opts);
  else if (job.modelConfig) {
    const raw = { ...job.modelConfig, ...(job.id2label ? { id2label: job.id2label, num_labels: Object.keys(job.id2label).length } : {}) };
    model = EncoderModel.fromConfig(parseEncoderConfig(raw), opts);
  } else throw new Error('TrainJob needs modelDir (a Hugging Face folder) or modelConfig (config.json content)');
  try {
    const res = await trainTokenClassification(model, job.data, job.train, { ...(onProgress ? { onProgress } : {}), ...(job.resume ? { resume: true } : {}), ...(signal ? { signal } : {}) });
    await model.save(job.outputDir);
    return { ...res, outputDir: job.outputDir };
  } finally {
    await model.release();
  }
}
