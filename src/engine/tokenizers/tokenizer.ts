// A Hugging Face tokenizer.json, loaded with @huggingface/tokenizers, plus character offsets.
//
// The library encodes (normalizer → pre-tokenizer → model → post-processor) but returns no
// offsets. Here we run the same pipeline through the library's own components, step by step,
// and track where each piece came from:
//   1. split on added tokens (raw text), honouring lstrip/rstrip;
//   2. normalize each section, aligned per code point + its combining marks (a normalizer
//      that is not local, e.g. Strip, is detected and rejected rather than misaligned);
//   3. pre-tokenize, and find each pre-token in the normalized text (byte-level and
//      metaspace pre-tokens are mapped back to text first);
//   4. split each word with the model, and give each piece its share of the word's UTF-8
//      bytes (WordPiece "##" and BPE affixes stripped; [UNK] covers the whole word);
//   5. post-process (special tokens get offsets [0, 0]).
// The ids are the library's; the test checks them against `Tokenizer.encode`.
// Offsets are [start, end) in Unicode code points of the original text, as Python's are.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { byteToUtf16, CHAR_TO_BYTE, utf8 } from './bytes.js';

export type Offset = [start: number, end: number];

export interface TokenizedText {
  ids: number[];
  tokens: string[];
  /** [start, end) in code points of the input text; [0, 0] for inserted special tokens. */
  offsets: Offset[];
  /** 1 where the post-processor inserted a special token. */
  specialTokensMask: number[];
}

export interface EncodeOptions {
  /** Add the post-processor's special tokens ([CLS] … [SEP], <s> …). Default true. */
  addSpecialTokens?: boolean;
}

/** The special tokens named in tokenizer_config.json, resolved to ids (null when absent). */
export interface SpecialTokenIds {
  bos: number | null;
  eos: number | null;
  pad: number | null;
  unk: number | null;
  cls: number | null;
  sep: number | null;
  mask: number | null;
}

type Json = Record<string, any>;

// The parts of the library's Tokenizer that are private in its typings but stable at run time.
interface LibTokenizer {
  normalizer: ((s: string) => string) | null;
  pre_tokenizer: ((s: string, o?: { section_index?: number }) => string[]) | null;
  model: ((words: string[]) => string[]) & { unk_token?: string; unk_token_id?: number; config: Json };
  post_processor: ((a: string[], b: string[] | null, add: boolean) => { tokens: string[] }) | null;
  added_tokens: Array<{ content: string; id: number; lstrip: boolean; rstrip: boolean; normalized: boolean; special: boolean }>;
  added_tokens_map: Map<string, { id: number; lstrip: boolean; rstrip: boolean }>;
  remove_space?: boolean;
  do_lowercase_and_remove_accent?: boolean;
  token_to_id(t: string): number | undefined;
  id_to_token(id: number): string | undefined;
  encode(text: string, o?: { add_special_tokens?: boolean }): { ids: number[]; tokens: string[] };
  decode(ids: number[], o?: { skip_special_tokens?: boolean }): string;
  get_vocab(withAdded?: boolean): Map<string, number>;
}

interface Span {
  start: number;
  end: number;
}

function types(node: Json | null | undefined): string[] {
  if (!node) return [];
  const kids = (node.pretokenizers ?? node.normalizers ?? node.processors ?? node.decoders ?? []) as Json[];
  return [String(node.type), ...kids.flatMap(types)];
}

function findNode(node: Json | null | undefined, type: string): Json | null {
  if (!node) return null;
  if (node.type === type) return node;
  for (const k of (node.pretokenizers ?? node.processors ?? []) as Json[]) {
    const f = findNode(k, type);
    if (f) return f;
  }
  return null;
}

