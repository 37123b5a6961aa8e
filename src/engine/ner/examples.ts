/**
 * From annotated documents to token-classification examples, and from predicted tags back to
 * character spans. Texts are cut into chunks of at most `chunkWords` whitespace-separated words
 * (the method uses 128), each chunk tokenized on its own with character offsets.
 * All offsets are Unicode code points.
 *
 * Predictions are read per word, never per sub-token: a word is a run of letters, digits and
 * combining marks, or one other non-space character, and takes the tag of its first sub-token,
 * so a predicted span always starts and ends on word boundaries (in MEDDOCAN 3 of dev's 5,801
 * gold spans start or end inside such a word).
 */
import type { TextTokenizer } from '../tokenizers/index.js';
import type { TokenClassificationExample } from '../train/index.js';

export interface NerSpan {
  start: number;
  end: number;
  label: string;
}

export interface NerDocument {
  text: string;
  spans: NerSpan[];
}

/** O, then B-X and I-X for every label X in the order given. */
export function bioLabels(labels: string[]): string[] {
  return ['O', ...labels.flatMap((label) => [`B-${label}`, `I-${label}`])];
}

/**
 * [start, end) code-point ranges of runs of at most maxWords words, covering every word. A new run
 * starts every `stride` words (default maxWords: no overlap); the last run ends at the last word.
 */
export function chunkByWords(chars: string[], maxWords: number, stride = maxWords): [number, number][] {
  if (!(stride >= 1 && stride <= maxWords)) throw new Error(`chunk stride must be in [1, ${maxWords}], got ${stride}`);
  const words: [number, number][] = [];
  let i = 0;
  while (i < chars.length) {
    if (/\s/u.test(chars[i]!)) {
      i++;
      continue;
    }
    const wordStart = i;
    while (i < chars.length && !/\s/u.test(chars[i]!)) i++;
    words.push([wordStart, i]);
  }
  const chunks: [number, number][] = [];
  for (let first = 0; first < words.length; first += stride) {
    const last = Math.min(first + maxWords, words.length) - 1;
    chunks.push([words[first]![0], words[last]![1]]);
    if (last === words.length - 1) break;
  }
  return chunks;
}

export interface EncodedChunk {
  docIndex: number;
  /** Code-point offset of the chunk in its document. */
  start: number;
  inputIds: number[];
  /** Per token: [start, end) in the document, or null for special tokens. */
  offsets: ([number, number] | null)[];
  /** Per token: the index of its word in the chunk (sub-tokens of one word share it), or -1 for special tokens. */
  words: number[];
}

const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;

/**
 * Groups tokens into words: a token continues the previous token's word when it starts where that
 * one ended and the characters on both sides of the join are letters, digits or marks (WordPiece's
 * "##" pieces; a byte-level BPE split inside a word). `chars` is the text the offsets index.
 */
export function wordIndices(offsets: readonly ([number, number] | null)[], chars: readonly string[]): number[] {
  let word = -1;
  let prevEnd = -1;
  return offsets.map((offset) => {
    if (!offset) return -1;
    const [start, end] = offset;
    const continues = word >= 0 && start === prevEnd && start > 0 && WORD_CHAR.test(chars[start - 1] ?? '') && WORD_CHAR.test(chars[start] ?? '');
    if (!continues) word++;
    prevEnd = end;
    return word;
  });
}

/**
 * Tokenizes every document in chunks; `maxTokens` truncates over-long chunks (the model's positions).
 * `stride` < chunkWords makes the chunks overlap (see chunkByWords).
 */
export function encodeChunks(docs: { text: string }[], tokenizer: TextTokenizer, chunkWords: number, maxTokens: number, stride = chunkWords): EncodedChunk[] {
  const out: EncodedChunk[] = [];
  docs.forEach((doc, docIndex) => {
    const chars = Array.from(doc.text);
    for (const [start, end] of chunkByWords(chars, chunkWords, stride)) {
      const encoded = tokenizer.encode(chars.slice(start, end).join(''), { addSpecialTokens: true });
      let inputIds = encoded.ids;
      let offsets = encoded.offsets.map((o, t): [number, number] | null => (encoded.specialTokensMask[t] ? null : [start + o[0], start + o[1]]));
      if (inputIds.length > maxTokens) {
        // Keep the trailing special token ([SEP] / </s>) so the model sees the usual frame.
        inputIds = [...inputIds.slice(0, maxTokens - 1), inputIds.at(-1)!];
        offsets = [...offsets.slice(0, maxTokens - 1), null];
      }
      out.push({ docIndex, start, inputIds, offsets, words: wordIndices(offsets, chars) });
    }
  });
  return out;
}

