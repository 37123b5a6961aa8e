// Our subtrack 1 / subtrack 2 / leak numbers against the official MEDDOCAN script's own, on
// perturbed predictions over MEDDOCAN dev and the script's 15-document sample (oracle/README.md).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { leakScore, scoreEntities, scoreSpans, type Prf } from '../../src/scoring/index.js';
import { OFFICIAL_SAMPLE_SENTENCES, officialCases } from './helpers.js';

interface OfficialPrf { tp: number; fp: number; fn: number; precision: number; recall: number; f1: number }
interface OfficialCase { documents: number; predSpans: number; predOffsetSum: number; ner: OfficialPrf; strict: OfficialPrf; merged: OfficialPrf; leak: number | null }
const fixture = JSON.parse(readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/official-counts.json'), 'utf8')) as { cases: Record<string, OfficialCase> };

function expectSame(ours: Prf, official: OfficialPrf): void {
  expect({ tp: ours.tp, fp: ours.fp, fn: ours.fn }).toEqual({ tp: official.tp, fp: official.fp, fn: official.fn });
  expect(ours.precision).toBeCloseTo(official.precision, 12);
  expect(ours.recall).toBeCloseTo(official.recall, 12);
  expect(ours.f1).toBeCloseTo(official.f1, 12);
}

describe('official MEDDOCAN script parity', () => {
  const cases = officialCases();
  it('should cover every case of the fixture', () => {
    expect(cases.map((c) => c.name).sort()).toEqual(Object.keys(fixture.cases).sort());
  });
  for (const c of cases) {
    describe(c.name, () => {
      const official = fixture.cases[c.name]!;
      it('should regenerate the predictions the script scored', () => {
        const spans = c.pred.flatMap((d) => d.spans);
        expect(spans.length).toBe(official.predSpans);
        expect(spans.reduce((a, s) => a + s.start + s.end, 0)).toBe(official.predOffsetSum);
      });
      it('should match subtrack 1 (NER)', () => {
        const ours = scoreEntities(c.gold, c.pred, { unknownLabel: 'false-positive' });
        expect(ours.documents).toBe(official.documents);
        expectSame(ours.micro, official.ner);
      });
      it('should match subtrack 2 strict and merged', () => {
        const ours = scoreSpans(c.gold, c.pred, { unknownLabel: 'false-positive' });
        expectSame(ours.strict, official.strict);
        expectSame(ours.merged, official.merged);
      });
      if (official.leak !== null) {
        it('should match the leak score given the official sentence counts', () => {
          const ours = leakScore(c.gold, c.pred, { sentenceCounts: OFFICIAL_SAMPLE_SENTENCES, unknownLabel: 'false-positive' });
          expect(ours.leak).toBeCloseTo(official.leak!, 12);
        });
      }
    });
  }
});
