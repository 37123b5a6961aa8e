// Training a WordPiece tokenizer (BERT-style) from raw texts, the way Hugging Face's
// WordPieceTrainer does: learn BPE merges over words split into [c0, ##c1, ##c2, ...],
// keep the resulting symbols as the vocabulary, and encode by greedy longest match.
//
// Pipeline (the same in `encode` here and in the saved tokenizer.json):
//   NFC (+ lowercase) → split on whitespace and punctuation (BertPreTokenizer)
//   → WordPiece (longest prefix in vocab, continuations spelled "##…"; [UNK] for the whole
//   word when some part is missing or the word exceeds maxInputCharsPerWord)
//   → [CLS] … [SEP].
import { learnMerges } from './merges.js';
import { addedTokensJson, saveTokenizerFolder, templateJson, tokenizerConfigJson, type Json } from './save.js';

export interface WordPieceTrainOptions {
  /** Final vocabulary size, special tokens included. Default 8000. */
  vocabSize?: number;
  /** Pairs seen fewer times are not merged. Default 2. */
  minFrequency?: number;
  /** Lowercase before splitting (uncased model). Default false: clinical names keep case. */
  lowercase?: boolean;
  /** Keep only the most frequent characters as the alphabet (others become [UNK]). Default: all. */
  limitAlphabet?: number;
  /** In id order; default [PAD] [UNK] [CLS] [SEP] [MASK] (ids 0–4). */
  specialTokens?: string[];
  continuingSubwordPrefix?: string;
  maxInputCharsPerWord?: number;
}

// The punctuation class of the tokenizers library's BertPreTokenizer (Unicode P plus ASCII symbols).
const PUNCT = '\\p{P}\\u0021-\\u002F\\u003A-\\u0040\\u005B-\\u0060\\u007B-\\u007E';
const BERT_SPLIT = new RegExp(`[^\\s${PUNCT}]+|[${PUNCT}]`, 'gu');

export class WordPieceModel {
  readonly vocab: Map<string, number>;

  constructor(
    readonly tokens: string[],
    readonly specialTokens: string[],
    readonly options: Required<Pick<WordPieceTrainOptions, 'lowercase' | 'continuingSubwordPrefix' | 'maxInputCharsPerWord'>>,
  ) {
    this.vocab = new Map(tokens.map((t, i) => [t, i]));
  }

  get unkToken(): string {
    return this.specialTokens.find((t) => /unk/i.test(t)) ?? this.specialTokens[1];
  }

  private find(pattern: RegExp): string | undefined {
    return this.specialTokens.find((t) => pattern.test(t));
  }

  normalize(text: string): string {
    const n = text.normalize('NFC');
    return this.options.lowercase ? n.toLowerCase() : n;
  }

  preTokenize(text: string): string[] {
    return text.trim().match(BERT_SPLIT) ?? [];
  }

