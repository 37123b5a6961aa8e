// Shared test helpers: MEDDOCAN loading and deterministic perturbations of gold spans.
// The perturbations are also what the official script scored for fixtures/official-counts.json
// (see oracle/README.md), so any change to them must regenerate that fixture.
import path from 'node:path';
import { createRng } from '../../src/scoring/rng.js';
import { readBratDirectory } from '../../src/scoring/brat.js';
import type { PredictedDocument, ScoringDocument, Span } from '../../src/scoring/types.js';

export { MEDDOCAN_DIR } from '../support/paths.js';
import { MEDDOCAN_DIR } from '../support/paths.js';

const cache = new Map<string, ScoringDocument[]>();
export function loadSplit(split: 'train' | 'dev'): ScoringDocument[] {
  let docs = cache.get(split);
  if (!docs) cache.set(split, (docs = readBratDirectory(path.join(MEDDOCAN_DIR, split))));
  return docs;
}

/** The 15 documents of the official script's sample (gold/brat/sample), all from train. */
export const OFFICIAL_SAMPLE_IDS = [
  'S0004-06142005000500011-1', 'S0004-06142005000700014-1', 'S0004-06142005000900013-1', 'S0004-06142005000900014-1',
  'S0004-06142005000900015-1', 'S0004-06142005000900016-1', 'S0004-06142005001000011-1', 'S0004-06142005001000011-3',
  'S0004-06142005001000016-1', 'S0004-06142006000100010-1', 'S0004-06142006000100014-1', 'S0004-06142006000200001-1',
  'S0004-06142006000200011-1', 'S0004-06142006000200013-1', 'S0004-06142006000200014-1',
];
/** Lines of annotated_corpora/sentence_splitted/<id>.ann in the official repository (its leak denominator). */
export const OFFICIAL_SAMPLE_SENTENCES: Record<string, number> = {
  'S0004-06142005000500011-1': 27, 'S0004-06142005000700014-1': 37, 'S0004-06142005000900013-1': 29, 'S0004-06142005000900014-1': 24,
  'S0004-06142005000900015-1': 24, 'S0004-06142005000900016-1': 25, 'S0004-06142005001000011-1': 28, 'S0004-06142005001000011-3': 27,
  'S0004-06142005001000016-1': 23, 'S0004-06142006000100010-1': 27, 'S0004-06142006000100014-1': 39, 'S0004-06142006000200001-1': 31,
  'S0004-06142006000200011-1': 37, 'S0004-06142006000200013-1': 23, 'S0004-06142006000200014-1': 26,
};

export function officialSample(): ScoringDocument[] {
  const byId = new Map(loadSplit('train').map((d) => [d.id, d]));
  return OFFICIAL_SAMPLE_IDS.map((id) => byId.get(id)!);
}

const sorted = (spans: readonly Span[]): Span[] => [...spans].sort((a, b) => a.start - b.start || a.end - b.end || (a.label < b.label ? -1 : 1));

/** Applies f to every gold span, numbering spans across documents in id order then offset order. */
function mapSpans(gold: readonly ScoringDocument[], f: (s: Span, globalIndex: number, doc: ScoringDocument) => Span[]): PredictedDocument[] {
  let k = 0;
  return [...gold]
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((doc) => ({ id: doc.id, spans: sorted(doc.spans).flatMap((s) => f(s, k++, doc)) }));
}

export const identity = (gold: readonly ScoringDocument[]): PredictedDocument[] => mapSpans(gold, (s) => [{ ...s }]);

/** Drops the spans whose global index i has i % every === every - 1. */
export const dropEvery = (gold: readonly ScoringDocument[], every: number): PredictedDocument[] => mapSpans(gold, (s, i) => (i % every === every - 1 ? [] : [{ ...s }]));

/** Moves the start of every `every`-th span one code point right (if the span is longer than 1). */
export const shiftStartEvery = (gold: readonly ScoringDocument[], every: number): PredictedDocument[] =>
  mapSpans(gold, (s, i) => [i % every === every - 1 && s.end - s.start > 1 ? { ...s, start: s.start + 1 } : { ...s }]);

/** Gives every `every`-th span the next label (cyclically) of `labels`. */
export function relabelEvery(gold: readonly ScoringDocument[], every: number, labels: readonly string[]): PredictedDocument[] {
  return mapSpans(gold, (s, i) => [i % every === every - 1 ? { ...s, label: labels[(labels.indexOf(s.label) + 1) % labels.length]! } : { ...s }]);
}

