import { beforeAll, describe, expect, it } from 'vitest';
import { indexRealCorpus, privacyMetricRows, privacyReport, shuffledSentenceCorpus, type PlainDocument, type ScoringDocument } from '../../src/scoring/index.js';
import { loadSplit } from './helpers.js';

describe('privacyReport on hand-made texts (n = 3)', () => {
  const real: ScoringDocument[] = [
    { id: 'R1', text: 'uno dos tres cuatro cinco seis siete', spans: [] },
    { id: 'R2', text: 'Ana Ruiz vive en Madrid. Tel: +34 600. Sexo: H.', spans: [
      { start: 0, end: 8, label: 'NOMBRE' }, // Ana Ruiz
      { start: 17, end: 23, label: 'TERRITORIO' }, // Madrid
      { start: 30, end: 37, label: 'TELEFONO' }, // +34 600
      { start: 45, end: 46, label: 'SEXO' }, // H
    ] },
  ];
  const synthetic: PlainDocument[] = [
    { id: 'S1', text: 'uno dos tres cuatro X Y' },
    { id: 'S2', text: 'UNO, DOS; TRES' },
    { id: 'S3', text: 'a' },
    { id: 'S4', text: 'Ana Ruizes de madrid (Madrid) llamó al +34 600, Ana Ruiz' },
  ];
  const r = privacyReport(synthetic, real, { n: 3 });

  it('should count the share of synthetic word n-grams found in the real text', () => {
    // S1 3-grams: [uno dos tres] ✓ [dos tres cuatro] ✓ [tres cuatro x] ✗ [cuatro x y] ✗ → 2/4
    // S2 (case-folded, punctuation is not a word): [uno dos tres] ✓ → 1/1;  S3: no 3-gram
    // S4: 11 words (ana ruizes de madrid madrid llamó al 34 600 ana ruiz) → 9 3-grams; R2 has
    // "tel 34 600" and "34 600 sexo" but no 3-gram of S4 → 0/9
    expect(r.perDocument.map((d) => [d.ngrams, d.matchedNgrams])).toEqual([[4, 2], [1, 1], [0, 0], [9, 0]]);
    // corpus: (2 + 1 + 0)/(4 + 1 + 9) = 3/14; document mean over docs with n-grams: (1/2 + 1 + 0)/3 = 1/2
    expect(r.ngramOverlap.corpus).toBeCloseTo(3 / 14, 15);
    expect(r.ngramOverlap.documentMean).toBeCloseTo(1 / 2, 15);
  });

  it('should respect case when asked to', () => {
    const cs = privacyReport(synthetic, real, { n: 3, caseSensitive: true });
    expect(cs.perDocument[1]!.matchedNgrams).toBe(0);
  });

  it('should find the longest verbatim run in words and its real document', () => {
    expect(r.longestCopied).toEqual({ words: 4, syntheticDocId: 'S1', realDocId: 'R1', text: 'uno dos tres cuatro' });
    expect(r.perDocument.map((d) => d.longestCopiedWords)).toEqual([4, 3, 0, 0]);
  });

  it('should give the nearest real document by Jaccard of distinct n-gram sets', () => {
    // S1: 4 distinct, R1: 5 distinct (7 words), 2 shared → 2/(4 + 5 − 2) = 2/7
    expect(r.perDocument[0]).toMatchObject({ nearestRealDocId: 'R1' });
    expect(r.perDocument[0]!.nearestJaccard).toBeCloseTo(2 / 7, 15);
    // S2: 1 distinct, shared 1 → 1/(1 + 5 − 1) = 1/5
    expect(r.perDocument[1]!.nearestJaccard).toBeCloseTo(1 / 5, 15);
    expect(r.perDocument[2]).toMatchObject({ nearestRealDocId: null, nearestJaccard: 0 });
  });

  it('should count real PHI strings reproduced case-sensitively as whole words', () => {
    // "Ana Ruizes" is not whole-word, but the final "Ana Ruiz" is; "madrid" has the wrong case,
    // "(Madrid)" counts; "+34 600" counts; "H" does not occur as a word in any synthetic text
    expect(r.phiReproduction).toMatchObject({ realStrings: 4, reproduced: 3, occurrences: 3 });
    expect(r.phiReproduction.share).toBeCloseTo(3 / 4, 15);
    expect(r.phiReproduction.perLabel).toEqual({
      NOMBRE: { realStrings: 1, reproduced: 1, share: 1, occurrences: 1 },
      SEXO: { realStrings: 1, reproduced: 0, share: 0, occurrences: 0 },
      TELEFONO: { realStrings: 1, reproduced: 1, share: 1, occurrences: 1 },
      TERRITORIO: { realStrings: 1, reproduced: 1, share: 1, occurrences: 1 },
    });
  });

  it('should refuse options that contradict a prebuilt index', () => {
    expect(() => privacyReport(synthetic, indexRealCorpus(real, { n: 3 }), { n: 5 })).toThrow(/index was built with 3/);
  });

  it('should produce metric rows', () => {
    const rows = privacyMetricRows(r, 'synthetic');
    expect(rows.find((x) => x.name === 'ngram3_overlap')?.value).toBeCloseTo(3 / 14, 15);
    expect(rows.find((x) => x.name === 'phi_reproduced_share' && x.label === 'SEXO')?.value).toBe(0);
  });
});

