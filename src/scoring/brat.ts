import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { ScoringDocument, Span } from './types.js';

/**
 * Text-bound annotations of a BRAT .ann file ("T<n>\t<LABEL> <start> <end>\t<text>"). Other lines
 * (relations, notes) are skipped; a discontinuous span ("0 5;7 9") keeps its outer bounds.
 */
export function parseBratAnn(ann: string): Span[] {
  const spans: Span[] = [];
  for (const line of ann.split(/\r?\n/)) {
    if (!line.startsWith('T')) continue;
    const [, body] = line.split('\t');
    const parts = body?.split(/[ ;]/) ?? [];
    if (parts.length < 3) continue;
    spans.push({ label: parts[0]!, start: Number(parts[1]), end: Number(parts[parts.length - 1]) });
  }
  return spans;
}

/**
 * Reads every <id>.txt / <id>.ann pair of a folder, sorted by id. The text is read as UTF-8 with the
 * BOM kept (U+FEFF), since MEDDOCAN's offsets count it.
 */
export function readBratDirectory(dir: string): ScoringDocument[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => {
      const id = f.slice(0, -4);
      const text = readFileSync(path.join(dir, f), 'utf8');
      let ann = '';
      try {
        ann = readFileSync(path.join(dir, `${id}.ann`), 'utf8');
      } catch {
        ann = '';
      }
      return { id, text, spans: parseBratAnn(ann) };
    });
}