/** Splits every span at its whitespace into one span per whitespace-free piece, same label. */
export function splitAtWhitespace(gold: readonly ScoringDocument[]): PredictedDocument[] {
  return mapSpans(gold, (s, _i, doc) => {
    const cps = Array.from(doc.text);
    const out: Span[] = [];
    let start = -1;
    for (let c = s.start; c <= s.end; c++) {
      const ws = c === s.end || /\s/.test(cps[c]!);
      if (!ws && start < 0) start = c;
      if (ws && start >= 0) {
        out.push({ start, end: c, label: s.label });
        start = -1;
      }
    }
    return out;
  });
}

/**
 * A seeded mixture of every error type, per gold span: 55 % kept, 8 % dropped, 8 % relabelled,
 * 8 % start shifted, 5 % end extended by one, 6 % split at whitespace, 5 % kept plus a nested
 * sub-span, 5 % kept plus a duplicate with another label; per document, up to 2 spurious spans on
 * random words. Exercises the merged-span quirks (nested, duplicate, adjacent spans).
 */
export function mixedPerturbation(gold: readonly ScoringDocument[], seed: number, labels: readonly string[]): PredictedDocument[] {
  const rng = createRng(seed);
  const base = mapSpans(gold, (s, _i, doc) => {
    const r = rng.nextFloat();
    const len = s.end - s.start;
    const textLen = Array.from(doc.text).length;
    const other = labels[(labels.indexOf(s.label) + 1 + rng.nextInt(labels.length - 1)) % labels.length]!;
    if (r < 0.55) return [{ ...s }];
    if (r < 0.63) return [];
    if (r < 0.71) return [{ ...s, label: other }];
    if (r < 0.79) return [len > 1 ? { ...s, start: s.start + 1 } : { ...s }];
    if (r < 0.84) return [{ ...s, end: Math.min(textLen, s.end + 1) }];
    if (r < 0.9) return splitAtWhitespace([{ id: doc.id, text: doc.text, spans: [s] }])[0]!.spans;
    if (r < 0.95) return len > 2 ? [{ ...s }, { start: s.start + 1, end: s.end - 1, label: s.label }] : [{ ...s }];
    return [{ ...s }, { ...s, label: other }];
  });
  const byId = new Map(gold.map((d) => [d.id, d]));
  return base.map((p) => {
    const doc = byId.get(p.id)!;
    const words = [...doc.text.matchAll(/\p{L}+/gu)];
    const extra: Span[] = [];
    const k = rng.nextInt(3);
    for (let j = 0; j < k && words.length > 0; j++) {
      const m = words[rng.nextInt(words.length)]!;
      // MEDDOCAN texts have no astral characters, so UTF-16 offsets are code point offsets here
      extra.push({ start: m.index, end: m.index + m[0].length, label: labels[rng.nextInt(labels.length)]! });
    }
    return { id: p.id, spans: sorted([...p.spans, ...extra]) };
  });
}

/** The perturbation cases scored by the official script (fixtures/official-counts.json). */
export function officialCases(): { name: string; gold: ScoringDocument[]; pred: PredictedDocument[] }[] {
  const dev = loadSplit('dev');
  const sample = officialSample();
  const labels = [...new Set(dev.flatMap((d) => d.spans.map((s) => s.label)))].sort();
  return [
    { name: 'dev/identity', gold: dev, pred: identity(dev) },
    { name: 'dev/drop-every-7', gold: dev, pred: dropEvery(dev, 7) },
    { name: 'dev/shift-start-every-5', gold: dev, pred: shiftStartEvery(dev, 5) },
    { name: 'dev/relabel-every-3', gold: dev, pred: relabelEvery(dev, 3, labels) },
    { name: 'dev/split-at-whitespace', gold: dev, pred: splitAtWhitespace(dev) },
    { name: 'dev/mixed-seed-1', gold: dev, pred: mixedPerturbation(dev, 1, labels) },
    { name: 'dev/mixed-seed-2', gold: dev, pred: mixedPerturbation(dev, 2, labels) },
    { name: 'sample/mixed-seed-3', gold: sample, pred: mixedPerturbation(sample, 3, labels) },
    { name: 'sample/drop-every-4', gold: sample, pred: dropEvery(sample, 4) },
  ];
}
