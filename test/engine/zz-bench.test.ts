import { it } from 'vitest';
import { benchmarkEncoder } from '../../src/engine/train/benchmark.js';
it('bench', async () => {
  for (const contribOps of [false, true]) console.log(contribOps, await benchmarkEncoder({ intraOpThreads: 2, contribOps, iterations: 4 }));
}, 600000);
