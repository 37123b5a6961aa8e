// Training a byte-level BPE tokenizer (GPT-2 / RoBERTa style) from raw texts.
//
// Pipeline (the same in `encode` here and in the saved tokenizer.json):
//   split with GPT-2's regex (no prefix space) → each piece's UTF-8 bytes as printable
//   characters (Ġ for space, Ċ for newline, ...) → apply merges by rank → ids.
// Every byte is in the vocabulary, so no text is ever unknown.
import { BYTE_TO_CHAR, GPT2_SPLIT, toByteLevel } from './bytes.js';
import { learnMerges } from './merges.js';
import { addedTokensJson, saveTokenizerFolder, templateJson, tokenizerConfigJson, type Json } from './save.js';
import { splitOnSpecials } from './wordpiece.js';

export interface ByteBpeTrainOptions {
  /** Final vocabulary size: special tokens + 256 bytes + merges. Default 8000. */
  vocabSize?: number;
  /** Pairs seen fewer times are not merged. Default 2. */
  minFrequency?: number;
  /** In id order; default <s> <pad> </s> <unk> <mask> (ids 0–4), as RoBERTa. */
  specialTokens?: string[];
  /**
   * Special tokens the post-processor adds around every text: 'none' (GPT-2/LLaMA causal LM
   * training, the default), 'bos' (<s> …), or 'bos-eos' (<s> … </s>, RoBERTa encoders).
   */
  template?: 'none' | 'bos' | 'bos-eos';
}

export class ByteBpeModel {
  readonly vocab: Map<string, number>;
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, string[]>();

  constructor(
    readonly tokens: string[],
    readonly merges: Array<[string, string]>,
    readonly specialTokens: string[],
    readonly template: 'none' | 'bos' | 'bos-eos' = 'none',
  ) {
    this.vocab = new Map(tokens.map((t, i) => [t, i]));
    this.ranks = new Map(merges.map(([a, b], i) => [`${a} ${b}`, i]));
  }

  private named(pattern: RegExp): string | undefined {
    return this.specialTokens.find((t) => pattern.test(t));
  }
  get bosToken(): string | undefined {
    return this.named(/^<s>$|bos|begin/i);
  }
  get eosToken(): string | undefined {
    return this.named(/^<\/s>$|eos|end/i);
  }

  /** Byte-level pre-tokens of a text. */
  preTokenize(text: string): string[] {
    return (text.match(GPT2_SPLIT) ?? []).map(toByteLevel);
  }

  /** Apply merges by rank (lowest first, leftmost first) to one pre-token. */
  bpe(word: string): string[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    let parts = Array.from(word);
    while (parts.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = this.ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      parts = [...parts.slice(0, best), parts[best] + parts[best + 1], ...parts.slice(best + 2)];
    }
    if (this.cache.size < 50_000) this.cache.set(word, parts);
    return parts;
  }

  encode(text: string, { addSpecialTokens = true } = {}): { tokens: string[]; ids: number[] } {
    const tokens: string[] = [];
    for (const part of splitOnSpecials(text, this.specialTokens)) {
      if (part.special) tokens.push(part.text);
      else for (const w of this.preTokenize(part.text)) tokens.push(...this.bpe(w));
    }
    const first = addSpecialTokens && this.template !== 'none' ? this.bosToken : undefined;
    const last = addSpecialTokens && this.template === 'bos-eos' ? this.eosToken : undefined;
    const all = [...(first ? [first] : []), ...tokens, ...(last ? [last] : [])];
    return { tokens: all, ids: all.map((t) => this.vocab.get(t)!) };
  }

  toTokenizerJson(): Json {
    const first = this.template !== 'none' ? this.bosToken : undefined;
    const last = this.template === 'bos-eos' ? this.eosToken : undefined;
    const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: addedTokensJson(this.specialTokens),
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: templateJson(this.vocab, first, last),
      decoder: byteLevel,
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab: Object.fromEntries(this.vocab),
        merges: this.merges,
      },
    };
  }

  tokenizerConfig(): Json {
    return tokenizerConfigJson({
      bos: this.bosToken,
      eos: this.eosToken,
      unk: this.named(/unk/i),
      pad: this.named(/pad/i),
      mask: this.named(/mask/i),
    });
  }

  /** Write tokenizer.json + tokenizer_config.json into `folder`. */
  save(folder: string): void {
    saveTokenizerFolder(folder, this.toTokenizerJson(), this.tokenizerConfig());
  }
}

export function trainByteLevelBpe(texts: Iterable<string>, options: ByteBpeTrainOptions = {}): ByteBpeModel {
  const vocabSize = options.vocabSize ?? 8000;
  const specials = options.specialTokens ?? ['<s>', '<pad>', '</s>', '<unk>', '<mask>'];
  const helper = new ByteBpeModel([], [], specials);
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const part of splitOnSpecials(text, specials)) {
      if (part.special) continue;
      for (const w of helper.preTokenize(part.text)) counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  }
  const alphabet = [...BYTE_TO_CHAR].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0));
  const initial = [...specials, ...alphabet];
  if (initial.length > vocabSize) throw new Error(`vocabSize ${vocabSize} is smaller than the special tokens plus 256 bytes (${initial.length})`);
  const { vocab, merges } = learnMerges({
    words: [...counts].map(([w, count]) => ({ symbols: Array.from(w), count })),
    initialVocab: initial,
    vocabSize,
    minFrequency: options.minFrequency,
    join: (a, b) => a + b,
  });
  return new ByteBpeModel(vocab, merges, specials, options.template ?? 'none');
}
