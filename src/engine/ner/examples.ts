/**
 * From annotated documents to token-classification examples, and from predicted tags back to
 * character spans. Texts are cut into chunks of at most `chunkWords` whitespace-separated words
 * (the method uses 128), each chunk tokenized on its own with character offsets.
 * All offsets are Unicode code points.
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

/** [start, end) code-point ranges of consecutive runs of at most maxWords words, covering every word. */
export function chunkByWords(chars: string[], maxWords: number): [number, number][] {
  const chunks: [number, number][] = [];
  let words = 0;
  let chunkStart = -1;
  let lastWordEnd = 0;
  let i = 0;
  while (i < chars.length) {
    if (/\s/u.test(chars[i]!)) {
      i++;
      continue;
    }
    const wordStart = i;
    while (i < chars.length && !/\s/u.test(chars[i]!)) i++;
    if (chunkStart < 0) chunkStart = wordStart;
    if (words === maxWords) {
      chunks.push([chunkStart, lastWordEnd]);
      chunkStart = wordStart;
      words = 0;
    }
    words++;
    lastWordEnd = i;
  }
  if (chunkStart >= 0) chunks.push([chunkStart, lastWordEnd]);
  return chunks;
}

export interface EncodedChunk {
  docIndex: number;
  /** Code-point offset of the chunk in its document. */
  start: number;
  inputIds: number[];
  /** Per token: [start, end) in the document, or null for special tokens. */
  offsets: ([number, number] | null)[];
}

/** Tokenizes every document in chunks; `maxTokens` truncates over-long chunks (the model's positions). */
export function encodeChunks(docs: { text: string }[], tokenizer: TextTokenizer, chunkWords: number, maxTokens: number): EncodedChunk[] {
  const out: EncodedChunk[] = [];
  docs.forEach((doc, docIndex) => {
    const chars = Array.from(doc.text);
    for (const [start, end] of chunkByWords(chars, chunkWords)) {
      const encoded = tokenizer.encode(chars.slice(start, end).join(''), { addSpecialTokens: true });
      let inputIds = encoded.ids;
      let offsets = encoded.offsets.map((o, t): [number, number] | null => (encoded.specialTokensMask[t] ? null : [start + o[0], start + o[1]]));
      if (inputIds.length > maxTokens) {
        // Keep the trailing special token ([SEP] / </s>) so the model sees the usual frame.
        inputIds = [...inputIds.slice(0, maxTokens - 1), inputIds.at(-1)!];
        offsets = [...offsets.slice(0, maxTokens - 1), null];
      }
      out.push({ docIndex, start, inputIds, offsets });
    }
  });
  return out;
}

/**
 * BIO label ids per token: a token that starts where its span starts is B-X, a later token
 * inside the span I-X, any other token O; special tokens are ignored (-100).
 */
export function labelChunks(chunks: EncodedChunk[], docs: NerDocument[], tags: string[]): TokenClassificationExample[] {
  const tagId = new Map(tags.map((tag, i) => [tag, i]));
  return chunks.map((chunk) => {
    const spans = docs[chunk.docIndex]!.spans;
    const labels = chunk.offsets.map((offset) => {
      if (!offset) return -100;
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

/**
 * Spans from predicted tag ids: B-X opens a span, I-X continues a span of X (or opens one, as
 * conlleval does), O closes. A span runs from its first token's start to its last token's end.
 */
export function decodeSpans(chunk: EncodedChunk, predicted: ArrayLike<number>, tags: string[]): NerSpan[] {
  const spans: NerSpan[] = [];
  let open: NerSpan | null = null;
  chunk.offsets.forEach((offset, t) => {
    if (!offset) return;
    const tag = tags[predicted[t]!] ?? 'O';
    const [prefix, label] = tag === 'O' ? ['O', ''] : [tag.slice(0, 1), tag.slice(2)];
    if (prefix === 'I' && open && open.label === label) {
      open.end = offset[1];
      return;
    }
    if (open) spans.push(open);
    open = prefix === 'O' ? null : { start: offset[0], end: offset[1], label };
  });
  if (open) spans.push(open);
  return spans;
}
