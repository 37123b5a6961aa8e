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
  /**
   * [start, end) ranges whose words teach nothing: the loss skips their tokens (-100) and the
   * counted transitions step over them. For machine annotations, the words the annotator left
   * out of its spans without being sure (unsureWords), so a student does not learn "not PHI"
   * where its teacher may have missed some.
   */
  ignore?: [number, number][];
}

/** Whether the character at `at` lies in one of the document's ignored ranges. */
export function ignoredAt(doc: NerDocument, at: number): boolean {
  return doc.ignore?.some(([start, end]) => at >= start && at < end) ?? false;
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

/** The BIO tag of the character at `at`: B-X where a span of X starts, I-X inside it, else O. */
function bioTagAt(spans: readonly NerSpan[], at: number): string {
  const span = spans.find((s) => at >= s.start && at < s.end);
  return span ? `${at === span.start ? 'B' : 'I'}-${span.label}` : 'O';
}

/**
 * BIO label ids per token: a token that starts where its span starts is B-X, a later token
 * inside the span I-X, any other token O; special tokens and tokens in the document's `ignore`
 * ranges are ignored (-100). With `firstSubTokenOnly` only the first sub-token of each word is
 * labelled and the rest are ignored (-100) too.
 */
export function labelChunks(chunks: EncodedChunk[], docs: NerDocument[], tags: string[], opts: { firstSubTokenOnly?: boolean } = {}): TokenClassificationExample[] {
  const tagId = new Map(tags.map((tag, i) => [tag, i]));
  return chunks.map((chunk) => {
    const doc = docs[chunk.docIndex]!;
    const labels = chunk.offsets.map((offset, t) => {
      if (!offset) return -100;
      if (opts.firstSubTokenOnly && t > 0 && chunk.words[t] === chunk.words[t - 1]) return -100;
      if (ignoredAt(doc, offset[0])) return -100;
      const tag = bioTagAt(doc.spans, offset[0]);
      if (tag === 'O') return 0;
      const id = tagId.get(tag);
      if (id === undefined) throw new Error(`label ${tag.slice(2)} is not in the model's label set (${tags.length} tags)`);
      return id;
    });
    return { inputIds: chunk.inputIds, labels };
  });
}

/** One word's tag scores (log-probabilities, one per tag) from its first sub-token. */
export interface WordTag {
  start: number;
  end: number;
  scores: Float32Array;
  /** How far the first sub-token sits from its chunk's nearer edge, in tokens. */
  centrality: number;
}

/** Log-softmax of each row of `logits` ([rows × numTags]) for the given rows. */
function logSoftmax(logits: ArrayLike<number>, row: number, numTags: number): Float32Array {
  const out = new Float32Array(numTags);
  let max = -Infinity;
  for (let j = 0; j < numTags; j++) max = Math.max(max, logits[row * numTags + j]!);
  let sum = 0;
  for (let j = 0; j < numTags; j++) sum += Math.exp(logits[row * numTags + j]! - max);
  const lse = max + Math.log(sum);
  for (let j = 0; j < numTags; j++) out[j] = logits[row * numTags + j]! - lse;
  return out;
}

/**
 * Adds a chunk's logits ([tokens × numTags]) to its document's words, keyed by the word's start:
 * a word is scored by its first sub-token, and when overlapping chunks both hold a word, the chunk
 * where it is most central (most context on its narrower side) wins.
 */
export function collectWordTags(chunk: EncodedChunk, logits: ArrayLike<number>, numTags: number, into: Map<number, WordTag>): void {
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
    current = { start: offset[0], end: offset[1], scores: logSoftmax(logits, t, numTags), centrality: Math.min(t - first, last - t) };
    const held = into.get(current.start);
    if (!held || current.centrality > held.centrality) into.set(current.start, current);
  });
}

const argmax = (xs: ArrayLike<number>): number => {
  let best = 0;
  for (let j = 1; j < xs.length; j++) if (xs[j]! > xs[best]!) best = j;
  return best;
};

/** allowed[p * L + c]: tag c may follow tag p under BIO (I-X only after B-X or I-X); row L is the start of the text. */
function bioAllowed(tags: string[]): Uint8Array {
  const L = tags.length;
  const allowed = new Uint8Array((L + 1) * L);
  for (let p = 0; p <= L; p++) {
    for (let c = 0; c < L; c++) {
      const tag = tags[c]!;
      const prev = p < L ? tags[p]! : 'O';
      allowed[p * L + c] = !tag.startsWith('I-') || (prev !== 'O' && prev.slice(2) === tag.slice(2)) ? 1 : 0;
    }
  }
  return allowed;
}

