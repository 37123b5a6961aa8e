/**
 * A small pool of worker threads for the CPU-heavy parts of jobs (parsing uploads, writing
 * exports). Threads start lazily and are reused; a task's error comes back as the same error class.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { deserializeError, type CpuTaskInput, type CpuTaskName, type CpuTaskOutput, type SerializedError } from './cpu-tasks.js';

interface Pending {
  worker: Worker;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class CpuPool {
  private readonly workers: { worker: Worker; busy: number }[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(private readonly size = Math.max(1, Math.min(2, os.availableParallelism() - 1))) {}

  run<N extends CpuTaskName>(task: N, input: CpuTaskInput<N>): Promise<CpuTaskOutput<N>> {
    const slot = this.pick();
    const id = this.nextId++;
    slot.busy++;
    return new Promise<CpuTaskOutput<N>>((resolve, reject) => {
      this.pending.set(id, {
        worker: slot.worker,
        resolve: (value) => {
          slot.busy--;
          resolve(value as CpuTaskOutput<N>);
        },
        reject: (error) => {
          slot.busy--;
          reject(error);
        },
      });
      slot.worker.postMessage({ id, task, input });
    });
  }

  private pick() {
    if (this.workers.length < this.size && this.workers.every((w) => w.busy > 0)) {
      const worker = new Worker(new URL('./cpu-tasks.js', import.meta.url));
      worker.on('message', (message: { id: number; ok: boolean; result?: unknown; error?: SerializedError }) => {
        const pending = this.pending.get(message.id);
        if (!pending) return;
        this.pending.delete(message.id);
        if (message.ok) pending.resolve(message.result);
        else pending.reject(deserializeError(message.error!));
      });
      worker.on('error', (error) => {
        // A thread that died fails the tasks it had; the next task starts a fresh one.
        for (const [id, pending] of this.pending) {
          if (pending.worker !== worker) continue;
          this.pending.delete(id);
          pending.reject(error);
        }
        const index = this.workers.findIndex((w) => w.worker === worker);
        if (index >= 0) this.workers.splice(index, 1);
      });
      worker.unref();
      this.workers.push({ worker, busy: 0 });
    }
    return this.workers.reduce((least, w) => (w.busy < least.busy ? w : least));
  }

  async close() {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    this.workers.length = 0;
  }
}
