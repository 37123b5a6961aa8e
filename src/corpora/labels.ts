import type { ParsedDocument } from './formats/types.js';

/** The labels used in a corpus, sorted by code unit (the order every tag list below uses). */
export function labelSet(docs: Pick<ParsedDocument, 'spans'>[]): string[] {
  const labels = new Set<string>();
  for (const d of docs) for (const s of d.spans) labels.add(s.label);
  return sortedUnique([...labels]);
}

/** `O`, then `B-X`, `I-X` for each label X in sorted order. */
export function bioTags(labels: string[]): string[] {
  return ['O', ...sortedUnique(labels).flatMap((l) => [`B-${l}`, `I-${l}`])];
}

/** `O`, then `B-X`, `I-X`, `E-X`, `S-X` for each label X in sorted order. */
export function bioesTags(labels: string[]): string[] {
  return ['O', ...sortedUnique(labels).flatMap((l) => [`B-${l}`, `I-${l}`, `E-${l}`, `S-${l}`])];
}

function sortedUnique(labels: string[]): string[] {
  return [...new Set(labels)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
