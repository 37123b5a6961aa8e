import { describe, expect, it } from 'vitest';
import { ScoringInputError, countSentences, leakScore, type ScoringDocument } from '../../src/scoring/index.js';
import { OFFICIAL_SAMPLE_SENTENCES, dropEvery, identity, officialSample } from './helpers.js';

describe('countSentences', () => {
  it('should end a sentence at a period before whitespace or the end of the text', () => {
    expect(countSentences('Uno. Dos.\nTres.')).toBe(3);
  });
  it('should not end a sentence after an initial, a dotted acronym or a title', () => {
    // "Sexo: H." (initial), "A.I.N.E." (acronym), "Dr." (title) — only "visto." ends a sentence
    expect(countSentences('Sexo: H.\nA.I.N.E. de Dr. Ruiz visto.')).toBe(1);
  });
  it('should end a sentence at a period glued to a capitalised word after a lowercase letter or digit', () => {
    expect(countSentences('en 2014.El paciente.')).toBe(2);
  });
  it('should reproduce the official FreeLing sentence counts of its 15-document sample', () => {
    const ours = Object.fromEntries(officialSample().map((d) => [d.id, countSentences(d.text)]));
    expect(ours).toEqual(OFFICIAL_SAMPLE_SENTENCES);
  });
  it('should end a sentence at a run of periods and after a lowercase unit', () => {
    // "5 B.." ends one (the run), "30 g." ends one
    expect(countSentences('Calle Sol 5 B..\nPeso de 30 g.\nFin')).toBe(2);
  });
});

describe('leakScore', () => {
  const text = 'Ana vino. Luis no. Fin.';
  const gold: ScoringDocument[] = [{ id: 'a', text, spans: [{ start: 0, end: 3, label: 'N' }, { start: 10, end: 14, label: 'N' }] }];

  it('should divide the typed false negatives by the number of sentences', () => {
    // Luis missed, Ana found with the wrong label → 2 false negatives / 3 sentences
    const r = leakScore(gold, [{ id: 'a', spans: [{ start: 0, end: 3, label: 'M' }] }], { labels: ['N', 'M'] });
    expect(r).toMatchObject({ falseNegatives: 2, sentences: 3, sentenceSource: 'heuristic' });
    expect(r.leak).toBeCloseTo(2 / 3, 15);
  });

  it('should use given sentence counts and insist on one per document', () => {
    expect(leakScore(gold, identity(gold).map((d) => ({ ...d, spans: [] })), { sentenceCounts: { a: 4 } }).leak).toBe(0.5);
    expect(() => leakScore(gold, identity(gold), { sentenceCounts: {} })).toThrow(ScoringInputError);
  });

  it('should rise by exactly the dropped spans over the sentence total on the official sample', () => {
    const sample = officialSample();
    const sentences = Object.values(OFFICIAL_SAMPLE_SENTENCES).reduce((a, b) => a + b, 0);
    const spans = sample.reduce((a, d) => a + d.spans.length, 0);
    const r = leakScore(sample, dropEvery(sample, 4), { sentenceCounts: OFFICIAL_SAMPLE_SENTENCES });
    // 347 spans, every 4th dropped → floor(347/4) = 86 false negatives; sentences
    // 27+37+29+24+24+25+28+27+23+27+39+31+37+23+26 = 427
    expect(spans).toBe(347);
    expect(sentences).toBe(427);
    expect(r.leak).toBeCloseTo(86 / 427, 15);
  });
});
