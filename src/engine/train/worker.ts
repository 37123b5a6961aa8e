// Runs a TrainJob in a worker thread so training never blocks the caller's event loop.
// Messages from the worker: { type: 'progress', progress } | { type: 'done', result } | { type: 'error', message, name, step? }.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { runTrainJob } from './job.js';
import type { TrainJob, TrainJobResult } from './job.js';
import type { TrainProgress } from './token-classification.js';

type Message =
  | { type: 'progress'; progress: TrainProgress }
  | { type: 'done'; result: TrainJobResult }
  | { type: 'error'; message: string; name: string; step?: number };

export class TrainJobError extends Error {
  constructor(
    message: string,
    readonly step?: number,
  ) {
    super(message);
    this.name = 'TrainJobError';
  }
}

/**
 * Train in a worker thread. Needs the compiled JavaScript (dist/…/worker.js); under a
 * TypeScript-only runner call runTrainJob directly instead.
 */
export function trainInWorker(job: TrainJob, onProgress?: (p: TrainProgress) => void): { result: Promise<TrainJobResult>; cancel: () => Promise<void> } {
  const file = fileURLToPath(import.meta.url);
  if (file.endsWith('.ts')) throw new Error('trainInWorker needs the compiled engine (npm run build); use runTrainJob in-process from TypeScript sources');
  const worker = new Worker(file, { workerData: { kind: 'engine-train-job', job } });
  const result = new Promise<TrainJobResult>((resolve, reject) => {
    worker.on('message', (m: Message) => {
      if (m.type === 'progress') onProgress?.(m.progress);
      else if (m.type === 'done') resolve(m.result);
      else reject(new TrainJobError(m.message, m.step));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => code !== 0 && reject(new TrainJobError(`training worker exited with code ${code}`)));
  });
  return { result, cancel: async () => void (await worker.terminate()) };
}

if (!isMainThread && (workerData as { kind?: string } | undefined)?.kind === 'engine-train-job') {
  const { job } = workerData as { job: TrainJob };
  runTrainJob(job, (progress) => parentPort!.postMessage({ type: 'progress', progress } satisfies Message))
    .then((result) => parentPort!.postMessage({ type: 'done', result } satisfies Message))
    .catch((e: Error & { step?: number }) => parentPort!.postMessage({ type: 'error', message: e.message, name: e.name, ...(e.step !== undefined ? { step: e.step } : {}) } satisfies Message));
}
