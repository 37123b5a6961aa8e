import { describe, expect, it } from 'vitest';
import { scoreTokens, tokenLabels, tokenize, type ScoringDocument } from '../../src/scoring/index.js';
import { dropEvery, identity, loadSplit, relabelEvery } from './helpers.js';

const toks = (text: string): string[] => {
  const t = tokenize(text);
  const cps = Array.from(text);
  return Array.from(t.starts, (s, i) => cps.slice(s, t.ends[i]).join(''));
};

describe('tokenize', () => {
  it('should make runs of letters/digits one token and every other non-space character its own', () => {
    expect(toks('C/ Mayor 5-7, 2º dcha.')).toEqual(['C', '/', 'Mayor', '5', '-', '7', ',', '2º', 'dcha', '.']);
    expect(toks('nnavcu@hotmail.com')).toEqual(['nnavcu', '@', 'hotmail', '.', 'com']);
  });
  it('should skip the BOM and NBSP as whitespace', () => {
    expect(toks('\uFEFFDatos\u00A0del')).toEqual(['Datos', 'del']);
  });
  it('should keep a combining accent inside its word', () => {
    expect(toks('Pe\u0301rez')).toEqual(['Pe\u0301rez']);
  });
  it('should give offsets in code points, also after astral characters', () => {
    const t = tokenize('😀 Ana');
    // '😀' is one code point (two UTF-16 units) and one token; "Ana" starts at code point 2
    expect(Array.from(t.starts)).toEqual([0, 2]);
    expect(Array.from(t.ends)).toEqual([1, 5]);
  });
});

describe('tokenLabels', () => {
  it('should label a token cut by a span boundary with the span that covers most of it', () => {
    // tokens: "70años"(0,6) "y"(7,8); span A covers "70" (2 cps), span B covers "años" (4 cps) → B wins
    const t = tokenize('70años y');
    expect(tokenLabels(t, [{ start: 0, end: 2, label: 'A' }, { start: 2, end: 6, label: 'B' }])).toEqual(['B', 'O']);
    // a single span touching one character still labels the whole token
    expect(tokenLabels(t, [{ start: 5, end: 6, label: 'A' }])).toEqual(['A', 'O']);
  });
  it('should break ties by the span that starts first', () => {
    const t = tokenize('abcd');
    expect(tokenLabels(t, [{ start: 0, end: 2, label: 'X' }, { start: 2, end: 4, label: 'Y' }])).toEqual(['X']);
  });
});

describe('scoreTokens', () => {
  //            0         1         2
  //            012345678901234567890123456
  const TEXT = 'Ana Ruiz vive en Madrid hoy';
  // tokens: Ana Ruiz vive en Madrid hoy (6)
  const gold: ScoringDocument[] = [{ id: 'a', text: TEXT, spans: [
    { start: 0, end: 8, label: 'NOMBRE' }, // Ana, Ruiz
    { start: 17, end: 23, label: 'TERRITORIO' }, // Madrid
  ] }];

  it('should micro-average over non-O labels with a wrong label counting as fp and fn', () => {
    const r = scoreTokens(gold, [{ id: 'a', spans: [
      { start: 0, end: 3, label: 'NOMBRE' }, // Ana: tp
      { start: 17, end: 23, label: 'PAIS' }, // Madrid: fp(PAIS) + fn(TERRITORIO)
      { start: 24, end: 27, label: 'NOMBRE' }, // hoy: fp(NOMBRE)
    ] }], { labels: ['NOMBRE', 'TERRITORIO', 'PAIS'] });
    // Ruiz missed: fn(NOMBRE). Typed: tp 1, fp 2, fn 2 → P = R = 1/3 → F1 = 1/3
    expect(r.tokens).toBe(6);
    expect(r.micro).toMatchObject({ tp: 1, fp: 2, fn: 2 });
    expect(r.micro.f1).toBeCloseTo(1 / 3, 15);
    // Binary: Ana tp, Madrid tp (PHI both sides), hoy fp, Ruiz fn → P = R = 2/3
    expect(r.binary).toMatchObject({ tp: 2, fp: 1, fn: 1 });
    expect(r.binary.f1).toBeCloseTo(2 / 3, 15);
    // NOMBRE: tp 1 (Ana), fp 1 (hoy), fn 1 (Ruiz); TERRITORIO: fn 1; PAIS: fp 1
    expect(r.perLabel.NOMBRE).toMatchObject({ tp: 1, fp: 1, fn: 1 });
    expect(r.perLabel.TERRITORIO).toMatchObject({ tp: 0, fp: 0, fn: 1 });
    expect(r.perLabel.PAIS).toMatchObject({ tp: 0, fp: 1, fn: 0 });
  });

  it('should forgive a boundary error that stays inside the same tokens', () => {
    // span (1,8) "na Ruiz" cuts "Ana" but covers 2 of its 3 code points → token Ana still NOMBRE
    const r = scoreTokens(gold, [{ id: 'a', spans: [{ start: 1, end: 8, label: 'NOMBRE' }, { start: 17, end: 23, label: 'TERRITORIO' }] }]);
    expect(r.micro).toMatchObject({ tp: 3, fp: 0, fn: 0, f1: 1 });
  });
});

describe('scoreTokens on MEDDOCAN dev', () => {
  const dev = loadSplit('dev');
  const labels = [...new Set(dev.flatMap((d) => d.spans.map((s) => s.label)))].sort();
  const perfect = scoreTokens(dev, identity(dev));

  it('should score gold against itself as perfect', () => {
    expect(perfect.micro).toMatchObject({ fp: 0, fn: 0, f1: 1 });
    expect(perfect.binary.f1).toBe(1);
  });

  it('should keep the binary score and lower the typed score when spans are relabelled', () => {
    const r = scoreTokens(dev, relabelEvery(dev, 3, labels));
    expect(r.binary).toEqual(perfect.binary);
    // every token a relabelled span touches moves from tp to fp + fn (MEDDOCAN spans do not overlap,
    // so each such token belongs to that span alone — also the 3 dev tokens a gold boundary cuts,
    // e.g. "MartínezNºCol" whose span ends after "Martínez")
    const sorted = [...dev].sort((a, b) => (a.id < b.id ? -1 : 1)).flatMap((d) => [...d.spans].sort((a, b) => a.start - b.start).map((s) => ({ s, d })));
    let moved = 0;
    sorted.forEach(({ s, d }, i) => {
      if (i % 3 !== 2) return;
      const t = tokenize(d.text);
      for (let k = 0; k < t.starts.length; k++) if (t.starts[k]! < s.end && s.start < t.ends[k]!) moved++;
    });
    expect(r.micro.tp).toBe(perfect.micro.tp - moved);
    expect(r.micro.fp).toBe(moved);
    expect(r.micro.fn).toBe(moved);
  });

  it('should lose recall but not precision when spans are dropped', () => {
    const r = scoreTokens(dev, dropEvery(dev, 7));
    expect(r.binary.precision).toBe(1);
    expect(r.binary.recall).toBeLessThan(1);
    expect(r.binary.tp + r.binary.fn).toBe(perfect.binary.tp);
  });
});