  /** WordPiece pieces of one word. */
  splitWord(word: string): string[] {
    const chars = Array.from(word);
    if (chars.length > this.options.maxInputCharsPerWord) return [this.unkToken];
    const out: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | null = null;
      while (start < end) {
        const sub = (start > 0 ? this.options.continuingSubwordPrefix : '') + chars.slice(start, end).join('');
        if (this.vocab.has(sub)) {
          found = sub;
          break;
        }
        end--;
      }
      if (found === null) return [this.unkToken];
      out.push(found);
      start = end;
    }
    return out;
  }

  /** Tokens and ids as this model defines them (special tokens in the text are kept whole). */
  encode(text: string, { addSpecialTokens = true } = {}): { tokens: string[]; ids: number[] } {
    const tokens: string[] = [];
    for (const part of splitOnSpecials(text, this.specialTokens)) {
      if (part.special) tokens.push(part.text);
      else for (const w of this.preTokenize(this.normalize(part.text))) tokens.push(...this.splitWord(w));
    }
    const cls = this.find(/cls/i);
    const sep = this.find(/sep/i);
    const all = addSpecialTokens ? [...(cls ? [cls] : []), ...tokens, ...(sep ? [sep] : [])] : tokens;
    return { tokens: all, ids: all.map((t) => this.vocab.get(t)!) };
  }

  toTokenizerJson(): Json {
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: addedTokensJson(this.specialTokens),
      normalizer: this.options.lowercase
        ? { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Lowercase' }] }
        : { type: 'NFC' },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: templateJson(this.vocab, this.find(/cls/i), this.find(/sep/i)),
      decoder: { type: 'WordPiece', prefix: this.options.continuingSubwordPrefix, cleanup: true },
      model: {
        type: 'WordPiece',
        unk_token: this.unkToken,
        continuing_subword_prefix: this.options.continuingSubwordPrefix,
        max_input_chars_per_word: this.options.maxInputCharsPerWord,
        vocab: Object.fromEntries(this.vocab),
      },
    };
  }

  tokenizerConfig(): Json {
    return tokenizerConfigJson(
      {
        unk: this.unkToken,
        pad: this.find(/pad/i),
        cls: this.find(/cls/i),
        sep: this.find(/sep/i),
        mask: this.find(/mask/i),
      },
      { do_lower_case: this.options.lowercase },
    );
  }

  /** Write tokenizer.json + tokenizer_config.json into `folder`. */
  save(folder: string): void {
    saveTokenizerFolder(folder, this.toTokenizerJson(), this.tokenizerConfig());
  }
}

export function splitOnSpecials(text: string, specials: string[]): Array<{ text: string; special: boolean }> {
  if (!specials.length) return [{ text, special: false }];
  const sorted = [...specials].sort((a, b) => b.length - a.length);
  const out: Array<{ text: string; special: boolean }> = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const m = sorted.find((s) => text.startsWith(s, i));
    if (m) {
      if (i > start) out.push({ text: text.slice(start, i), special: false });
      out.push({ text: m, special: true });
      i += m.length;
      start = i;
    } else i++;
  }
  if (start < text.length) out.push({ text: text.slice(start), special: false });
  return out;
}

export function trainWordPiece(texts: Iterable<string>, options: WordPieceTrainOptions = {}): WordPieceModel {
  const vocabSize = options.vocabSize ?? 8000;
  const specials = options.specialTokens ?? ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const prefix = options.continuingSubwordPrefix ?? '##';
  const base = new WordPieceModel([], specials, {
    lowercase: options.lowercase ?? false,
    continuingSubwordPrefix: prefix,
    maxInputCharsPerWord: options.maxInputCharsPerWord ?? 100,
  });
  // 1. Count words.
  const wordCounts = new Map<string, number>();
  for (const text of texts) {
    for (const w of base.preTokenize(base.normalize(text))) wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
  }
  // 2. Alphabet: every character (or the most frequent ones), sorted by code point.
  const charCounts = new Map<string, number>();
  for (const [w, c] of wordCounts) for (const ch of w) charCounts.set(ch, (charCounts.get(ch) ?? 0) + c);
  let alphabet = [...charCounts.keys()];
  if (options.limitAlphabet !== undefined && alphabet.length > options.limitAlphabet) {
    alphabet = [...charCounts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, options.limitAlphabet).map(([c]) => c);
  }
  alphabet.sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const known = new Set(alphabet);
  const initial = [...specials, ...alphabet, ...alphabet.map((c) => prefix + c)];
  if (initial.length > vocabSize) {
    throw new Error(`vocabSize ${vocabSize} is smaller than the special tokens plus alphabet (${initial.length}); raise vocabSize or set limitAlphabet`);
  }
  // 3. Merge. Words holding a character outside the alphabet are skipped (they encode as [UNK]).
  const words = [...wordCounts]
    .filter(([w]) => Array.from(w).every((c) => known.has(c)))
    .map(([w, count]) => ({ symbols: Array.from(w, (c, i) => (i > 0 ? prefix + c : c)), count }));
  const { vocab } = learnMerges({
    words,
    initialVocab: initial,
    vocabSize,
    minFrequency: options.minFrequency,
    join: (a, b) => a + (b.startsWith(prefix) ? b.slice(prefix.length) : b),
  });
  return new WordPieceModel(vocab, specials, base.options);
}
