/**
 * Runs the engine's long tasks (NER training and tagging, text generation) in a worker thread so
 * training and tagging never block the caller's event loop. Progress is relayed, and so are lines
 * for the job's log: on a GPU device, where each session's nodes ran and what the CPU's share cost
 * (runtime/placement.ts). cancel() asks the task to stop between steps (checkpoints already
 * written are kept): terminating a thread inside an onnxruntime call aborts the whole process.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { describePlacement, onPlacementReport } from '../runtime/placement.js';
import { annotateNer, trainNer } from '../ner/tasks.js';
import { adaptGenerator } from './adapt.js';
import { generateTexts } from './generate.js';
import { pretrainDecoder, pretrainEncoder } from './pretrain.js';

const TASKS = { trainNer, annotateNer, generateTexts, adaptGenerator, pretrainDecoder, pretrainEncoder };
type TaskName = keyof typeof TASKS;
type Input<N extends TaskName> = Parameters<(typeof TASKS)[N]>[0];
type Output<N extends TaskName> = Awaited<ReturnType<(typeof TASKS)[N]>>;
type Progress<N extends TaskName> = Parameters<NonNullable<Parameters<(typeof TASKS)[N]>[1]>>[0];

type Message = { type: 'progress'; progress: unknown } | { type: 'log'; line: string } | { type: 'done'; result: unknown } | { type: 'error'; name: string; message: string; step?: number };

export class EngineTaskError extends Error {
  constructor(
    name: string,
    message: string,
    /** The optimizer step a NaN loss was found at, when that is what stopped training. */
    readonly step?: number,
  ) {
    super(message);
    this.name = name;
  }
}

export function runEngineTask<N extends TaskName>(
  task: N,
  input: Input<N>,
  onProgress?: (p: Progress<N>) => void,
  onLog?: (line: string) => void,
): { result: Promise<Output<N>>; cancel: () => Promise<void> } {
  const file = fileURLToPath(import.meta.url);
  if (file.endsWith('.ts')) throw new Error('runEngineTask needs the compiled engine (npm run build); from TypeScript sources call the task functions directly');
  const worker = new Worker(file, { workerData: { kind: 'engine-task', task, input } });
  let settled = false;
  const result = new Promise<Output<N>>((resolve, reject) => {
    worker.on('message', (m: Message) => {
      if (m.type === 'progress') onProgress?.(m.progress as Progress<N>);
      else if (m.type === 'log') onLog?.(m.line);
      else if (m.type === 'done') ((settled = true), resolve(m.result as Output<N>));
      else ((settled = true), reject(new EngineTaskError(m.name, m.message, m.step)));
    });
    worker.on('error', (error) => ((settled = true), reject(error)));
    worker.on('exit', (code) => !settled && reject(new EngineTaskError('NerTaskError', `the ${task} worker stopped (exit code ${code})`)));
  });
  const cancel = async () => {
    if (settled) return;
    worker.postMessage({ type: 'cancel' });
    await result.catch(() => {});
  };
  return { result, cancel };
}

if (!isMainThread && (workerData as { kind?: string } | undefined)?.kind === 'engine-task') {
  const { task, input } = workerData as { task: TaskName; input: never };
  const abort = new AbortController();
  parentPort!.on('message', (m: { type: string }) => m.type === 'cancel' && abort.abort());
  onPlacementReport((report) => parentPort!.postMessage({ type: 'log', line: describePlacement(report) } satisfies Message));
  (TASKS[task] as (input: never, onProgress: (p: unknown) => void, signal: AbortSignal) => Promise<unknown>)(
    input,
    (progress) => parentPort!.postMessage({ type: 'progress', progress } satisfies Message),
    abort.signal,
  )
    .then((result) => parentPort!.postMessage({ type: 'done', result } satisfies Message))
    .catch((e: Error & { step?: number }) =>
      parentPort!.postMessage({ type: 'error', name: e.name, message: e.message, ...(e.step !== undefined ? { step: e.step } : {}) } satisfies Message),
    )
    // Let the thread end on its own once the task has answered.
    .finally(() => parentPort!.close());
}
