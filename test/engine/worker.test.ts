import { HF_TINY } from '../support/paths.js';
// Training in a worker thread: the worker runs compiled JavaScript, so this test compiles
// the engine's training entry (and what it imports) with tsc into node_modules/.cache first.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as WorkerModule from '../../src/engine/train/worker.js';

const ROOT = resolve(import.meta.dirname, '../..');
const OUT = join(ROOT, 'node_modules/.cache/engine-worker-test');
const tmp = await mkdtemp(join(tmpdir(), 'engine-worker-'));
let mod: typeof WorkerModule;

beforeAll(async () => {
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const flags = ['--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--esModuleInterop', '--strict'];
  await promisify(execFile)(process.execPath, [tsc, ...flags, '--outDir', OUT, '--rootDir', join(ROOT, 'src'), join(ROOT, 'src/engine/train/worker.ts')]);
  mod = (await import(join(OUT, 'engine/train/worker.js'))) as typeof WorkerModule;
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('trainInWorker', () => {
  it('should train off the main thread, relaying progress while the event loop stays free', async () => {
    const data = Array.from({ length: 32 }, (_, i) => ({ inputIds: [2, 10 + (i % 20), 30 + (i % 7), 3], labels: [-100, i % 3, (i + 1) % 3, -100] }));
    const progress: number[] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const { result } = mod.trainInWorker(
      { modelDir: join(HF_TINY, 'bert-tiny-ner'), id2label: { 0: 'O', 1: 'B-X', 2: 'I-X' }, outputDir: join(tmp, 'out'), data, train: { batchSize: 4, epochs: 2, lr: 1e-3 }, intraOpThreads: 1 },
      (p) => progress.push(p.step),
    );
    const res = await result;
    clearInterval(timer);
    expect(res.steps).toBe(16);
    expect(progress).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
    expect(ticks).toBeGreaterThan(3);
  });

  it('should reject with the worker-side error message', async () => {
    const { result } = mod.trainInWorker({ outputDir: join(tmp, 'bad'), data: [], train: {} });
    await expect(result).rejects.toThrow(/TrainJob needs modelDir/);
  });
});
