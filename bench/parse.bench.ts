/**
 * Parse + validate MEDDOCAN train (BRAT) five times and report throughput.
 *   npx tsc -p tsconfig.json && node dist/bench/parse.bench.js
 * Reads ../shared/data/meddocan/train relative to the repository root.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseCorpus, type InputFile } from '../src/corpora/formats/index.js';
import { PROJECT_ROOT } from '../src/common/paths.js';

const ROUNDS = 5;
const dir = path.resolve(PROJECT_ROOT, '../shared/data/meddocan/train');
const t0 = performance.now();
const files: InputFile[] = readdirSync(dir)
  .sort()
  .map((name) => ({ path: `train/${name}`, bytes: readFileSync(path.join(dir, name)) }));
const readMs = performance.now() - t0;

const times: number[] = [];
let docs = 0, spans = 0;
for (let round = 0; round < ROUNDS; round++) {
  const start = performance.now();
  const corpus = parseCorpus(files, { format: 'BRAT' });
  times.push(performance.now() - start);
  docs = corpus.documents.length;
  spans = corpus.documents.reduce((n, d) => n + d.spans.length, 0);
}
const best = Math.min(...times), mean = times.reduce((a, b) => a + b, 0) / ROUNDS;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(`MEDDOCAN train: ${files.length} files read in ${readMs.toFixed(1)} ms; ${docs} documents, ${spans} spans`);
console.log(`parse+validate ×${ROUNDS}: ${times.map((t) => t.toFixed(1)).join(', ')} ms (best ${best.toFixed(1)}, mean ${mean.toFixed(1)})`);
console.log(`best: ${fmt((docs / best) * 1000)} docs/s, ${fmt((spans / best) * 1000)} spans/s; mean: ${fmt((docs / mean) * 1000)} docs/s, ${fmt((spans / mean) * 1000)} spans/s`);
