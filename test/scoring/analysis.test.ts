import { describe, expect, it } from 'vitest';
import { NO_SPAN, confusionMatrix, errorExamples, type ScoringDocument } from '../../src/scoring/index.js';
import { loadSplit, relabelEvery } from './helpers.js';

//            0         1         2         3
//            0123456789012345678901234567890123456
const TEXT = 'Ana Ruiz vive en Madrid, calle Sol 3.';
const gold: ScoringDocument[] = [{ id: 'a', text: TEXT, spans: [
  { start: 0, end: 8, label: 'NOMBRE' }, // Ana Ruiz
  { start: 17, end: 23, label: 'TERRITORIO' }, // Madrid
  { start: 25, end: 36, label: 'CALLE' }, // calle Sol 3
] }];
const pred = [{ id: 'a', spans: [
  { start: 0, end: 3, label: 'NOMBRE' }, // Ana: boundary error on NOMBRE
  { start: 4, end: 8, label: 'NOMBRE' }, // Ruiz: second piece of the same gold span
  { start: 17, end: 23, label: 'PAIS' }, // label error
  { start: 9, end: 13, label: 'PAIS' }, // "vive": spurious
] }];
const labels = ['NOMBRE', 'TERRITORIO', 'CALLE', 'PAIS'];

describe('confusionMatrix', () => {
  it('should count overlapping pairs, missed gold spans and spurious predictions', () => {
    const m = confusionMatrix(gold, pred, { labels });
    expect(m.matrix).toEqual({
      NOMBRE: { NOMBRE: 2 }, // one gold span, two overlapping predictions
      TERRITORIO: { PAIS: 1 },
      CALLE: { [NO_SPAN]: 1 }, // missed
      [NO_SPAN]: { PAIS: 1 }, // spurious "vive"
    });
    expect(m.exactMatrix).toEqual({ TERRITORIO: { PAIS: 1 } });
  });
});

describe('errorExamples', () => {
  it('should list false positives and negatives with their kind and context window', () => {
    const e = errorExamples(gold, pred, { labels, contextChars: 5 });
    expect(e.falseNegatives.map((x) => [x.text, x.kind])).toEqual([['Ana Ruiz', 'boundary'], ['Madrid', 'label'], ['calle Sol 3', 'missed']]);
    expect(e.falsePositives.map((x) => [x.text, x.kind])).toEqual([['Ana', 'boundary'], ['Ruiz', 'boundary'], ['vive', 'spurious'], ['Madrid', 'label']]);
    const madrid = e.falseNegatives[1]!;
    // 5 code points either side of [17, 23)
    expect([madrid.left, madrid.right]).toEqual(['e en ', ', cal']);
    expect(madrid.overlapping).toEqual([{ start: 17, end: 23, label: 'PAIS' }]);
    // context is clipped at the text start
    expect(e.falseNegatives[0]!.left).toBe('');
  });

  it('should list exactly the relabelled spans on MEDDOCAN dev, each as a label error both ways', () => {
    const dev = loadSplit('dev');
    const labs = [...new Set(dev.flatMap((d) => d.spans.map((s) => s.label)))].sort();
    const e = errorExamples(dev, relabelEvery(dev, 3, labs));
    const m = Math.floor(5801 / 3);
    expect(e.falseNegatives.length).toBe(m);
    expect(e.falsePositives.length).toBe(m);
    expect(new Set([...e.falseNegatives, ...e.falsePositives].map((x) => x.kind))).toEqual(new Set(['label']));
  });
});
