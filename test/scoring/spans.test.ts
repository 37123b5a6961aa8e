import { describe, expect, it } from 'vitest';
import { CodePointText, mergeSpans, scoreEntities, scoreSpans, type ScoringDocument } from '../../src/scoring/index.js';
import { identity, loadSplit, relabelEvery, splitAtWhitespace } from './helpers.js';

describe('mergeSpans (official "merged" rule)', () => {
  //                          0         1         2
  //                          0123456789012345678901234
  const t = new CodePointText('Calle Mayor 5, 28001 Madrid y Soria');
  it('should join spans separated only by non-alphanumeric characters', () => {
    // gap text[13:15] = ", " has no letter/digit → join (0,13)+(15,20) = (0,20); gap " " → join with (21,27)
    expect(mergeSpans(t, [[0, 13], [15, 20], [21, 27]])).toEqual([[0, 27]]);
  });
  it('should keep spans apart when a letter or digit lies between them', () => {
    // text[27:30] = " y " contains 'y'
    expect(mergeSpans(t, [[21, 27], [30, 35]])).toEqual([[21, 27], [30, 35]]);
  });
  it('should join adjacent spans (empty gap) and sort the input first', () => {
    expect(mergeSpans(t, [[6, 11], [0, 6]])).toEqual([[0, 11]]);
  });
  it('should reproduce the official quirk for a nested span: (x.start, y.end), shorter than x', () => {
    // x = (0,20), y = (6,11): text[20:6] is the empty Python slice → merged (0, 11)
    expect(mergeSpans(t, [[0, 20], [6, 11]])).toEqual([[0, 11]]);
  });
});

describe('scoreSpans', () => {
  //            0         1         2         3
  //            0123456789012345678901234567890123
  const TEXT = 'Vive en Madrid, España. Dr. Ruiz.';
  const gold: ScoringDocument[] = [{ id: 'a', text: TEXT, spans: [
    { start: 8, end: 14, label: 'TERRITORIO' }, // Madrid
    { start: 16, end: 22, label: 'PAIS' }, // España
    { start: 28, end: 32, label: 'NOMBRE' }, // Ruiz
  ] }];

  it('should ignore labels in strict mode', () => {
    const r = scoreSpans(gold, [{ id: 'a', spans: [{ start: 8, end: 14, label: 'PAIS' }, { start: 28, end: 32, label: 'NOMBRE' }] }]);
    // strict: tp 2 (labels ignored), fp 0, fn 1 → P 1, R 2/3, F1 0.8
    expect(r.strict).toMatchObject({ tp: 2, fp: 0, fn: 1, precision: 1 });
    expect(r.strict.f1).toBeCloseTo(0.8, 15);
  });

  it('should credit one predicted span covering two gold spans joined by ", " in merged mode', () => {
    const r = scoreSpans(gold, [{ id: 'a', spans: [{ start: 8, end: 22, label: 'TERRITORIO' }, { start: 28, end: 32, label: 'NOMBRE' }] }]);
    // strict: sys {(8,22),(28,32)} vs gold {(8,14),(16,22),(28,32)} → tp 1, fp 1, fn 2
    expect(r.strict).toMatchObject({ tp: 1, fp: 1, fn: 2 });
    // merged: gold merged {(8,22),(28,32)} (". Dr. " holds letters), sys merged the same.
    // I = {(28,32)} ∪ {(8,22),(28,32)} → tp 2; fp: (8,22) ⊆ I → 0; fn: (8,14),(16,22) ⊆ (8,22) → 0
    expect(r.merged).toMatchObject({ tp: 2, fp: 0, fn: 0, f1: 1 });
  });

  it('should count strict and merged matches both in tp (official union quirk)', () => {
    const r = scoreSpans(gold, [{ id: 'a', spans: gold[0]!.spans }]);
    // I = strict {(8,14),(16,22),(28,32)} ∪ merged {(8,22),(28,32)} = 4 elements → tp 4
    expect(r.merged).toMatchObject({ tp: 4, fp: 0, fn: 0, f1: 1 });
    expect(r.strict).toMatchObject({ tp: 3, fp: 0, fn: 0 });
  });

  it('should drop from fp a predicted span nested inside a matched span', () => {
    const r = scoreSpans(gold, [{ id: 'a', spans: [...gold[0]!.spans, { start: 9, end: 12, label: 'X' }] }], { unknownLabel: 'false-positive' });
    // strict fp 1 (9,12); merged: (9,12) ⊆ (8,14) ∈ I → fp 0
    expect(r.strict.fp).toBe(1);
    expect(r.merged.fp).toBe(0);
  });
});

describe('scoreSpans on MEDDOCAN dev with perturbed predictions', () => {
  const dev = loadSplit('dev');
  const labels = [...new Set(dev.flatMap((d) => d.spans.map((s) => s.label)))].sort();

  it('should leave span detection perfect when only labels change, while entity F1 falls', () => {
    const pred = relabelEvery(dev, 3, labels);
    expect(scoreEntities(dev, pred).micro.f1).toBeLessThan(0.7);
    expect(scoreSpans(dev, pred).strict).toMatchObject({ precision: 1, recall: 1, f1: 1 });
    expect(scoreSpans(dev, pred).merged.f1).toBe(1);
    expect(scoreSpans(dev, pred).merged).toEqual(scoreSpans(dev, identity(dev)).merged);
  });

  it('should recover whitespace-split spans in merged mode but not in strict mode', () => {
    const pred = splitAtWhitespace(dev);
    const all = dev.flatMap((d) => d.spans);
    const r = scoreSpans(dev, pred);
    // strict tp = gold spans without inner whitespace (their one piece equals the span)
    const cps = new Map(dev.map((d) => [d.id, Array.from(d.text)]));
    const noSpace = dev.flatMap((d) => d.spans.filter((s) => !cps.get(d.id)!.slice(s.start, s.end).some((c) => /\s/.test(c))));
    expect(r.strict.tp).toBe(noSpace.length);
    expect(r.strict.fn).toBe(all.length - noSpace.length);
    expect(r.merged).toMatchObject({ fp: 0, fn: 0, f1: 1 });
  });
});
