import { HF_TINY } from '../support/paths.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';
import { loadTokenizer, trainByteLevelBpe, trainWordPiece } from '../../src/engine/tokenizers/index.js';

const FIX = HF_TINY;
const SENTENCE: string = JSON.parse(readFileSync(join(FIX, 'versions.json'), 'utf8')).sentence;

// A small clinical-style corpus from a seeded generator (deterministic, no data files needed).
function corpus(n: number, seed = 7): string[] {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const pick = <T,>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  const names = ['Ernesto', 'María', 'José', 'Núñez', 'Rivera', 'Bueno', 'Ignacio', 'Navarro', 'Cuéllar', 'Lucía'];
  const words = ['paciente', 'presenta', 'dolor', 'torácico', 'de', 'años', 'con', 'antecedentes', 'ingreso', 'fecha', 'médico', 'hospital', 'Madrid', 'calle', 'tratamiento', 'diagnóstico'];
  const out = [SENTENCE];
  for (let i = 0; i < n; i++) {
    const parts: string[] = [];
    const len = 8 + Math.floor(rnd() * 20);
    for (let j = 0; j < len; j++) {
      const r = rnd();
      parts.push(r < 0.15 ? pick(names) : r < 0.25 ? String(Math.floor(rnd() * 100000)) : r < 0.3 ? pick([',', '.', ':', '(', ')', '/']) : pick(words));
    }
    out.push(parts.join(' ') + (rnd() < 0.5 ? '.\n' : '. '));
  }
  return out;
}

const PROBES = [
  SENTENCE,
  'Paciente de 83 años con dolor torácico: NHC 1234567.',
  'Texto con caracteres nunca vistos: 😀 ∑ 漢字 Ωmega  dobles  espacios\t\ttab.',
  '[CLS] ya escrito [SEP] y <s> también </s>',
  '',
  '   ',
];

async function autoTokenizer(dir: string) {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  return AutoTokenizer.from_pretrained(dir, { local_files_only: true });
}

describe('trainWordPiece', () => {
  it('should save a tokenizer that the Hugging Face JS libraries load and encode like the trainer', async () => {
    const texts = corpus(400);
    const model = trainWordPiece(texts, { vocabSize: 300 });
    expect(model.tokens.length).toBe(300);
    expect(model.tokens.slice(0, 5)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    // Merges happened: whole frequent words are single tokens.
    expect(model.encode('paciente', { addSpecialTokens: false }).tokens).toEqual(['paciente']);
    const dir = mkdtempSync(join(tmpdir(), 'wp-'));
    model.save(dir);
    const tok = loadTokenizer(dir);
    const auto = await autoTokenizer(dir);
    expect(tok.vocabSize).toBe(300);
    for (const text of [...PROBES, ...texts.slice(0, 50)]) {
      const mine = model.encode(text);
      expect(tok.encode(text).ids).toEqual(mine.ids);
      expect(tok.lib.encode(text).ids).toEqual(mine.ids);
      expect(auto.encode(text)).toEqual(mine.ids);
    }
    const enc = tok.encode('José Núñez, 83 años');
    const cps = Array.from('José Núñez, 83 años');
    enc.tokens.forEach((t, i) => {
      if (!enc.specialTokensMask[i]) expect(cps.slice(...enc.offsets[i]).join('')).toBe(t.replace(/^##/, ''));
    });
  });

  it('should lowercase when asked and refuse a vocabulary smaller than its alphabet', () => {
    const lower = trainWordPiece(corpus(50), { vocabSize: 200, lowercase: true });
    expect(lower.encode('PACIENTE', { addSpecialTokens: false }).tokens.join('')).toBe(lower.encode('paciente', { addSpecialTokens: false }).tokens.join(''));
    expect(() => trainWordPiece(corpus(50), { vocabSize: 20 })).toThrow(/smaller than the special tokens plus alphabet/);
  });
});

describe('trainByteLevelBpe', () => {
  it('should save a tokenizer that the Hugging Face JS libraries load and encode like the trainer', async () => {
    const texts = corpus(400);
    const model = trainByteLevelBpe(texts, { vocabSize: 500 });
    expect(model.tokens.length).toBe(500);
    expect(model.merges.length).toBe(500 - 5 - 256);
    expect(model.encode(' paciente', { addSpecialTokens: false }).tokens).toEqual(['Ġpaciente']);
    const dir = mkdtempSync(join(tmpdir(), 'bpe-'));
    model.save(dir);
    const tok = loadTokenizer(dir);
    const auto = await autoTokenizer(dir);
    expect(tok.vocabSize).toBe(500);
    expect(tok.special).toMatchObject({ bos: 0, pad: 1, eos: 2, unk: 3, mask: 4 });
    for (const text of [...PROBES, ...texts.slice(0, 50)]) {
      const mine = model.encode(text);
      expect(tok.encode(text).ids).toEqual(mine.ids);
      expect(auto.encode(text)).toEqual(mine.ids);
      if (text) expect(tok.decode(mine.ids)).toBe(text);
    }
  });

  it('should wrap texts in <s> … </s> with the bos-eos template', () => {
    const model = trainByteLevelBpe(corpus(50), { vocabSize: 300, template: 'bos-eos' });
    const dir = mkdtempSync(join(tmpdir(), 'bpe2-'));
    model.save(dir);
    const enc = loadTokenizer(dir).encode('dolor');
    expect(enc.tokens[0]).toBe('<s>');
    expect(enc.tokens.at(-1)).toBe('</s>');
    expect(enc.ids).toEqual(model.encode('dolor').ids);
  });

  it('should train 8,000 entries on a few thousand texts in seconds', () => {
    const texts = corpus(3000);
    const t0 = performance.now();
    const model = trainByteLevelBpe(texts, { vocabSize: 8000, minFrequency: 1 });
    const ms = performance.now() - t0;
    expect(ms).toBeLessThan(20_000);
    expect(model.tokens.length).toBeLessThanOrEqual(8000);
    expect(model.tokens.length).toBeGreaterThan(300);
  });
});