/** Split `text[span]` on whole added-token strings (longest match first, like the library). */
function splitAdded(text: string, span: Span, contents: string[]): Array<Span & { added: boolean }> {
  const out: Array<Span & { added: boolean }> = [];
  if (!contents.length) return [{ ...span, added: false }];
  const sorted = [...contents].sort((a, b) => b.length - a.length);
  let start = span.start;
  let i = span.start;
  while (i < span.end) {
    const m = sorted.find((c) => c.length > 0 && i + c.length <= span.end && text.startsWith(c, i));
    if (m) {
      if (i > start) out.push({ start, end: i, added: false });
      out.push({ start: i, end: i + m.length, added: true });
      i += m.length;
      start = i;
    } else i++;
  }
  if (start < span.end) out.push({ start, end: span.end, added: false });
  return out;
}

/** Apply lstrip/rstrip of added tokens to their neighbours, as the library does. */
function stripAroundAdded(text: string, parts: Array<Span & { added: boolean }>, lib: LibTokenizer): void {
  parts.forEach((p, i) => {
    if (!p.added) return;
    const tok = lib.added_tokens_map.get(text.slice(p.start, p.end));
    if (!tok) return;
    if (tok.lstrip && i > 0 && !parts[i - 1].added) {
      const prev = parts[i - 1];
      while (prev.end > prev.start && /\s/.test(text[prev.end - 1])) prev.end--;
    }
    if (tok.rstrip && i < parts.length - 1 && !parts[i + 1].added) {
      const next = parts[i + 1];
      while (next.start < next.end && /\s/.test(text[next.start])) next.start++;
    }
  });
}

const CHUNK = /\P{M}\p{M}*|\p{M}+/gsu;

export class TextTokenizer {
  readonly lib: Tokenizer;
  private readonly l: LibTokenizer;
  private readonly byteLevel: boolean;
  private readonly metaspace: string | null;
  private readonly trimOffsets: boolean;
  private readonly trimPrefixSpace: boolean;
  private readonly subwordPrefix: string | null;
  private readonly suffix: string | null;
  private readonly byteFallback: boolean;
  private readonly unkToken: string | null;
  private readonly addedRaw: string[];
  private readonly addedNormalized: string[];
  readonly special: SpecialTokenIds;

  constructor(
    readonly tokenizerJson: Json,
    readonly tokenizerConfig: Json = {},
  ) {
    this.lib = new Tokenizer(tokenizerJson, tokenizerConfig);
    this.l = this.lib as unknown as LibTokenizer;
    const model = tokenizerJson.model as Json;
    const preTypes = types(tokenizerJson.pre_tokenizer);
    this.byteLevel = preTypes.includes('ByteLevel');
    const ms = findNode(tokenizerJson.pre_tokenizer, 'Metaspace');
    this.metaspace = ms ? String(ms.replacement ?? '\u2581') : null;
    const post = tokenizerJson.post_processor as Json | null;
    const trimNode = findNode(post, 'ByteLevel') ?? findNode(post, 'RobertaProcessing');
    this.trimOffsets = Boolean(trimNode && (trimNode.trim_offsets ?? true));
    this.trimPrefixSpace = Boolean(trimNode?.add_prefix_space);
    this.subwordPrefix = (model.continuing_subword_prefix as string | null) ?? null;
    this.suffix = (model.end_of_word_suffix as string | null) ?? null;
    this.byteFallback = Boolean(model.byte_fallback);
    this.unkToken = (model.unk_token as string | null) ?? null;
    const added = this.l.added_tokens;
    const norm = this.l.normalizer;
    this.addedRaw = added.filter((t) => !(t.normalized && norm)).map((t) => t.content);
    this.addedNormalized = added.filter((t) => t.normalized && norm).map((t) => norm!(t.content));
    const id = (key: string): number | null => {
      let v = tokenizerConfig[key];
      if (v && typeof v === 'object') v = (v as Json).content;
      return typeof v === 'string' ? (this.tokenToId(v) ?? null) : null;
    };
    this.special = {
      bos: id('bos_token'),
      eos: id('eos_token'),
      pad: id('pad_token'),
      unk: id('unk_token'),
      cls: id('cls_token'),
      sep: id('sep_token'),
      mask: id('mask_token'),
    };
  }

