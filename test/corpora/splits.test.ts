import { describe, expect, it } from 'vitest';
import { bioesTags, bioTags, labelSet } from '../../src/corpora/labels.js';
import { nestedSubsets, seededSplit } from '../../src/corpora/splits.js';
import { corpusStats } from '../../src/corpora/stats.js';

const ids = Array.from({ length: 500 }, (_, i) => `S${String(i).padStart(4, '0')}`);
const reversed = [...ids].reverse();
const FRACTIONS = [0.05, 0.25, 0.5, 0.95];

describe(nestedSubsets.name, () => {
  it('should nest every smaller subset inside every larger one', () => {
    for (const seed of [1, 2, 42, 'abc']) {
      const subsets = nestedSubsets(ids, FRACTIONS, seed);
      for (let i = 1; i < subsets.length; i++) {
        const larger = new Set(subsets[i]);
        expect(subsets[i - 1]!.every((id) => larger.has(id))).toBe(true);
      }
    }
  });

  it('should size subsets as n·f rounded half up, at least 1', () => {
    expect(nestedSubsets(ids, FRACTIONS, 7).map((s) => s.length)).toEqual([25, 125, 250, 475]);
    expect(nestedSubsets(ids.slice(0, 10), [0.25, 0.05, 1], 7).map((s) => s.length)).toEqual([3, 1, 10]); // 2.5 → 3, 0.5 → 1
    expect(nestedSubsets(ids.slice(0, 7), [0.05], 7)[0]).toHaveLength(1); // 0.35 rounds to 0, raised to 1
    expect(nestedSubsets([], [0.5], 7)).toEqual([[]]);
    expect(() => nestedSubsets(ids, [0], 7)).toThrow(RangeError);
    expect(() => nestedSubsets(ids, [1.5], 7)).toThrow(RangeError);
  });

  it('should give the same subsets for the same seed whatever the input order', () => {
    expect(nestedSubsets(reversed, FRACTIONS, 42)).toEqual(nestedSubsets(ids, FRACTIONS, 42));
  });

  it('should give other subsets for another seed', () => {
    expect(nestedSubsets(ids, [0.05], 1)[0]).not.toEqual(nestedSubsets(ids, [0.05], 2)[0]);
    expect(nestedSubsets(ids, [0.05], '1')[0]).toEqual(nestedSubsets(ids, [0.05], 1)[0]);
  });

  it('should pick each document about equally often across seeds', () => {
    const few = ids.slice(0, 20);
    const hits = new Map(few.map((id) => [id, 0]));
    const SEEDS = 4000;
    for (let seed = 0; seed < SEEDS; seed++) for (const id of nestedSubsets(few, [0.25], seed)[0]!) hits.set(id, hits.get(id)! + 1);
    // Each id is in a 5-of-20 subset with probability 1/4: 1000 ± ~27 (sd); allow 5 sd.
    for (const n of hits.values()) expect(Math.abs(n - SEEDS / 4)).toBeLessThan(140);
  });

  it('should refuse duplicate ids', () => {
    expect(() => nestedSubsets(['a', 'a'], [0.5], 1)).toThrow(/twice/);
  });
});

describe(seededSplit.name, () => {
  it('should partition the ids by the fractions', () => {
    const split = seededSplit(ids, { train: 0.8, dev: 0.1, test: 0.1 }, 3);
    expect(Object.fromEntries(Object.entries(split).map(([k, v]) => [k, v.length]))).toEqual({ train: 400, dev: 50, test: 50 });
    expect(Object.values(split).flat().sort()).toEqual(ids);
  });

  it('should be deterministic, independent of input order and change with the seed', () => {
    const f = { train: 0.8, dev: 0.1, test: 0.1 };
    expect(seededSplit(reversed, f, 3)).toEqual(seededSplit(ids, f, 3));
    expect(seededSplit(ids, f, 3).dev).not.toEqual(seededSplit(ids, f, 4).dev);
  });

  it('should round by largest remainder and give every positive fraction at least one document', () => {
    expect(Object.values(seededSplit(ids.slice(0, 10), { a: 0.55, b: 0.45 }, 1)).map((v) => v.length)).toEqual([6, 4]); // 5.5/4.5: tie → first
    expect(Object.values(seededSplit(ids.slice(0, 5), { train: 0.9, dev: 0.05, test: 0.05 }, 1)).map((v) => v.length)).toEqual([3, 1, 1]);
  });

  it('should refuse fractions that do not sum to 1', () => {
    expect(() => seededSplit(ids, { train: 0.8, dev: 0.1 }, 1)).toThrow(/sum to 1/);
    expect(() => seededSplit(ids, { train: 1.1, dev: -0.1 }, 1)).toThrow(RangeError);
  });
});

describe('labels', () => {
  it('should list O, then B-/I- (and E-/S-) per label in sorted order', () => {
    expect(bioTags(['PAIS', 'CALLE', 'PAIS'])).toEqual(['O', 'B-CALLE', 'I-CALLE', 'B-PAIS', 'I-PAIS']);
    expect(bioesTags(['PAIS', 'CALLE'])).toEqual(['O', 'B-CALLE', 'I-CALLE', 'E-CALLE', 'S-CALLE', 'B-PAIS', 'I-PAIS', 'E-PAIS', 'S-PAIS']);
    expect(labelSet([{ spans: [{ start: 0, end: 1, label: 'b', text: '' }, { start: 0, end: 1, label: 'B', text: '' }] }])).toEqual(['B', 'b']);
  });
});

describe(corpusStats.name, () => {
  it('should count documents, code points, word tokens and mentions per label and split', () => {
    const span = (label: string) => ({ start: 0, end: 1, label, text: '' });
    const stats = corpusStats([
      { id: 'a', split: 'train', text: '\uFEFFAna, 53 años.', spans: [span('N'), span('E')] }, // tokens: Ana , 53 años .
      { id: 'b', split: null, text: '😀 x', spans: [span('N')] },
      { id: 'c', split: 'dev', text: 'y', spans: [] },
    ]);
    expect(stats).toMatchObject({ documents: 3, characters: 14 + 3 + 1, tokens: 5 + 2 + 1, mentions: 3, mentionsPerLabel: { E: 1, N: 2 } });
    expect(Object.keys(stats.mentionsPerLabel)).toEqual(['E', 'N']);
    expect(stats.splits.map((s) => [s.split, s.documents, s.tokens, s.mentions])).toEqual([['dev', 1, 1, 0], ['train', 1, 5, 2], [null, 1, 2, 1]]);
  });
});
