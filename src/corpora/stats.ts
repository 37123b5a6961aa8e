import { codePointLength } from './formats/common.js';
import { countWordTokens } from './formats/tokenize.js';
import type { ParsedDocument } from './formats/types.js';

export interface CorpusCounts {
  documents: number;
  /** Unicode code points, a byte-order mark included. */
  characters: number;
  /** Word tokens as defined in formats/tokenize.ts (letter/digit runs, other characters alone). */
  tokens: number;
  mentions: number;
  /** Mentions per label, labels sorted. */
  mentionsPerLabel: Record<string, number>;
}

export interface CorpusStats extends CorpusCounts {
  /** The same counts for each split, splits sorted by name; documents without a split under null. */
  splits: (CorpusCounts & { split: string | null })[];
}

/** A document as far as counting goes: spans need only their label. */
export type Countable = Pick<ParsedDocument, 'id' | 'split' | 'text'> & { spans: Pick<ParsedDocument['spans'][number], 'label'>[] };

export function corpusStats(docs: Countable[]): CorpusStats {
  const total = emptyCounts();
  const bySplit = new Map<string | null, CorpusCounts>();
  for (const doc of docs) {
    let split = bySplit.get(doc.split);
    if (split === undefined) bySplit.set(doc.split, (split = emptyCounts()));
    const chars = codePointLength(doc.text);
    const tokens = countWordTokens(doc.text);
    for (const c of [total, split]) {
      c.documents++;
      c.characters += chars;
      c.tokens += tokens;
      c.mentions += doc.spans.length;
      for (const s of doc.spans) c.mentionsPerLabel[s.label] = (c.mentionsPerLabel[s.label] ?? 0) + 1;
    }
  }
  const splits = [...bySplit.entries()]
    .sort(([a], [b]) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1))
    .map(([split, counts]) => ({ split, ...sortLabels(counts) }));
  return { ...sortLabels(total), splits };
}

function emptyCounts(): CorpusCounts {
  return { documents: 0, characters: 0, tokens: 0, mentions: 0, mentionsPerLabel: {} };
}

function sortLabels(c: CorpusCounts): CorpusCounts {
  const sorted: Record<string, number> = {};
  for (const label of Object.keys(c.mentionsPerLabel).sort()) sorted[label] = c.mentionsPerLabel[label]!;
  return { ...c, mentionsPerLabel: sorted };
}