  /** Load tokenizer.json (+ tokenizer_config.json when present) from a model folder. */
  static fromFolder(folder: string): TextTokenizer {
    const path = join(folder, 'tokenizer.json');
    if (!existsSync(path)) {
      throw new Error(`no tokenizer.json in ${folder}; only fast (tokenizers-library) tokenizers are supported`);
    }
    const cfgPath = join(folder, 'tokenizer_config.json');
    const cfg = existsSync(cfgPath) ? (JSON.parse(readFileSync(cfgPath, 'utf8')) as Json) : {};
    return new TextTokenizer(JSON.parse(readFileSync(path, 'utf8')) as Json, cfg);
  }

  /** Number of ids the tokenizer can produce: highest id + 1 over the vocab and added tokens. */
  get vocabSize(): number {
    let max = -1;
    for (const id of this.l.get_vocab(true).values()) if (id > max) max = id;
    return max + 1;
  }

  tokenToId(token: string): number | undefined {
    return this.l.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.l.id_to_token(id);
  }

  decode(ids: number[], options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.l.decode(ids, { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  encode(text: string, options: EncodeOptions = {}): TokenizedText {
    const addSpecial = options.addSpecialTokens ?? true;
    const tokens: string[] = [];
    const spans: Span[] = [];
    // 1. Added tokens in the raw text.
    const parts = splitAdded(text, { start: 0, end: text.length }, this.addedRaw);
    stripAroundAdded(text, parts, this.l);
    parts.forEach((part, sectionIndex) => {
      if (part.end <= part.start) return;
      const raw = text.slice(part.start, part.end);
      if (part.added) {
        tokens.push(raw);
        spans.push({ start: part.start, end: part.end });
        return;
      }
      // 2. Normalize, with align[i] = the raw span that normalized unit i came from.
      const { normalized, align } = this.normalizeAligned(raw, part.start);
      if (!normalized.length) return;
      const sub = splitAdded(normalized, { start: 0, end: normalized.length }, this.addedNormalized);
      stripAroundAdded(normalized, sub, this.l);
      for (const s of sub) {
        if (s.end <= s.start) continue;
        const piece = normalized.slice(s.start, s.end);
        const toRaw = (a: number, b: number): Span =>
          b > a
            ? { start: align[s.start + a].start, end: align[s.start + b - 1].end }
            : { start: align[Math.min(s.start + a, align.length - 1)].start, end: align[Math.min(s.start + a, align.length - 1)].start };
        if (s.added) {
          tokens.push(piece);
          spans.push(toRaw(0, piece.length));
          continue;
        }
        this.tokenizeSection(piece, sectionIndex, tokens, spans, toRaw);
      }
    });
    // 5. Post-process: inserted special tokens have no span.
    const processed = this.l.post_processor ? this.l.post_processor(tokens, null, addSpecial).tokens : tokens;
    const outSpans: Span[] = [];
    const mask: number[] = [];
    let j = 0;
    for (let i = 0; i < processed.length; i++) {
      const remainingOut = processed.length - i;
      const remainingOwn = tokens.length - j;
      if (j < tokens.length && processed[i] === tokens[j] && remainingOut >= remainingOwn) {
        let sp = spans[j++];
        if (this.trimOffsets) sp = trimSpan(processed[i]!, sp, i === 0, this.trimPrefixSpace);
        outSpans.push(sp);
        mask.push(0);
      } else {
        outSpans.push({ start: 0, end: 0 });
        mask.push(1);
      }
    }
    if (j !== tokens.length) throw new Error('tokenizer: the post-processor dropped or reordered tokens; offsets cannot be aligned');
    const cp = codePointIndex(text);
    const unk = this.l.model.unk_token_id;
    return {
      ids: processed.map((t) => {
        const id = this.l.token_to_id(t) ?? unk;
        if (id === undefined) throw new Error(`tokenizer: token "${t}" has no id and the model has no unk token`);
        return id;
      }),
      tokens: processed,
      offsets: outSpans.map((s) => [cp[s.start], cp[s.end]] as Offset),
      specialTokensMask: mask,
    };
  }

  private normalizeFn(s: string): string {
    let out = s;
    if (this.l.remove_space === true) out = out.trim().split(/\s+/).join(' ');
    if (this.l.do_lowercase_and_remove_accent) {
      out = out.toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, '');
    }
    return this.l.normalizer ? this.l.normalizer(out) : out;
  }

  private normalizeAligned(raw: string, offset: number): { normalized: string; align: Span[] } {
    const whole = this.normalizeFn(raw);
    const align: Span[] = [];
    if (whole === raw) {
      for (let i = 0; i < raw.length; i++) align.push({ start: offset + i, end: offset + i + 1 });
      // A surrogate pair maps both units to the whole code point.
      for (let i = 0; i + 1 < raw.length; i++) {
        const c = raw.charCodeAt(i);
        if (c >= 0xd800 && c <= 0xdbff) {
          align[i].end = offset + i + 2;
          align[i + 1].start = offset + i;
        }
      }
      return { normalized: whole, align };
    }
    let joined = '';
    for (const m of raw.matchAll(CHUNK)) {
      const n = this.normalizeFn(m[0]);
      joined += n;
      const span = { start: offset + m.index!, end: offset + m.index! + m[0].length };
      for (let k = 0; k < n.length; k++) align.push(span);
    }
    if (joined !== whole) {
      throw new Error(
        `tokenizer: normalizer ${types(this.tokenizerJson.normalizer).join('/')} is not local per character; offsets cannot be aligned`,
      );
    }
    return { normalized: whole, align };
  }

  /** Text behind a pre-token (byte-level and metaspace pre-tokens are re-encoded text). */
  private surface(preToken: string): string {
    // ignoreBOM: a pre-token may be a lone U+FEFF (MEDDOCAN texts start with one), which a default decoder drops.
    if (this.byteLevel) return BYTE_LEVEL_DECODER.decode(Uint8Array.from(preToken, (c) => CHAR_TO_BYTE.get(c) ?? 0));
    if (this.metaspace) return preToken.split(this.metaspace).join(' ');
    return preToken;
  }

  /** UTF-8 bytes of one model piece of a word (affixes stripped). */
  private pieceBytes(piece: string, index: number): number {
    if (this.byteLevel) {
      let n = 0;
      for (const c of piece) n += CHAR_TO_BYTE.has(c) ? 1 : utf8(c).length;
      return n;
    }
    let p = piece;
    if (this.byteFallback && /^<0x[0-9A-Fa-f]{2}>$/.test(p)) return 1;
    if (index > 0 && this.subwordPrefix && p.startsWith(this.subwordPrefix)) p = p.slice(this.subwordPrefix.length);
    if (this.suffix && p.endsWith(this.suffix)) p = p.slice(0, -this.suffix.length);
    if (this.metaspace) p = p.split(this.metaspace).join(' ');
    return utf8(p).length;
  }

  // 3.–4. Pre-tokenize one normalized section and split each word with the model.
  private tokenizeSection(
    piece: string,
    sectionIndex: number,
    tokens: string[],
    spans: Span[],
    toRaw: (a: number, b: number) => Span,
  ): void {
    const words = this.l.pre_tokenizer ? this.l.pre_tokenizer(piece, { section_index: sectionIndex }) : [piece];
    let cursor = 0;
    for (const word of words) {
      let surf = this.surface(word);
      let at = piece.startsWith(surf, cursor) ? cursor : -1;
      let virtual = 0;
      if (at < 0 && surf.startsWith(' ') && piece.startsWith(surf.slice(1), cursor)) {
        at = cursor; // a prefix space the pre-tokenizer added
        virtual = 1;
      }
      if (at < 0) at = piece.indexOf(surf, cursor);
      if (at < 0 && surf.startsWith(' ')) {
        at = piece.indexOf(surf.slice(1), cursor);
        virtual = at < 0 ? 0 : 1;
      }
      if (at < 0) throw new Error(`tokenizer: cannot find pre-token ${JSON.stringify(word)} in the normalized text`);
      const realSurf = surf.slice(virtual);
      const pieces = this.l.model([word]);
      const wordStart = at;
      const wordEnd = at + realSurf.length;
      cursor = wordEnd;
      const isUnkWord = pieces.length === 1 && pieces[0] === this.unkToken && word !== this.unkToken;
      if (isUnkWord || pieces.length === 1) {
        tokens.push(pieces[0]);
        spans.push(toRaw(wordStart, wordEnd));
        continue;
      }
      surf = virtual ? ' ' + realSurf : realSurf;
      const b2u = byteToUtf16(surf);
      const totalBytes = b2u.length - 1;
      let b = 0;
      pieces.forEach((p, i) => {
        const n = this.pieceBytes(p, i);
        const b0 = b;
        const b1 = Math.min(b + n, totalBytes);
        b += n;
        // Byte range → UTF-16 range in surf (a piece holding part of a character gets all of it).
        let u0 = b2u[b0];
        let u1 = b1 > b0 ? b2u[b1 - 1] + (surf.codePointAt(b2u[b1 - 1])! > 0xffff ? 2 : 1) : u0;
        u0 = Math.max(0, u0 - virtual);
        u1 = Math.max(u0, u1 - virtual);
        tokens.push(p);
        spans.push(toRaw(wordStart + u0, wordStart + u1));
      });
      if (b !== totalBytes) {
        throw new Error(`tokenizer: pieces of ${JSON.stringify(word)} cover ${b} bytes, the word has ${totalBytes}`);
      }
    }
  }
}

/**
 * trim_offsets of the ByteLevel / RobertaProcessing post-processors (tokenizers' process_offsets):
 * leading and trailing spaces of a byte-level token ("Ġ") are left out of its offsets, except
 * the leading ones of the first token when no prefix space was added.
 */
function trimSpan(token: string, s: Span, first: boolean, addPrefixSpace: boolean): Span {
  const isSpace = (c: string) => c === '\u0120' || /\s/u.test(c);
  const chars = Array.from(token);
  let lead = 0;
  while (lead < chars.length && isSpace(chars[lead]!)) lead++;
  let trail = 0;
  while (trail < chars.length && isSpace(chars[chars.length - 1 - trail]!)) trail++;
  let { start, end } = s;
  if (lead > 0 && (!(first || start === 0) || addPrefixSpace)) start = Math.min(start + lead, end);
  if (trail > 0 && end >= trail) end = Math.max(end - trail, start);
  return { start, end };
}

const BYTE_LEVEL_DECODER = new TextDecoder('utf-8', { ignoreBOM: true });

/** UTF-16 index → code-point index (length text.length + 1). */
function codePointIndex(text: string): Int32Array {
  const out = new Int32Array(text.length + 1);
  let cp = 0;
  for (let i = 0; i < text.length; i++) {
    out[i] = cp;
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      out[++i] = cp;
    }
    cp++;
  }
  out[text.length] = cp;
  return out;
}

/** Load a tokenizer from a Hugging Face model folder (tokenizer.json + tokenizer_config.json). */
export function loadTokenizer(folder: string): TextTokenizer {
  return TextTokenizer.fromFolder(folder);
}

/**
 * Check that every id the tokenizer can produce is a row of the model's embedding matrix.
 * Throws with both sizes and the fix when the tokenizer is larger.
 */
export function checkVocabFits(tokenizer: { vocabSize: number }, config: { vocabSize: number; modelType?: string }): void {
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new Error(
      `tokenizer has ${tokenizer.vocabSize} ids but the ${config.modelType ?? 'model'} config has vocab_size ${config.vocabSize}: ` +
        `ids ≥ ${config.vocabSize} would index past the embedding matrix. Use the tokenizer the model was trained with, ` +
        `or set vocab_size to at least ${tokenizer.vocabSize} (and resize the embeddings) before training.`,
    );
  }
}