/** bioTransitions' scores and how much they weigh against the model's in viterbiBio. */
export type Transitions = { logProbs: Float64Array; weight: number };

/**
 * Transition scores for viterbiBio, counted over the words of annotated documents ([(L + 1) × L],
 * row L the start of a text; -Infinity where BIO forbids): after a word of an entity, log P(tag |
 * previous word's tag) with add-one smoothing over the allowed tags (how an entity goes on or ends
 * in the training data, e.g. that B-X right after a word of X is rare: a name is one span, not
 * two); after O and at the start of a text 0, so the counts never keep an entity from starting
 * (with those rows counted too, O → O dominates and weak taggers lost their recall).
 */
export function bioTransitions(docs: readonly NerDocument[], tags: string[]): Float64Array {
  const L = tags.length;
  const tagId = new Map(tags.map((tag, i) => [tag, i]));
  const counts = new Float64Array((L + 1) * L);
  for (const doc of docs) {
    const chars = Array.from(doc.text);
    let prev = L;
    for (const [start] of textWords(chars)) {
      // an ignored word's tag is unknown: neither the step into it nor the one out of it is counted
      const tag = ignoredAt(doc, start) ? -1 : tagId.get(bioTagAt(doc.spans, start));
      if (tag === undefined) continue;
      if (prev >= 0 && tag >= 0) counts[prev * L + tag]!++;
      prev = tag;
    }
  }
  const allowed = bioAllowed(tags);
  const out = new Float64Array((L + 1) * L).fill(-Infinity);
  const outside = tagId.get('O');
  for (let p = 0; p <= L; p++) {
    const counted = p !== L && p !== outside;
    let total = 0;
    for (let c = 0; c < L; c++) if (allowed[p * L + c]) total += counts[p * L + c]! + 1;
    for (let c = 0; c < L; c++) if (allowed[p * L + c]) out[p * L + c] = counted ? Math.log((counts[p * L + c]! + 1) / total) : 0;
  }
  return out;
}

/**
 * The best tag sequence under BIO's one rule (I-X only after B-X or I-X): Viterbi over the words'
 * log-probabilities, so an I-X the model puts after O is either joined to a B-X before it or
 * dropped, whichever the scores favour. With `transitions` (bioTransitions) and a weight, their
 * log-probabilities are added to every step's score: a structured decoder whose transition scores
 * are counted from the training labels instead of learned.
 */
export function viterbiBio(words: readonly WordTag[], tags: string[], transitions?: Transitions): number[] {
  const L = tags.length;
  if (!words.length) return [];
  const allowed = bioAllowed(tags);
  const w = transitions?.weight ?? 0;
  const trans = (p: number, c: number): number => (w ? w * transitions!.logProbs[p * L + c]! : 0);
  let score = Float64Array.from({ length: L }, (_, c) => (allowed[L * L + c] ? words[0]!.scores[c]! + trans(L, c) : -Infinity));
  const back: Int32Array[] = [];
  for (let i = 1; i < words.length; i++) {
    const next = new Float64Array(L).fill(-Infinity);
    const from = new Int32Array(L);
    for (let c = 0; c < L; c++) {
      for (let p = 0; p < L; p++) {
        if (!allowed[p * L + c]) continue;
        const v = score[p]! + trans(p, c);
        if (!(v > next[c]!)) continue;
        next[c] = v;
        from[c] = p;
      }
      next[c] = next[c]! + words[i]!.scores[c]!;
    }
    back.push(from);
    score = next;
  }
  const path = [argmax(score)];
  for (let i = back.length - 1; i >= 0; i--) path.push(back[i]![path.at(-1)!]!);
  return path.reverse();
}

/** Each word's tag id: the best valid sequence (viterbiBio) with `viterbi`, else each word's best tag. */
export function decodeWordIds(words: readonly WordTag[], tags: string[], opts: { viterbi?: boolean; transitions?: Transitions } = {}): number[] {
  return opts.viterbi ? viterbiBio(words, tags, opts.transitions) : words.map((w) => argmax(w.scores));
}

/**
 * Spans from per-word scores, in text order. Greedy (default): each word's best tag, with invalid
 * BIO repaired as conlleval reads it: B-X opens a span, I-X continues an open span of X and
 * otherwise opens one (after O or another label), O closes. `viterbi`: the best valid sequence
 * (viterbiBio). A span runs from its first word's start to its last word's end.
 */
