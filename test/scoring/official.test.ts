// Our subtrack 1 / subtrack 2 / leak numbers against the official MEDDOCAN script's own, on
// perturbed predictions over MEDDOCAN dev and the script's 15-document sample (oracle/README.md).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { leakScore, scoreEntities, scoreSpans, type InputOptions, type PredictedDocument, type Prf, type ScoringDocument } from '../../src/scoring/index.js';
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

// Hand-made cases (docs/scoring.md, "Worked cases"), with the official script's output
// (tp, fp, fn, P, R, F1 rounded to 4 places) as printed by its classes on the same BRAT files.
describe('hand-made cases against the official script', () => {
  type Row = [tp: number, fp: number, fn: number, p: number, r: number, f1: number];
  const T = 'Juan Pérez, 45 años, vive en Madrid.';
  const U = 'Vive en Madrid, España. Dr. Ruiz.';
  const G1 = [{ id: 'a', text: T, spans: [{ start: 0, end: 10, label: 'NOMBRE' }, { start: 12, end: 19, label: 'EDAD' }, { start: 29, end: 35, label: 'TERRITORIO' }] }, { id: 'b', text: 'Sin datos.', spans: [] }];
  const G2 = [{ id: 'a', text: U, spans: [{ start: 8, end: 14, label: 'TERRITORIO' }, { start: 16, end: 22, label: 'PAIS' }, { start: 28, end: 32, label: 'NOMBRE' }] }];
  const p = (id: string, spans: [number, number, string][]) => ({ id, spans: spans.map(([start, end, label]) => ({ start, end, label })) });
  const cases: { name: string; gold: ScoringDocument[]; pred: PredictedDocument[]; opts?: InputOptions; ner: Row; strict: Row; merged: Row }[] = [
    { name: 'H1 boundary, label and spurious errors', gold: G1, pred: [p('a', [[0, 10, 'NOMBRE'], [12, 14, 'EDAD'], [29, 35, 'PAIS']]), p('b', [[0, 3, 'NOMBRE']])],
      ner: [1, 3, 2, 0.25, 0.3333, 0.2857], strict: [2, 2, 1, 0.5, 0.6667, 0.5714], merged: [2, 2, 1, 0.5, 0.6667, 0.5714] },
    { name: 'H2 nothing predicted', gold: G1, pred: [p('a', []), p('b', [])], ner: [0, 0, 3, 0, 0, 0], strict: [0, 0, 3, 0, 0, 0], merged: [0, 0, 3, 0, 0, 0] },
    { name: 'H3 gold and prediction both empty', gold: [G1[1]!], pred: [p('b', [])], ner: [0, 0, 0, 0, 0, 0], strict: [0, 0, 0, 0, 0, 0], merged: [0, 0, 0, 0, 0, 0] },
    { name: 'H4 a gold document without prediction (skipped)', gold: G1, pred: [p('a', [[0, 10, 'NOMBRE'], [12, 19, 'EDAD'], [29, 35, 'TERRITORIO']])], opts: { missingDocument: 'skip' },
      ner: [3, 0, 0, 1, 1, 1], strict: [3, 0, 0, 1, 1, 1], merged: [4, 0, 0, 1, 1, 1] },
    { name: 'H5 labels ignored in subtrack 2', gold: G2, pred: [p('a', [[8, 14, 'PAIS'], [28, 32, 'NOMBRE']])], ner: [1, 1, 2, 0.5, 0.3333, 0.4], strict: [2, 0, 1, 1, 0.6667, 0.8], merged: [2, 0, 1, 1, 0.6667, 0.8] },
    { name: 'H6 one span covering two gold spans', gold: G2, pred: [p('a', [[8, 22, 'TERRITORIO'], [28, 32, 'NOMBRE']])], ner: [1, 1, 2, 0.5, 0.3333, 0.4], strict: [1, 1, 2, 0.5, 0.3333, 0.4], merged: [2, 0, 0, 1, 1, 1] },
    { name: 'H7 perfect (merged tp counts the union)', gold: G2, pred: [p('a', [[8, 14, 'TERRITORIO'], [16, 22, 'PAIS'], [28, 32, 'NOMBRE']])], ner: [3, 0, 0, 1, 1, 1], strict: [3, 0, 0, 1, 1, 1], merged: [4, 0, 0, 1, 1, 1] },
    { name: 'H8 extra nested span', gold: G2, pred: [p('a', [[8, 14, 'TERRITORIO'], [16, 22, 'PAIS'], [28, 32, 'NOMBRE'], [9, 12, 'X']])], opts: { unknownLabel: 'false-positive' },
      ner: [3, 1, 0, 0.75, 1, 0.8571], strict: [3, 1, 0, 0.75, 1, 0.8571], merged: [3, 0, 0, 1, 1, 1] },
  ];
  const row = (x: Prf): Row => [x.tp, x.fp, x.fn, +x.precision.toFixed(4), +x.recall.toFixed(4), +x.f1.toFixed(4)];
  for (const c of cases) {
    it(`should agree on ${c.name}`, () => {
      const opts: InputOptions = { labels: ['NOMBRE', 'EDAD', 'TERRITORIO', 'PAIS'], ...c.opts };
      const spans = scoreSpans(c.gold, c.pred, opts);
      expect({ ner: row(scoreEntities(c.gold, c.pred, opts).micro), strict: row(spans.strict), merged: row(spans.merged) }).toEqual({ ner: c.ner, strict: c.strict, merged: c.merged });
    });
  }
});
