import { MEDDOCAN_DIR } from '../support/paths.js';
// Tokenizers trained on real clinical text (MEDDOCAN train) and checked on unseen documents
// (MEDDOCAN dev): the Hugging Face library must encode exactly as the trainer's model, and
// every offset must cut out the text its token spells.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTokenizer, trainByteLevelBpe, trainWordPiece } from '../../src/engine/tokenizers/index.js';
import { fromByteLevel } from '../../src/engine/tokenizers/bytes.js';

const DATA = MEDDOCAN_DIR;
const read = (split: string, n: number) =>
  readdirSync(join(DATA, split))
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .slice(0, n)
    .map((f) => readFileSync(join(DATA, split, f), 'utf8'));

const train = read('train', 500);
const dev = read('dev', 20);

describe('tokenizers trained on MEDDOCAN', () => {
  it('should train a byte-level BPE of 8,000 entries that the library encodes identically on unseen text', () => {
    const t0 = performance.now();
    const model = trainByteLevelBpe(train, { vocabSize: 8000 });
    const ms = performance.now() - t0;
    console.log(`byte-level BPE: 8000 entries from ${train.length} documents in ${ms.toFixed(0)} ms`);
    expect(model.tokens).toHaveLength(8000);
    const dir = mkdtempSync(join(tmpdir(), 'bpe-med-'));
    model.save(dir);
    const tok = loadTokenizer(dir);
    let tokens = 0;
    let bytes = 0;
    for (const text of dev) {
      const mine = model.encode(text);
      const enc = tok.encode(text);
      expect(enc.ids).toEqual(mine.ids);
      tokens += enc.ids.length;
      bytes += new TextEncoder().encode(text).length;
      // Offsets: the bytes of consecutive tokens re-assemble each offset's text.
      const cps = Array.from(text);
      let pending: number[] = [];
      enc.tokens.forEach((t, i) => {
        pending.push(...fromByteLevel(t));
        const next = enc.offsets[i + 1];
        if (next && next[0] === enc.offsets[i]![0]) return; // a character split across tokens
        expect(new TextDecoder('utf-8', { ignoreBOM: true }).decode(Uint8Array.from(pending))).toBe(cps.slice(...enc.offsets[i]!).join(''));
        pending = [];
      });
    }
    console.log(`dev: ${(bytes / tokens).toFixed(2)} bytes per token`);
    expect(bytes / tokens).toBeGreaterThan(3);
  });

  it('should train a WordPiece of 8,000 entries that the library encodes identically on unseen text', () => {
    const model = trainWordPiece(train, { vocabSize: 8000 });
    expect(model.tokens).toHaveLength(8000);
    const dir = mkdtempSync(join(tmpdir(), 'wp-med-'));
    model.save(dir);
    const tok = loadTokenizer(dir);
    for (const text of dev) {
      const enc = tok.encode(text);
      expect(enc.ids).toEqual(model.encode(text).ids);
      const cps = Array.from(text);
      enc.tokens.forEach((t, i) => {
        if (enc.specialTokensMask[i] || t === '[UNK]') return;
        expect(cps.slice(...enc.offsets[i]!).join('').normalize('NFC')).toBe(t.replace(/^##/, ''));
      });
    }
  });
});
