import { describe, expect, it } from 'vitest';
import { scoreEntities, type PredictedDocument, type ScoringDocument } from '../../src/scoring/index.js';
import { dropEvery, identity, loadSplit, relabelEvery, shiftStartEvery } from './helpers.js';

//            0         1         2         3
//            0123456789012345678901234567890123456
const TEXT = 'Juan Pérez, 45 años, vive en Madrid.';
const gold: ScoringDocument[] = [
  { id: 'a', text: TEXT, spans: [
    { start: 0, end: 10, label: 'NOMBRE' }, // Juan Pérez
    { start: 12, end: 19, label: 'EDAD' }, // 45 años
    { start: 29, end: 35, label: 'TERRITORIO' }, // Madrid
  ] },
  { id: 'b', text: 'Sin datos.', spans: [] },
];

describe('scoreEntities', () => {
  it('should count a span as correct only when start, end and label all match', () => {
    const pred: PredictedDocument[] = [
      { id: 'a', spans: [
        { start: 0, end: 10, label: 'NOMBRE' }, // tp
        { start: 12, end: 14, label: 'EDAD' }, // wrong end: fp, and gold EDAD is fn
        { start: 29, end: 35, label: 'PAIS' }, // wrong label: fp, and gold TERRITORIO is fn
      ] },
      { id: 'b', spans: [{ start: 0, end: 3, label: 'NOMBRE' }] }, // fp
    ];
    const r = scoreEntities(gold, pred, { labels: ['NOMBRE', 'EDAD', 'TERRITORIO', 'PAIS'] });
    // tp = 1, fp = 3, fn = 2 → P = 1/4, R = 1/3, F1 = 2·(1/4)(1/3)/(1/4+1/3) = (1/6)/(7/12) = 2/7
    expect(r.micro).toMatchObject({ tp: 1, fp: 3, fn: 2 });
    expect(r.micro.precision).toBeCloseTo(1 / 4, 15);
    expect(r.micro.recall).toBeCloseTo(1 / 3, 15);
    expect(r.micro.f1).toBeCloseTo(2 / 7, 15);
    // per label: NOMBRE tp 1, fp 1 (doc b) → P 1/2, R 1; EDAD fp 1 fn 1 → 0; PAIS fp 1 → 0; TERRITORIO fn 1 → 0
    expect(r.perLabel.NOMBRE).toMatchObject({ tp: 1, fp: 1, fn: 0, precision: 0.5, recall: 1 });
    expect(r.perLabel.NOMBRE!.f1).toBeCloseTo(2 / 3, 15);
    expect(r.perLabel.EDAD).toMatchObject({ tp: 0, fp: 1, fn: 1, f1: 0 });
    expect(r.perLabel.PAIS).toMatchObject({ tp: 0, fp: 1, fn: 0, f1: 0 });
    expect(r.perLabel.TERRITORIO).toMatchObject({ tp: 0, fp: 0, fn: 1, f1: 0 });
  });

  it('should pool counts over documents (micro), not average per-document scores', () => {
    // doc a perfect (3 tp); doc c: 1 gold span missed. Micro R = 3/4. (A per-document mean would be (1 + 0)/2.)
    const g: ScoringDocument[] = [gold[0]!, { id: 'c', text: 'Ana.', spans: [{ start: 0, end: 3, label: 'NOMBRE' }] }];
    const r = scoreEntities(g, [{ id: 'a', spans: gold[0]!.spans }, { id: 'c', spans: [] }]);
    expect(r.micro).toMatchObject({ tp: 3, fp: 0, fn: 1, precision: 1, recall: 0.75 });
    expect(r.micro.f1).toBeCloseTo((2 * 0.75) / 1.75, 15);
  });

  it('should collapse duplicate predicted spans, as the official set semantics do', () => {
    const dup = [...gold[0]!.spans, { ...gold[0]!.spans[0]! }];
    const r = scoreEntities(gold, [{ id: 'a', spans: dup }, { id: 'b', spans: [] }]);
    expect(r.micro).toMatchObject({ tp: 3, fp: 0, fn: 0, f1: 1 });
  });

  it('should give P = R = F1 = 0 when nothing is predicted and gold is not empty', () => {
    const r = scoreEntities(gold, [{ id: 'a', spans: [] }, { id: 'b', spans: [] }]);
    expect(r.micro).toEqual({ tp: 0, fp: 0, fn: 3, precision: 0, recall: 0, f1: 0 });
  });

  it('should give P = R = F1 = 0 when gold and prediction are both empty (official convention)', () => {
    const r = scoreEntities([gold[1]!], [{ id: 'b', spans: [] }]);
    expect(r.micro).toEqual({ tp: 0, fp: 0, fn: 0, precision: 0, recall: 0, f1: 0 });
  });
});

describe('scoreEntities on MEDDOCAN dev with perturbed predictions', () => {
  const dev = loadSplit('dev');
  const G = dev.reduce((a, d) => a + d.spans.length, 0);
  const labels = [...new Set(dev.flatMap((d) => d.spans.map((s) => s.label)))].sort();

  it('should score gold against itself as perfect', () => {
    expect(G).toBe(5801); // the corpus README's dev count
    expect(scoreEntities(dev, identity(dev)).micro).toMatchObject({ tp: G, fp: 0, fn: 0, f1: 1 });
  });

  it('should lose exactly the dropped spans from recall and nothing from precision', () => {
    // dropping every 7th of G spans removes floor(G/7) = 828 → R = (G − 828)/G, P = 1
    const dropped = Math.floor(G / 7);
    const r = scoreEntities(dev, dropEvery(dev, 7)).micro;
    expect(r).toMatchObject({ tp: G - dropped, fp: 0, fn: dropped, precision: 1 });
    expect(r.recall).toBeCloseTo((G - dropped) / G, 15);
  });

  it('should turn each relabelled span into one fp and one fn', () => {
    const m = Math.floor(G / 3);
    const r = scoreEntities(dev, relabelEvery(dev, 3, labels)).micro;
    // tp = G − m, fp = fn = m → P = R = F1 = (G − m)/G
    expect(r).toMatchObject({ tp: G - m, fp: m, fn: m });
    expect(r.f1).toBeCloseTo((G - m) / G, 15);
  });

  it('should turn each shifted span into one fp and one fn', () => {
    // every 5th span moves its start unless it is one character long
    const sorted = [...dev].sort((a, b) => (a.id < b.id ? -1 : 1)).flatMap((d) => [...d.spans].sort((a, b) => a.start - b.start));
    const m = sorted.filter((s, i) => i % 5 === 4 && s.end - s.start > 1).length;
    const r = scoreEntities(dev, shiftStartEvery(dev, 5)).micro;
    expect(r).toMatchObject({ tp: G - m, fp: m, fn: m });
  });
});