/** Independent reference: words, n-grams as joined strings, longest common run by dynamic programming. */
function words(text: string): string[] {
  return [...text.matchAll(/[\p{L}\p{M}\p{N}]+/gu)].map((m) => m[0].toLowerCase());
}
function grams(w: string[], n: number): string[] {
  return Array.from({ length: Math.max(0, w.length - n + 1) }, (_, i) => w.slice(i, i + n).join(' '));
}
function longestCommonRun(a: string[], b: string[]): number {
  let best = 0;
  let prev = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    const cur = new Int32Array(b.length + 1);
    for (let j = 1; j <= b.length; j++) if (a[i - 1] === b[j - 1]) best = Math.max(best, (cur[j] = prev[j - 1]! + 1));
    prev = cur;
  }
  return best;
}

describe('privacyReport on MEDDOCAN (dev sentences shuffled, against train)', () => {
  const train = loadSplit('train');
  const dev = loadSplit('dev');
  const trainChars = train.reduce((a, d) => a + d.text.length, 0);
  const copies = [train[3]!, train[100]!].map((d, i) => ({ id: `copy-${i}`, text: d.text }));
  const synthetic = [...copies, ...shuffledSentenceCorpus(dev, { documents: 1998, charsPerDocument: Math.round((4 * trainChars) / 2000), seed: 11 })];

  let report: ReturnType<typeof privacyReport>;
  // One report for the checks below (its speed is measured by `npm run bench:privacy`, not asserted here).
  beforeAll(() => {
    report = privacyReport(synthetic, indexRealCorpus(train, { n: 5 }));
  });

  it('should score a synthetic corpus four times the size of train', () => {
    expect(synthetic.reduce((a, d) => a + d.text.length, 0)).toBeGreaterThan(3.9 * trainChars);
    expect(report.syntheticDocuments).toBe(2000);
  });

  it('should see a verbatim copy of a training document as fully copied', () => {
    copies.forEach((c, i) => {
      const d = report.perDocument[i]!;
      const w = words(c.text);
      expect(d).toMatchObject({ ngrams: w.length - 4, matchedNgrams: w.length - 4, overlap: 1, longestCopiedWords: w.length, nearestJaccard: 1 });
      expect(d.nearestRealDocId).toBe(i === 0 ? train[3]!.id : train[100]!.id);
    });
    expect(report.longestCopied!.words).toBeGreaterThanOrEqual(words(copies[0]!.text).length);
  });

  it('should agree with a string-set reference on n-gram overlap and Jaccard', () => {
    const realSet = new Set(train.flatMap((d) => grams(words(d.text), 5)));
    const realDocSets = train.map((d) => new Set(grams(words(d.text), 5)));
    let matched = 0;
    let total = 0;
    synthetic.forEach((doc, i) => {
      const g = grams(words(doc.text), 5);
      const m = g.filter((x) => realSet.has(x)).length;
      matched += m;
      total += g.length;
      if (i < 30) {
        expect(report.perDocument[i]!.matchedNgrams).toBe(m);
        const mine = new Set(g);
        let best = 0;
        for (const rs of realDocSets) {
          let inter = 0;
          for (const x of mine) if (rs.has(x)) inter++;
          best = Math.max(best, inter / (mine.size + rs.size - inter));
        }
        expect(report.perDocument[i]!.nearestJaccard).toBeCloseTo(best, 12);
      }
    });
    expect(report.ngramOverlap.matchedNgrams).toBe(matched);
    expect(report.ngramOverlap.totalNgrams).toBe(total);
    expect(report.ngramOverlap.corpus).toBeGreaterThan(0); // partial overlap: shared boilerplate…
    expect(report.ngramOverlap.corpus).toBeLessThan(0.5); // …but dev is not train
  });

  it('should agree with dynamic programming on the longest copied run', () => {
    const realWords = train.map((d) => words(d.text));
    for (const i of [2, 3, 4]) {
      const w = words(synthetic[i]!.text);
      const best = Math.max(...realWords.map((r) => longestCommonRun(w, r)));
      const d = report.perDocument[i]!;
      expect(d.longestCopiedWords).toBe(best >= 5 ? best : 0);
      if (best >= 5) expect(longestCommonRun(w, realWords[train.findIndex((t) => t.id === d.longestCopiedFrom)]!)).toBe(best);
    }
  });
});
