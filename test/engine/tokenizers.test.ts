import { HF_TINY } from '../support/paths.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkVocabFits, loadTokenizer } from '../../src/engine/tokenizers/tokenizer.js';

const FIX = HF_TINY;
const SENTENCE: string = JSON.parse(readFileSync(join(FIX, 'versions.json'), 'utf8')).sentence;
const reference = (name: string) => JSON.parse(readFileSync(join(FIX, name, 'reference.json'), 'utf8'));

describe('TextTokenizer', () => {
  for (const name of ['bert-tiny-ner', 'roberta-tiny-ner', 'gpt2-tiny', 'llama-tiny']) {
    it(`should reproduce the tokens, ids and offsets of ${name}`, () => {
      const tok = loadTokenizer(join(FIX, name));
      const ref = reference(name);
      const enc = tok.encode(SENTENCE);
      const n = ref.tokens.length as number; // the reference keeps the first 64 tokens
      expect(enc.tokens.slice(0, n)).toEqual(ref.tokens);
      expect(enc.offsets.slice(0, n)).toEqual(ref.offsets);
      expect(enc.ids.slice(0, n)).toEqual(ref.input_ids[0].slice(0, n));
      expect(enc.ids).toEqual(tok.lib.encode(SENTENCE).ids);
      expect(tok.vocabSize).toBe(1000);
    });
  }

  it('should give code-point offsets that cut the original text into each token', () => {
    const bpe = loadTokenizer(join(FIX, 'gpt2-tiny'));
    const text = 'Paciente 😀 de 70 años,\tcon  dolor\u00a0torácico — “ÉL” ñandú.\n';
    const enc = bpe.encode(text);
    expect(enc.ids).toEqual(bpe.lib.encode(text).ids);
    const cps = Array.from(text);
    // Byte-level pieces concatenate back to the text; each offset slice is what its token spells
    // (two pieces of one multi-byte character both point at that character).
    let rebuilt = '';
    let last = -1;
    for (let i = 0; i < enc.tokens.length; i++) {
      const [s, e] = enc.offsets[i];
      expect(s).toBeLessThanOrEqual(e);
      if (s !== last) rebuilt += cps.slice(s, e).join('');
      last = s;
    }
    expect(rebuilt).toBe(text);
    const emoji = cps.indexOf('😀');
    expect(enc.offsets.some(([s, e]) => s === emoji && e === emoji + 1)).toBe(true);

    const wp = loadTokenizer(join(FIX, 'bert-tiny-ner'));
    const enc2 = wp.encode(text);
    expect(enc2.ids).toEqual(wp.lib.encode(text).ids);
    enc2.tokens.forEach((t, i) => {
      const [s, e] = enc2.offsets[i];
      if (enc2.specialTokensMask[i]) return expect([s, e]).toEqual([0, 0]);
      if (t === '[UNK]') return expect(e).toBeGreaterThan(s);
      expect(cps.slice(s, e).join('')).toBe(t.replace(/^##/, ''));
    });
    expect(enc2.tokens).toContain('[UNK]');
  });

  it('should align through a non-identity normalizer (NFC of decomposed text, lowercase)', () => {
    const json = JSON.parse(readFileSync(join(FIX, 'bert-tiny-ner', 'tokenizer.json'), 'utf8'));
    json.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Lowercase' }] };
    const tok = new (loadTokenizer(join(FIX, 'bert-tiny-ner')).constructor as any)(json, {});
    const text = 'MEDICO: Jose\u0301 Nun\u0303ez'; // decomposed é and ñ: 2 code points each
    const enc = tok.encode(text, { addSpecialTokens: false });
    expect(enc.ids).toEqual(tok.lib.encode(text, { add_special_tokens: false }).ids);
    const cps = Array.from(text);
    const spelled = enc.offsets.map(([s, e]: [number, number]) => cps.slice(s, e).join('').normalize('NFC').toLowerCase());
    enc.tokens.forEach((t: string, i: number) => expect(spelled[i]).toBe(t.replace(/^##/, '')));
    expect(enc.offsets.at(-1)![1]).toBe(cps.length);
  });

  it('should find added special tokens written in the text', () => {
    const tok = loadTokenizer(join(FIX, 'gpt2-tiny'));
    const text = 'Hola</s>mundo';
    const enc = tok.encode(text);
    expect(enc.ids).toEqual(tok.lib.encode(text).ids);
    const i = enc.tokens.indexOf('</s>');
    expect(enc.offsets[i]).toEqual([4, 8]);
    expect(tok.special).toMatchObject({ bos: 0, pad: 1, eos: 2, unk: 3 });
  });

  it('should decode ids back to the text', () => {
    const tok = loadTokenizer(join(FIX, 'llama-tiny'));
    expect(tok.decode(tok.encode(SENTENCE).ids)).toBe(SENTENCE);
  });
});

describe('checkVocabFits', () => {
  it('should throw naming both sizes when the tokenizer is larger than the model vocab', () => {
    const tok = loadTokenizer(join(FIX, 'gpt2-tiny'));
    expect(() => checkVocabFits(tok, { vocabSize: 1000 })).not.toThrow();
    expect(() => checkVocabFits(tok, { vocabSize: 999, modelType: 'gpt2' })).toThrow(/tokenizer has 1000 ids but the gpt2 config has vocab_size 999/);
  });
});

describe('trim_offsets (RobertaProcessing)', () => {
  it('should leave the leading space of "Ġword" tokens out of their offsets, as tokenizers does', async () => {
    const json = JSON.parse(readFileSync(join(FIX, 'roberta-tiny-ner', 'tokenizer.json'), 'utf8'));
    json.post_processor = { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: false };
    const { TextTokenizer } = await import('../../src/engine/tokenizers/tokenizer.js');
    const tok = new TextTokenizer(json, {});
    const enc = tok.encode('Datos del\npaciente');
    expect(enc.tokens.slice(0, 4)).toEqual(['<s>', 'Datos', '\u0120del', '\u010a']);
    expect(enc.offsets.slice(0, 4)).toEqual([[0, 0], [0, 5], [6, 9], [9, 10]]);
    expect(enc.tokens.at(-1)).toBe('</s>');
    expect(enc.ids).toEqual(tok.lib.encode('Datos del\npaciente').ids);
  });
});

describe('byte-level BPE and the byte-order mark', () => {
  it('should give a leading U+FEFF its own offsets (MEDDOCAN files start with one)', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { trainByteLevelBpe, loadTokenizer } = await import('../../src/engine/tokenizers/index.js');
    const dir = mkdtempSync(join(tmpdir(), 'bom-'));
    trainByteLevelBpe(['hola que tal', 'abc def hola'], { vocabSize: 300, template: 'bos' }).save(dir);
    const encoded = loadTokenizer(dir).encode('\uFEFFhola');
    const bomTokens = encoded.offsets.filter((o, i) => !encoded.specialTokensMask[i] && o[0] === 0 && o[1] === 1);
    expect(bomTokens.length).toBeGreaterThan(0);
    expect(encoded.offsets.at(-1)).toEqual([1, 5]);
  });
});