export function decodeWordTags(words: readonly WordTag[], tags: string[], opts: { viterbi?: boolean; transitions?: Transitions } = {}): NerSpan[] {
  return spansOfWordIds(words, decodeWordIds(words, tags, opts), tags);
}

/** The spans that the words' tag ids (decodeWordIds) make. */
export function spansOfWordIds(words: readonly WordTag[], ids: readonly number[], tags: string[]): NerSpan[] {
  const spans: NerSpan[] = [];
  let open: NerSpan | null = null;
  words.forEach((word, i) => {
    const tag = tags[ids[i]!] ?? 'O';
    const [prefix, label] = tag === 'O' ? ['O', ''] : [tag.slice(0, 1), tag.slice(2)];
    if (prefix === 'I' && open && open.label === label) {
      open.end = word.end;
      return;
    }
    if (open) spans.push(open);
    open = prefix === 'O' ? null : { start: word.start, end: word.end, label };
  });
  if (open) spans.push(open);
  return spans;
}

/**
 * [start, end) ranges of the words decoded O (ids) whose O the model gave a probability under
 * `below` (the word's own softmax, before any transitions), consecutive such words in one range:
 * where a machine annotation may have missed PHI (NerDocument.ignore). Words inside spans stay,
 * even unsure ones, since they teach the spans' boundaries: skipping those too cost strict F1 on
 * MEDDOCAN (docs/engine-benchmark.md, "Full run 13").
 */
export function unsureWords(words: readonly WordTag[], ids: readonly number[], tags: readonly string[], below: number): [number, number][] {
  const ranges: [number, number][] = [];
  let previous = -2;
  words.forEach((word, i) => {
    if (tags[ids[i]!] !== 'O' || !(Math.exp(word.scores[ids[i]!]!) < below)) return;
    if (previous === i - 1) ranges.at(-1)![1] = word.end;
    else ranges.push([word.start, word.end]);
    previous = i;
  });
  return ranges;
}

/** Spans of one chunk's logits ([tokens × tags.length]): collectWordTags, then decodeWordTags. */
export function decodeSpans(chunk: EncodedChunk, logits: ArrayLike<number>, tags: string[], opts: { viterbi?: boolean } = {}): NerSpan[] {
  const words = new Map<number, WordTag>();
  collectWordTags(chunk, logits, tags.length, words);
  return decodeWordTags([...words.values()].sort((a, b) => a.start - b.start), tags, opts);
}

/** [start, end) of every word of a text (runs of letters, digits and marks, or one other non-space character). */
export function textWords(chars: readonly string[]): [number, number][] {
  const words: [number, number][] = [];
  let i = 0;
  while (i < chars.length) {
    const c = chars[i]!;
    if (/\s/u.test(c)) {
      i++;
      continue;
    }
    const start = i++;
    if (WORD_CHAR.test(c)) while (i < chars.length && WORD_CHAR.test(chars[i]!)) i++;
    words.push([start, i]);
  }
  return words;
}

/**
 * Micro F1 of predicted spans against the documents' own, as validation during training reads it:
 * strict entity F1 (same start, end and label) and token F1 over words (a word takes the label of
 * the span its first character is in; typed, O not counted). src/scoring's evaluate is the
 * reference scorer; its token F1 counts its own tokens, so the two differ slightly.
 */
export function scoreSpans(docs: readonly NerDocument[], predicted: readonly NerSpan[][]): { tokenF1: number; entityF1: number } {
  const f1 = (tp: number, fp: number, fn: number): number => (tp ? (2 * tp) / (2 * tp + fp + fn) : 0);
  let [etp, efp, efn, ttp, tfp, tfn] = [0, 0, 0, 0, 0, 0];
  docs.forEach((doc, i) => {
    const key = (s: NerSpan): string => `${s.start}:${s.end}:${s.label}`;
    const gold = new Set(doc.spans.map(key));
    const pred = new Set(predicted[i]!.map(key));
    for (const k of pred) gold.has(k) ? etp++ : efp++;
    for (const k of gold) if (!pred.has(k)) efn++;
    const labelAt = (spans: readonly NerSpan[], at: number): string => spans.find((s) => at >= s.start && at < s.end)?.label ?? 'O';
    for (const [start] of textWords(Array.from(doc.text))) {
      const g = labelAt(doc.spans, start);
      const p = labelAt(predicted[i]!, start);
      if (p !== 'O' && p === g) ttp++;
      else {
        if (p !== 'O') tfp++;
        if (g !== 'O') tfn++;
      }
    }
  });
  return { tokenF1: f1(ttp, tfp, tfn), entityF1: f1(etp, efp, efn) };
}
