import { createRng } from './rng.js';
import type { PlainDocument } from './types.js';

export interface ShuffledCorpusOptions {
  /** Documents to produce. */
  documents: number;
  /** Target length per document in UTF-16 units; sentences are added until it is reached. */
  charsPerDocument: number;
  seed?: number;
}

/**
 * A stand-in synthetic corpus for tests and benchmarks: sentences (split after . ? ! or at line
 * breaks) of the source texts, drawn at random with replacement and joined by spaces. Drawing from a
 * split other than the real training split makes the n-gram overlap partial, as with real generations.
 */
export function shuffledSentenceCorpus(sources: readonly { text: string }[], options: ShuffledCorpusOptions): PlainDocument[] {
  const sentences = sources.flatMap((d) => d.text.split(/(?<=[.?!])\s+|\n+/).map((s) => s.trim()).filter((s) => s.length > 0));
  const rng = createRng(options.seed ?? 1);
  const docs: PlainDocument[] = [];
  for (let i = 0; i < options.documents; i++) {
    const parts: string[] = [];
    let len = 0;
    while (len < options.charsPerDocument) {
      const s = sentences[rng.nextInt(sentences.length)]!;
      parts.push(s);
      len += s.length + 1;
    }
    docs.push({ id: `synthetic-${String(i).padStart(5, '0')}`, text: parts.join(' ') });
  }
  return docs;
}
