import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  bioLabels,
  bioTransitions,
  chunkByWords,
  collectWordTags,
  decodeSpans,
  decodeWordTags,
  encodeChunks,
  labelChunks,
  scoreSpans,
  splitDocuments,
  textWords,
  unsureWords,
  viterbiBio,
  wordIndices,
  type EncodedChunk,
  type NerDocument,
  type WordTag,
} from '../../src/engine/ner/index.js';
import { loadTokenizer, trainWordPiece } from '../../src/engine/tokenizers/index.js';

const tmp = await mkdtemp(join(tmpdir(), 'engine-ner-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

const TAGS = bioLabels(['NOMBRE', 'FECHAS']); // O, B-NOMBRE, I-NOMBRE, B-FECHAS, I-FECHAS
const id = (tag: string): number => TAGS.indexOf(tag);

/** A chunk of `text` from hand-made token offsets ([CLS] and [SEP] around them). */
function chunkOf(text: string, offsets: [number, number][]): EncodedChunk {
  const all = [null, ...offsets, null];
  return { docIndex: 0, start: 0, inputIds: all.map((_, i) => i), offsets: all, words: wordIndices(all, Array.from(text)) };
}
/** Logits [tokens × tags] that favour the given tag ids (rows of -100 stay flat). */
const logitsOf = (ids: number[]): Float32Array => {
  const out = new Float32Array(ids.length * TAGS.length);
  ids.forEach((tag, t) => tag >= 0 && (out[t * TAGS.length + tag] = 10));
  return out;
};
/** Logits for a chunkOf chunk: O on the special tokens. */
const predicted = (...tags: string[]): Float32Array => logitsOf([0, ...tags.map(id), 0]);
/** A word at `start` whose scores favour `tag`. */
const w = (start: number, tag: string): WordTag => ({ start, end: start + 1, scores: logitsOf([id(tag)]).map((x) => x - 10), centrality: 0 });

describe('NER decoding', () => {
  it('should group sub-tokens into words: letters and digits join, punctuation stands alone', () => {
    // "Gar" "##cía" "vive" | "12" "/" "03"
    expect(wordIndices([null, [0, 3], [3, 6], [7, 11], null], Array.from('García vive'))).toEqual([-1, 0, 0, 1, -1]);
    expect(wordIndices([[0, 2], [2, 3], [3, 5]], Array.from('12/03'))).toEqual([0, 1, 2]);
  });

  it("should give a word its first sub-token's tag, so a span never ends or starts inside a word", () => {
    const text = 'Dr. García vive';
    // "Dr" "." "Gar" "##cía" "vive"
    const chunk = chunkOf(text, [[0, 2], [2, 3], [4, 7], [7, 10], [11, 15]]);
    // the second piece says O: the span still covers the whole word
    expect(decodeSpans(chunk, predicted('O', 'O', 'B-NOMBRE', 'O', 'O'), TAGS)).toEqual([{ start: 4, end: 10, label: 'NOMBRE' }]);
    // the second piece says B-NOMBRE again: one span, not two
    expect(decodeSpans(chunk, predicted('O', 'O', 'B-NOMBRE', 'B-NOMBRE', 'O'), TAGS)).toEqual([{ start: 4, end: 10, label: 'NOMBRE' }]);
    // a span that starts on a word's second piece starts at the word's start; the word's first piece decides its label
    expect(decodeSpans(chunk, predicted('O', 'O', 'O', 'B-NOMBRE', 'O'), TAGS)).toEqual([]);
    expect(decodeSpans(chunk, predicted('O', 'O', 'I-NOMBRE', 'I-FECHAS', 'I-NOMBRE'), TAGS)).toEqual([{ start: 4, end: 15, label: 'NOMBRE' }]);
  });

  it('should repair invalid BIO: I-X after O or after another label opens a span of X', () => {
    expect(decodeWordTags([w(0, 'O'), w(2, 'I-NOMBRE'), w(4, 'I-NOMBRE'), w(6, 'O')], TAGS)).toEqual([{ start: 2, end: 5, label: 'NOMBRE' }]);
    expect(decodeWordTags([w(0, 'B-NOMBRE'), w(2, 'I-FECHAS'), w(4, 'I-FECHAS')], TAGS)).toEqual([
      { start: 0, end: 1, label: 'NOMBRE' },
      { start: 2, end: 5, label: 'FECHAS' },
    ]);
    expect(decodeWordTags([w(0, 'B-NOMBRE'), w(2, 'B-NOMBRE'), w(4, 'I-NOMBRE')], TAGS)).toEqual([
      { start: 0, end: 1, label: 'NOMBRE' },
      { start: 2, end: 5, label: 'NOMBRE' },
    ]);
  });

  it('should decode the best valid BIO sequence with viterbi', () => {
    // O, then a word torn between O (0.5) and B-NOMBRE (0.4), then I-NOMBRE (0.9): greedy takes O and
    // the repair opens a span on the third word only; the best valid sequence is O B-NOMBRE I-NOMBRE
    const soft = (start: number, probs: Record<string, number>): WordTag => ({
      start,
      end: start + 1,
      scores: Float32Array.from(TAGS, (tag) => Math.log(probs[tag] ?? 1e-4)),
      centrality: 0,
    });
    const words = [soft(0, { O: 0.9 }), soft(2, { O: 0.5, 'B-NOMBRE': 0.4, 'I-NOMBRE': 0.1 }), soft(4, { 'I-NOMBRE': 0.9, 'B-NOMBRE': 0.05 })];
    expect(decodeWordTags(words, TAGS)).toEqual([{ start: 4, end: 5, label: 'NOMBRE' }]);
    expect(viterbiBio(words, TAGS).map((t) => TAGS[t])).toEqual(['O', 'B-NOMBRE', 'I-NOMBRE']);
    expect(decodeWordTags(words, TAGS, { viterbi: true })).toEqual([{ start: 2, end: 5, label: 'NOMBRE' }]);
    // valid input passes unchanged
    const valid = [w(0, 'B-FECHAS'), w(2, 'I-FECHAS'), w(4, 'O'), w(6, 'B-NOMBRE'), w(8, 'B-NOMBRE')];
    expect(viterbiBio(valid, TAGS).map((t) => TAGS[t])).toEqual(['B-FECHAS', 'I-FECHAS', 'O', 'B-NOMBRE', 'B-NOMBRE']);
    expect(viterbiBio([], TAGS)).toEqual([]);
  });
});

describe('NER counted transitions', () => {
  // Two names, each of two words: O B I O O B I; B-NOMBRE never follows a word of NOMBRE.
  const docs: NerDocument[] = [{ text: 'Dr Ana Gil y el Dr Luis Sanz', spans: [{ start: 3, end: 10, label: 'NOMBRE' }, { start: 19, end: 28, label: 'NOMBRE' }] }];
  const at = (logProbs: Float64Array, prev: string | null, tag: string): number => logProbs[(prev === null ? TAGS.length : id(prev)) * TAGS.length + id(tag)]!;

  it('should count log P(tag | previous tag) after entity words, add-one smoothed, -Infinity where BIO forbids', () => {
    const lp = bioTransitions(docs, TAGS);
    // after O and at the start: no prior (0), so nothing keeps an entity from starting
    expect(at(lp, 'O', 'B-NOMBRE')).toBe(0);
    expect(at(lp, 'O', 'O')).toBe(0);
    expect(at(lp, null, 'B-FECHAS')).toBe(0);
    expect(at(lp, 'O', 'I-NOMBRE')).toBe(-Infinity);
    expect(at(lp, null, 'I-NOMBRE')).toBe(-Infinity);
    // after B-NOMBRE: I-NOMBRE twice, B-NOMBRE never (+4 allowed: O, B-NOMBRE, I-NOMBRE, B-FECHAS)
    expect(at(lp, 'B-NOMBRE', 'I-NOMBRE')).toBeCloseTo(Math.log(3 / 6), 12);
    expect(at(lp, 'B-NOMBRE', 'B-NOMBRE')).toBeCloseTo(Math.log(1 / 6), 12);
    // after I-NOMBRE: O once (Gil → y; Sanz ends the text), +4 allowed
    expect(at(lp, 'I-NOMBRE', 'O')).toBeCloseTo(Math.log(2 / 5), 12);
  });

  it('should join a name the model splits in two when the transitions weigh in', () => {
    const lp = bioTransitions(docs, TAGS);
    // the second word looks like the start of a name (B 0.6) more than its middle (I 0.4)
    const soft = (start: number, probs: Record<string, number>): WordTag => ({ start, end: start + 1, scores: Float32Array.from(TAGS, (tag) => Math.log(probs[tag] ?? 1e-4)), centrality: 0 });
    const words = [soft(0, { 'B-NOMBRE': 0.9 }), soft(2, { 'B-NOMBRE': 0.6, 'I-NOMBRE': 0.4 })];
    expect(decodeWordTags(words, TAGS, { viterbi: true })).toEqual([{ start: 0, end: 1, label: 'NOMBRE' }, { start: 2, end: 3, label: 'NOMBRE' }]);
    expect(decodeWordTags(words, TAGS, { viterbi: true, transitions: { logProbs: lp, weight: 1 } })).toEqual([{ start: 0, end: 3, label: 'NOMBRE' }]);
    expect(viterbiBio(words, TAGS, { logProbs: lp, weight: 0 }).map((t) => TAGS[t])).toEqual(['B-NOMBRE', 'B-NOMBRE']);
  });
});

describe('NER unsure words', () => {
  const soft = (start: number, probs: Record<string, number>): WordTag => ({ start, end: start + 2, scores: Float32Array.from(TAGS, (tag) => Math.log(probs[tag] ?? 1e-4)), centrality: 0 });

  it("should give the ranges of the words decoded O whose O's probability is under the threshold, neighbours joined", () => {
    // "Hospital Universitario Xyz Abc y": the last two words of the name were left out, unsure
    const words = [soft(0, { 'B-NOMBRE': 0.95 }), soft(3, { 'I-NOMBRE': 0.5, O: 0.5 }), soft(6, { O: 0.55, 'I-NOMBRE': 0.45 }), soft(9, { O: 0.6, 'I-NOMBRE': 0.4 }), soft(12, { O: 0.99 })];
    const ids = [id('B-NOMBRE'), id('I-NOMBRE'), id('O'), id('O'), id('O')];
    expect(unsureWords(words, ids, TAGS, 0.8)).toEqual([[6, 11]]);
    expect(unsureWords(words, ids, TAGS, 0.995)).toEqual([[6, 14]]);
    expect(unsureWords(words, ids, TAGS, 0.58)).toEqual([[6, 8]]);
    expect(unsureWords(words, ids, TAGS, 0.5)).toEqual([]);
    // a word inside a span stays however unsure (it teaches where the span ends)
    expect(unsureWords(words, ids, TAGS, 1).some(([start]) => start < 6)).toBe(false);
  });

  it('should leave ignored words out of the loss and out of the counted transitions', () => {
    const text = 'Dr Ana Gil y el Dr Luis Sanz';
    const spans = [{ start: 3, end: 10, label: 'NOMBRE' }, { start: 19, end: 28, label: 'NOMBRE' }];
    const dir = join(tmp, 'wp-ignore');
    trainWordPiece([text], { vocabSize: 60 }).save(dir);
    const chunks = encodeChunks([{ text }], loadTokenizer(dir), 64, 512);
    const all = labelChunks(chunks, [{ text, spans }], TAGS)[0]!.labels;
    // "Gil y" unsure: its tokens (and only they) become -100
    const ignored = labelChunks(chunks, [{ text, spans, ignore: [[7, 12]] }], TAGS)[0]!.labels;
    chunks[0]!.offsets.forEach((offset, t) => expect(ignored[t], `token ${t}`).toBe(offset && offset[0] >= 7 && offset[0] < 12 ? -100 : all[t]));
    expect(ignored.filter((l) => l === -100).length).toBeGreaterThan(all.filter((l) => l === -100).length);
    // with "Gil" unknown, B-NOMBRE → I-NOMBRE and I-NOMBRE → O are counted once each (Luis Sanz), not twice
    const at = (logProbs: Float64Array, prev: string, tag: string): number => logProbs[id(prev) * TAGS.length + id(tag)]!;
    const counted = bioTransitions([{ text, spans, ignore: [[7, 10]] }], TAGS);
    expect(at(counted, 'B-NOMBRE', 'I-NOMBRE')).toBeCloseTo(Math.log(2 / 5), 12);
    expect(at(counted, 'I-NOMBRE', 'O')).toBeCloseTo(Math.log(1 / 4), 12);
  });
});

describe('NER chunks', () => {
  it('should cut overlapping runs of words with a stride, the last one ending at the last word', () => {
    const chars = Array.from('a bb c d e f g');
    expect(chunkByWords(chars, 3)).toEqual([[0, 6], [7, 12], [13, 14]]);
    expect(chunkByWords(chars, 4, 2)).toEqual([[0, 8], [5, 12], [9, 14]]);
    expect(chunkByWords(chars, 7, 3)).toEqual([[0, 14]]);
    expect(() => chunkByWords(chars, 4, 5)).toThrow(/stride/);
  });

  it('should take each word from the overlapping chunk where it is most central', () => {
    const text = 'a b Juan Pérez c d';
    const into = new Map<number, WordTag>();
    // words a, b, Juan, Pérez: Juan is central here; Pérez, at the edge, is mispredicted
    collectWordTags(chunkOf(text, [[0, 1], [2, 3], [4, 8], [9, 14]]), predicted('O', 'O', 'B-NOMBRE', 'O'), TAGS.length, into);
    // words Juan, Pérez, c, d: Juan, at the edge without its left context, is mispredicted
    collectWordTags(chunkOf(text, [[4, 8], [9, 14], [15, 16], [17, 18]]), predicted('O', 'I-NOMBRE', 'O', 'O'), TAGS.length, into);
    const words = [...into.values()].sort((a, b) => a.start - b.start);
    expect(words.map((word) => TAGS[word.scores.indexOf(Math.max(...word.scores))])).toEqual(['O', 'O', 'B-NOMBRE', 'I-NOMBRE', 'O', 'O']);
    expect(decodeWordTags(words, TAGS)).toEqual([{ start: 4, end: 14, label: 'NOMBRE' }]);
  });

  it('should label only the first sub-token of each word when asked, and decode gold labels back to the gold spans across chunk borders', () => {
    const doc: NerDocument = {
      text: 'Paciente Alejandro Fernández Gutiérrez ingresó el 12/03/2019 en el hospital con Alejandro.',
      spans: [
        { start: 9, end: 38, label: 'NOMBRE' },
        { start: 50, end: 60, label: 'FECHAS' },
        { start: 80, end: 89, label: 'NOMBRE' },
      ],
    };
    const dir = join(tmp, 'wp');
    trainWordPiece([doc.text, 'Paciente ingresó el hospital con'], { vocabSize: 120 }).save(dir);
    const tokenizer = loadTokenizer(dir);
    for (const [chunkWords, stride] of [[3, 3], [4, 2], [5, 1], [64, 64]] as const) {
      const chunks = encodeChunks([doc], tokenizer, chunkWords, 512, stride);
      for (const firstSubTokenOnly of [false, true]) {
        const examples = labelChunks(chunks, [doc], TAGS, { firstSubTokenOnly });
        const into = new Map<number, WordTag>();
        chunks.forEach((chunk, i) => collectWordTags(chunk, logitsOf(examples[i]!.labels), TAGS.length, into));
        // the spans cross chunk borders (3 words a chunk cuts both names and the date's chunk apart)
        expect(decodeWordTags([...into.values()].sort((a, b) => a.start - b.start), TAGS), `${chunkWords}/${stride} ${firstSubTokenOnly}`).toEqual(doc.spans);
      }
    }
    // sub-tokens after a word's first are ignored (-100) only with firstSubTokenOnly
    const [chunk] = encodeChunks([doc], tokenizer, 64, 512);
    const every = labelChunks([chunk!], [doc], TAGS)[0]!.labels;
    const first = labelChunks([chunk!], [doc], TAGS, { firstSubTokenOnly: true })[0]!.labels;
    const continuation = chunk!.words.map((w, t) => w >= 0 && t > 0 && chunk!.words[t - 1] === w);
    expect(continuation.some(Boolean)).toBe(true);
    chunk!.words.forEach((w, t) => expect(first[t]).toBe(continuation[t] ? -100 : every[t]));
  });
});

describe('NER validation', () => {
  it('should score strict entity F1 and typed word F1, and hold out a seeded share of documents', () => {
    const doc: NerDocument = { text: 'Juan Pérez, 12/03/2019.', spans: [{ start: 0, end: 10, label: 'NOMBRE' }, { start: 12, end: 22, label: 'FECHAS' }] };
    expect(textWords(Array.from(doc.text))).toEqual([[0, 4], [5, 10], [10, 11], [12, 14], [14, 15], [15, 17], [17, 18], [18, 22], [22, 23]]);
    expect(scoreSpans([doc], [doc.spans])).toEqual({ tokenF1: 1, entityF1: 1 });
    // "Juan" alone: 1 of 2 entities wrong (and 1 missed is the same span); words: 1 of 2 name words found, the date's 5 all
    const found = scoreSpans([doc], [[{ start: 0, end: 4, label: 'NOMBRE' }, { start: 12, end: 22, label: 'FECHAS' }]]);
    expect(found.entityF1).toBeCloseTo((2 * 1) / (2 * 1 + 1 + 1));
    expect(found.tokenF1).toBeCloseTo((2 * 6) / (2 * 6 + 0 + 1));
    expect(scoreSpans([doc], [[]])).toEqual({ tokenF1: 0, entityF1: 0 });

    const docs = Array.from({ length: 10 }, (_, i) => i);
    const { train, held } = splitDocuments(docs, 0.2, 7);
    expect(held).toHaveLength(2);
    expect([...train, ...held].sort((a, b) => a - b)).toEqual(docs);
    expect(splitDocuments(docs, 0.2, 7)).toEqual({ train, held });
    expect(splitDocuments(docs, 0, 7)).toEqual({ train: docs, held: [] });
    expect(splitDocuments([1, 2], 0.01, 0).held).toHaveLength(1);
    expect(() => splitDocuments(docs, 1, 0)).toThrow(/validationSplit/);
  });
});
