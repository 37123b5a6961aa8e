import { MEDDOCAN_DIR } from '../support/paths.js';
// MEDDOCAN (BRAT .txt + .ann) as token-classification examples for engine tests only:
// a simple word/punctuation split, a small vocabulary built from the data, BIO labels.
// The real tokenizers live in src/engine/tokenizers.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TokenClassificationExample } from '../../src/engine/train/index.js';

export const MEDDOCAN_TRAIN = join(MEDDOCAN_DIR, 'train');

export interface MeddocanSet {
  examples: TokenClassificationExample[];
  vocab: Map<string, number>;
  labels: string[];
}

export function loadMeddocan(dir: string, opts: { docs: number; seqLen: number; minCount?: number }): MeddocanSet {
  const files = readdirSync(dir).filter((f) => f.endsWith('.txt')).sort().slice(0, opts.docs);
  const docs = files.map((f) => {
    const text = readFileSync(join(dir, f), 'utf8');
    const spans = readFileSync(join(dir, f.replace(/\.txt$/, '.ann')), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('T'))
      .map((l) => {
        const [type, start, end] = l.split('\t')[1]!.split(' ');
        return { type: type!, start: Number(start), end: Number(end) };
      });
    const words = [...text.matchAll(/\p{L}+|\p{N}+|[^\s\p{L}\p{N}]/gu)].map((m) => ({ w: m[0].toLowerCase(), start: m.index!, end: m.index! + m[0].length }));
    return { words, spans };
  });
  const counts = new Map<string, number>();
  for (const d of docs) for (const { w } of d.words) counts.set(w, (counts.get(w) ?? 0) + 1);
  const vocab = new Map<string, number>([['[PAD]', 0], ['[UNK]', 1]]);
  for (const [w, c] of [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) if (c >= (opts.minCount ?? 2)) vocab.set(w, vocab.size);
  const types = [...new Set(docs.flatMap((d) => d.spans.map((s) => s.type)))].sort();
  const labels = ['O', ...types.flatMap((t) => [`B-${t}`, `I-${t}`])];
  const examples: TokenClassificationExample[] = [];
  for (const d of docs) {
    const ids: number[] = [];
    const labs: number[] = [];
    for (const { w, start, end } of d.words) {
      ids.push(vocab.get(w) ?? 1);
      const span = d.spans.find((s) => start >= s.start && end <= s.end);
      if (!span) labs.push(0);
      else labs.push(labels.indexOf(`${start === span.start ? 'B' : 'I'}-${span.type}`));
    }
    for (let i = 0; i < ids.length; i += opts.seqLen) examples.push({ inputIds: ids.slice(i, i + opts.seqLen), labels: labs.slice(i, i + opts.seqLen) });
  }
  return { examples, vocab, labels };
}