/**
 * BIO label ids per token: a token that starts where its span starts is B-X, a later token
 * inside the span I-X, any other token O; special tokens are ignored (-100). With `firstSubTokenOnly`
 * only the first sub-token of each word is labelled and the rest are ignored (-100) too.
 */
export function labelChunks(chunks: EncodedChunk[], docs: NerDocument[], tags: string[], opts: { firstSubTokenOnly?: boolean } = {}): TokenClassificationExample[] {
  const tagId = new Map(tags.map((tag, i) => [tag, i]));
  return chunks.map((chunk) => {
    const spans = docs[chunk.docIndex]!.spans;
    const labels = chunk.offsets.map((offset, t) => {
      if (!offset) return -100;
      if (opts.firstSubTokenOnly && t > 0 && chunk.words[t] === chunk.words[t - 1]) return -100;
      const span = spans.find((s) => offset[0] >= s.start && offset[0] < s.end);
      if (!span) return 0;
      const tag = `${offset[0] === span.start ? 'B' : 'I'}-${span.label}`;
      const id = tagId.get(tag);
      if (id === undefined) throw new Error(`label ${span.label} is not in the model's label set (${tags.length} tags)`);
      return id;
    });
    return { inputIds: chunk.inputIds, labels };
  });
}

/** One word's predicted tag id, with how far its first sub-token sits from its chunk's edges (in tokens). */
export interface WordTag {
  start: number;
  end: number;
  tag: number;
  centrality: number;
}

/**
 * Adds a chunk's predictions to its document's words (keyed by the word's start): a word takes its
 * first sub-token's tag, and when overlapping chunks both hold a word, the chunk where it is most
 * central (most context on its narrower side) wins.
 */
export function collectWordTags(chunk: EncodedChunk, predicted: ArrayLike<number>, into: Map<number, WordTag>): void {
  const positions = chunk.offsets.flatMap((o, t) => (o ? [t] : []));
  if (!positions.length) return;
  const first = positions[0]!;
  const last = positions.at(-1)!;
  let current: WordTag | null = null;
  chunk.offsets.forEach((offset, t) => {
    if (!offset) return;
    if (current && chunk.words[t] === chunk.words[t - 1]) {
      current.end = offset[1];
      return;
    }
    current = { start: offset[0], end: offset[1], tag: predicted[t]!, centrality: Math.min(t - first, last - t) };
    const held = into.get(current.start);
    if (!held || current.centrality > held.centrality) into.set(current.start, current);
  });
}

/**
 * Spans from per-word tags, in text order, repairing invalid BIO as conlleval reads it: B-X opens
 * a span, I-X continues an open span of X and otherwise opens one (after O or another label),
 * O closes. A span runs from its first word's start to its last word's end.
 */
export function decodeWordTags(words: readonly WordTag[], tags: string[]): NerSpan[] {
  const spans: NerSpan[] = [];
  let open: NerSpan | null = null;
  for (const word of words) {
    const tag = tags[word.tag] ?? 'O';
    const [prefix, label] = tag === 'O' ? ['O', ''] : [tag.slice(0, 1), tag.slice(2)];
    if (prefix === 'I' && open && open.label === label) {
      open.end = word.end;
      continue;
    }
    if (open) spans.push(open);
    open = prefix === 'O' ? null : { start: word.start, end: word.end, label };
  }
  if (open) spans.push(open);
  return spans;
}

/** Spans of one chunk's predicted tag ids (collectWordTags, then decodeWordTags). */
export function decodeSpans(chunk: EncodedChunk, predicted: ArrayLike<number>, tags: string[]): NerSpan[] {
  const words = new Map<number, WordTag>();
  collectWordTags(chunk, predicted, words);
  return decodeWordTags([...words.values()].sort((a, b) => a.start - b.start), tags);
}
