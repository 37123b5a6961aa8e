import { describe, expect, it } from 'vitest';
import { SCORER_VERSION, ScoringErrorCode, ScoringInputError, evaluate, scoreEntities, scoreSpans, scoreTokens, toMetricRows, type ScoringDocument } from '../../src/scoring/index.js';

//            0         1         2
//            0123456789012345678901234
const TEXT = 'Ana Ruiz vive en Madrid.';
const gold: ScoringDocument[] = [
  { id: 'a', text: TEXT, spans: [{ start: 0, end: 8, label: 'NOMBRE' }, { start: 17, end: 23, label: 'TERRITORIO' }] },
  { id: 'b', text: 'Hoy.', spans: [] },
];
const pred = [{ id: 'a', spans: [{ start: 0, end: 8, label: 'NOMBRE' }, { start: 17, end: 23, label: 'NOMBRE' }] }, { id: 'b', spans: [] }];

describe('evaluate', () => {
  const r = evaluate(gold, pred, { bootstrap: { resamples: 50 }, errorAnalysis: { contextChars: 3 } });

  it('should agree with the single-metric functions', () => {
    expect(r.entity.micro).toMatchObject(scoreEntities(gold, pred).micro);
    expect(r.spans.strict).toMatchObject(scoreSpans(gold, pred).strict);
    expect(r.token.binary).toMatchObject(scoreTokens(gold, pred).binary);
    // entity: tp 1, fp 1, fn 1 → F1 1/2; spans: perfect
    expect(r.entity.micro.f1).toBeCloseTo(0.5, 15);
    expect(r.spans.strict.f1).toBe(1);
  });

  it('should be plain JSON and carry the scorer version', () => {
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(r.scorerVersion).toBe(SCORER_VERSION);
    expect(r.errors!.falseNegatives[0]).toMatchObject({ text: 'Madrid', left: 'en ', right: '.', kind: 'label' });
    expect(r.confusion!.matrix).toEqual({ NOMBRE: { NOMBRE: 1 }, TERRITORIO: { NOMBRE: 1 } });
  });

  it('should flatten to metric rows with intervals on F1 rows only', () => {
    const rows = toMetricRows(r, 'dev');
    const f1 = rows.find((x) => x.name === 'entity_f1' && x.label === null)!;
    expect(f1).toMatchObject({ value: r.entity.micro.f1, split: 'dev', scorer_version: SCORER_VERSION, ci_low: r.entity.micro.ci!.low, ci_high: r.entity.micro.ci!.high });
    expect(rows.find((x) => x.name === 'entity_precision' && x.label === null)).toMatchObject({ ci_low: null, ci_high: null });
    expect(rows.find((x) => x.name === 'entity_f1' && x.label === 'TERRITORIO')?.value).toBe(0);
    expect(rows.find((x) => x.name === 'leak')?.value).toBe(r.leak.leak);
    // one row triple per family + per label (entity: NOMBRE, TERRITORIO; token: NOMBRE, TERRITORIO) + leak
    expect(rows.length).toBe(3 * (5 + 2 + 2) + 1);
  });

  it('should skip intervals when bootstrap is false', () => {
    expect(evaluate(gold, pred, { bootstrap: false }).entity.micro.ci).toBeUndefined();
  });

  it('should reject a bad context window', () => {
    expect(() => evaluate(gold, pred, { errorAnalysis: { contextChars: -1 } })).toThrow(ScoringInputError);
    try {
      evaluate(gold, pred, { errorAnalysis: { contextChars: -1 } });
    } catch (e) {
      expect((e as ScoringInputError).code).toBe(ScoringErrorCode.INVALID_OPTION);
    }
  });
});
