// Privacy-metric benchmark: a synthetic corpus 4× MEDDOCAN train's size (2,000 documents, built by
// shuffling sentences of the dev split, so overlap with train is partial) against the train split.
// Run: npx tsc -p tsconfig.json && node dist/bench/privacy.bench.js
import path from 'node:path';
import { PROJECT_ROOT } from '../src/common/paths.js';
import { indexRealCorpus, privacyReport, readBratDirectory, shuffledSentenceCorpus } from '../src/scoring/index.js';

const dataDir = path.resolve(PROJECT_ROOT, '../shared/data/meddocan');

const t0 = performance.now();
const train = readBratDirectory(path.join(dataDir, 'train'));
const dev = readBratDirectory(path.join(dataDir, 'dev'));
const trainChars = train.reduce((a, d) => a + d.text.length, 0);
const synthetic = shuffledSentenceCorpus(dev, { documents: 2000, charsPerDocument: Math.round((4 * trainChars) / 2000), seed: 7 });
const synthChars = synthetic.reduce((a, d) => a + d.text.length, 0);
const t1 = performance.now();
const index = indexRealCorpus(train, { n: 5 });
const t2 = performance.now();
const report = privacyReport(synthetic, index);
const t3 = performance.now();

const s = (ms: number): string => `${(ms / 1000).toFixed(3)} s`;
console.log(`load+build corpora : ${s(t1 - t0)}  (train ${train.length} docs / ${trainChars} chars; synthetic ${synthetic.length} docs / ${synthChars} chars)`);
console.log(`index train        : ${s(t2 - t1)}`);
console.log(`privacy report     : ${s(t3 - t2)}  (${(synthetic.length / ((t3 - t2) / 1000)).toFixed(0)} docs/s, ${(synthChars / 1e6 / ((t3 - t2) / 1000)).toFixed(2)} M chars/s)`);
console.log(`index + report     : ${s(t3 - t1)}`);
console.log(`5-gram overlap     : corpus ${report.ngramOverlap.corpus.toFixed(4)}, doc mean ${report.ngramOverlap.documentMean.toFixed(4)} (${report.ngramOverlap.matchedNgrams}/${report.ngramOverlap.totalNgrams})`);
console.log(`PHI reproduced     : ${report.phiReproduction.reproduced}/${report.phiReproduction.realStrings} distinct strings (${report.phiReproduction.occurrences} occurrences)`);
console.log(`longest copied     : ${report.longestCopied?.words ?? 0} words, ${report.longestCopied?.syntheticDocId} ← ${report.longestCopied?.realDocId}`);
console.log(`nearest Jaccard    : mean ${report.nearestReal.meanJaccard.toFixed(4)}, max ${report.nearestReal.maxJaccard.toFixed(4)}`);
