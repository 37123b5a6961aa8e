import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseBrat } from '../corpora/formats/brat.js';
import type { ScoringDocument } from './types.js';

/**
 * Reads every <id>.txt / <id>.ann pair of a folder, sorted by id, with the import's BRAT reader
 * (the one reader of BRAT files, so the API and scripts read the same spans). Overlapping spans are
 * kept, as for predictions; any other problem throws the import's CorpusImportError. The text keeps
 * its byte-order mark (U+FEFF), since MEDDOCAN's offsets count it.
 */
export function readBratDirectory(dir: string): ScoringDocument[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.txt') || f.endsWith('.ann'))
    .map((f) => ({ path: f, bytes: readFileSync(path.join(dir, f)) }));
  return parseBrat(files, { allowOverlaps: true }).documents.map((doc) => ({
    id: doc.id,
    text: doc.text,
    spans: doc.spans.map(({ start, end, label }) => ({ start, end, label })),
  }));
}
