import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CorpusImportError } from '../../src/corpora/errors.js';
import { readBratDirectory } from '../../src/scoring/brat.js';
import { CodePointText, MEDDOCAN_LABELS, ScoringErrorCode, ScoringInputError, evaluate, mergeSpans, scoreEntities, type PredictedDocument, type ScoringDocument } from '../../src/scoring/index.js';

const gold: ScoringDocument[] = [
  { id: 'a', text: '\uFEFFAna Ruiz', spans: [{ start: 1, end: 9, label: 'NOMBRE' }] },
  { id: 'b', text: 'Madrid', spans: [{ start: 0, end: 6, label: 'TERRITORIO' }] },
];
const ok: PredictedDocument[] = [{ id: 'a', spans: [{ start: 1, end: 9, label: 'NOMBRE' }] }, { id: 'b', spans: [] }];

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof ScoringInputError) return e.code;
    throw e;
  }
  return undefined;
}

describe('bad input', () => {
  it('should reject a prediction for a document not in the gold split, unless told to ignore it', () => {
    const pred = [...ok, { id: 'zzz', spans: [] }];
    expect(codeOf(() => scoreEntities(gold, pred))).toBe(ScoringErrorCode.UNKNOWN_DOCUMENT);
    expect(scoreEntities(gold, pred, { unknownDocument: 'ignore' }).micro.f1).toBeCloseTo(2 / 3, 15);
  });

  it('should reject offsets outside the text with a message about code points and the BOM', () => {
    const err = (() => {
      try {
        scoreEntities(gold, [{ id: 'a', spans: [{ start: 2, end: 10, label: 'NOMBRE' }] }, { id: 'b', spans: [] }]);
      } catch (e) {
        return e as ScoringInputError;
      }
    })();
    expect(err?.code).toBe(ScoringErrorCode.OFFSET_OUT_OF_RANGE);
    expect(err?.message).toMatch(/code points.*BOM/s);
    expect(err?.details).toMatchObject({ docId: 'a', textLength: 9 });
  });

  it('should reject empty, reversed, negative and non-integer spans', () => {
    for (const span of [{ start: 3, end: 3 }, { start: 4, end: 2 }, { start: -1, end: 2 }, { start: 0.5, end: 2 }]) {
      const code = codeOf(() => scoreEntities(gold, [{ id: 'a', spans: [{ ...span, label: 'NOMBRE' }] }, { id: 'b', spans: [] }]));
      expect([ScoringErrorCode.INVALID_SPAN, ScoringErrorCode.OFFSET_OUT_OF_RANGE]).toContain(code);
    }
  });

  it('should score empty, reversed and out-of-range predicted spans with invalidSpans: \'score\', as the official script does', () => {
    const text = 'Paciente Ana Ruiz, de Madrid.';
    const g: ScoringDocument[] = [{ id: 'x', text, spans: [{ start: 9, end: 17, label: 'NOMBRE' }, { start: 22, end: 28, label: 'TERRITORIO' }] }];
    const withExtra = (...extra: { start: number; end: number }[]) => [{ id: 'x', spans: [...g[0]!.spans, ...extra.map((o) => ({ ...o, label: 'NOMBRE' }))] }];
    expect(codeOf(() => evaluate(g, withExtra({ start: 5, end: 5 })))).toBe(ScoringErrorCode.INVALID_SPAN);
    // One extra `NOMBRE 5 5`: tp 2, fp 1, fn 0, so P = 2/3, R = 1, F1 = 0.8 in every family the script has.
    const r = evaluate(g, withExtra({ start: 5, end: 5 }), { invalidSpans: 'score', bootstrap: false });
    for (const prf of [r.entity.micro, r.spans.strict, r.spans.merged]) expect(prf).toMatchObject({ tp: 2, fp: 1, fn: 0 });
    expect(r.entity.micro.f1).toBeCloseTo(0.8, 15);
    // An empty span covers no token, so token scores stay perfect.
    expect(r.token.micro.f1).toBe(1);
    const all = evaluate(g, withExtra({ start: 20, end: 10 }, { start: 25, end: 40 }, { start: -8, end: -2 }), { invalidSpans: 'score', bootstrap: false, errorAnalysis: true });
    expect(all.entity.micro).toMatchObject({ tp: 2, fp: 3, fn: 0 });
    expect(all.errors!.falsePositives.map((e) => [e.start, e.end, e.kind])).toEqual([[-8, -2, 'spurious'], [20, 10, 'spurious'], [25, 40, 'boundary']]);
  });

  it('should merge invalid spans with Python\'s slice semantics (a negative index counts from the end)', () => {
    // Values from the official add_spans on this text: text[27:9] and text[40:28] are empty, so the spans join.
    const text = new CodePointText('Paciente Ana Ruiz, de Madrid.');
    expect(mergeSpans(text, [[-8, -2], [9, 17]])).toEqual([[-8, 17]]);
    expect(mergeSpans(text, [[25, 40], [28, 29]])).toEqual([[25, 29]]);
    expect(mergeSpans(text, [[20, 10], [22, 28]])).toEqual([[20, 10], [22, 28]]);
  });

  it('should reject an unknown label by default, and count it as a false positive on request', () => {
    const pred = [{ id: 'a', spans: [{ start: 1, end: 9, label: 'B-NOMBRE' }] }, { id: 'b', spans: [] }];
    expect(codeOf(() => scoreEntities(gold, pred))).toBe(ScoringErrorCode.UNKNOWN_LABEL);
    // as a false positive: tp 0, fp 1, fn 2
    expect(scoreEntities(gold, pred, { unknownLabel: 'false-positive' }).micro).toMatchObject({ tp: 0, fp: 1, fn: 2 });
  });

  it('should accept a guideline label absent from gold when the label set is declared', () => {
    const pred = [{ id: 'a', spans: [{ start: 1, end: 9, label: 'URL_WEB' }] }, { id: 'b', spans: [] }];
    expect(scoreEntities(gold, pred, { labels: [...MEDDOCAN_LABELS] }).micro).toMatchObject({ tp: 0, fp: 1, fn: 2 });
  });

  it('should reject the reserved label O', () => {
    expect(codeOf(() => scoreEntities(gold, [{ id: 'a', spans: [{ start: 1, end: 9, label: 'O' }] }, { id: 'b', spans: [] }]))).toBe(ScoringErrorCode.RESERVED_LABEL);
  });

  it('should reject a gold document without prediction by default; empty and skip on request', () => {
    const pred = [ok[0]!];
    expect(codeOf(() => scoreEntities(gold, pred))).toBe(ScoringErrorCode.MISSING_PREDICTION);
    // empty: b counts as nothing predicted → tp 1, fn 1
    expect(scoreEntities(gold, pred, { missingDocument: 'empty' }).micro).toMatchObject({ tp: 1, fn: 1 });
    // skip (official behaviour): b is not scored → tp 1, fn 0
    expect(scoreEntities(gold, pred, { missingDocument: 'skip' }).micro).toMatchObject({ tp: 1, fn: 0, f1: 1 });
  });

  it('should reject a predicted text that differs from gold (e.g. BOM stripped)', () => {
    expect(codeOf(() => scoreEntities(gold, [{ ...ok[0]!, text: 'Ana Ruiz' }, ok[1]!]))).toBe(ScoringErrorCode.TEXT_MISMATCH);
    expect(scoreEntities(gold, [{ ...ok[0]!, text: gold[0]!.text }, ok[1]!]).micro.tp).toBe(1);
  });

  it('should reject duplicate ids, an empty gold set and bad options', () => {
    expect(codeOf(() => scoreEntities([gold[0]!, gold[0]!], ok))).toBe(ScoringErrorCode.DUPLICATE_DOCUMENT);
    expect(codeOf(() => scoreEntities(gold, [ok[0]!, ok[0]!, ok[1]!]))).toBe(ScoringErrorCode.DUPLICATE_DOCUMENT);
    expect(codeOf(() => scoreEntities([], []))).toBe(ScoringErrorCode.EMPTY_GOLD);
    expect(codeOf(() => scoreEntities(gold, ok, { unknownLabel: 'drop' as never }))).toBe(ScoringErrorCode.INVALID_OPTION);
    expect(codeOf(() => evaluate(gold, ok, { bootstrap: { resamples: 0 } }))).toBe(ScoringErrorCode.INVALID_OPTION);
    expect(codeOf(() => evaluate(gold, ok, { bootstrap: { level: 1.5 } }))).toBe(ScoringErrorCode.INVALID_OPTION);
  });

  it('should index offsets by code points, not UTF-16 units', () => {
    // '😀' is 2 UTF-16 units but 1 code point: "Ana" is [2, 5) in code points
    const g: ScoringDocument[] = [{ id: 'x', text: '😀 Ana', spans: [{ start: 2, end: 5, label: 'N' }] }];
    expect(scoreEntities(g, [{ id: 'x', spans: [{ start: 2, end: 5, label: 'N' }] }]).micro.f1).toBe(1);
    expect(codeOf(() => scoreEntities(g, [{ id: 'x', spans: [{ start: 3, end: 6, label: 'N' }] }]))).toBe(ScoringErrorCode.OFFSET_OUT_OF_RANGE);
  });
});

describe(readBratDirectory.name, () => {
  function readFolder(files: Record<string, string>) {
    const dir = mkdtempSync(path.join(tmpdir(), 'brat-'));
    try {
      for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
      return readBratDirectory(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('should read runs of spaces between label and offsets as the official script does (str.split())', () => {
    const text = 'Paciente Ana Ruiz, de Madrid.';
    const docs = readFolder({ 'a.txt': text, 'a.ann': 'T1\tNOMBRE 9 17\tAna Ruiz\nT2\tTERRITORIO  22 28\tMadrid\n' });
    expect(docs).toEqual([{ id: 'a', text, spans: [{ start: 9, end: 17, label: 'NOMBRE' }, { start: 22, end: 28, label: 'TERRITORIO' }] }]);
  });

  it('should refuse what the import refuses, with the import\'s codes', () => {
    expect(() => readFolder({ 'a.txt': 'Ana', 'a.ann': 'T1\tNOMBRE 0 1;2 3\tA a\n' })).toThrow(CorpusImportError);
  });
});
