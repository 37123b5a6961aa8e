// Writes the perturbation cases of test/scoring/helpers.ts as BRAT folders for the official script.
// Usage: node dump-cases.mjs <compiled helpers.js> <out dir>
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [helpersJs, outDir] = process.argv.slice(2);
const { officialCases } = await import(pathToFileURL(path.resolve(helpersJs)).href);
const ann = (spans, text) => spans.map((s, i) => `T${i + 1}\t${s.label} ${s.start} ${s.end}\t${Array.from(text).slice(s.start, s.end).join('')}`).join('\n') + '\n';
const manifest = [];
for (const c of officialCases()) {
  const dir = path.join(outDir, c.name.replace('/', '__'));
  const texts = new Map(c.gold.map((d) => [d.id, d.text]));
  for (const side of ['gold', 'system']) {
    mkdirSync(path.join(dir, side), { recursive: true });
    for (const d of side === 'gold' ? c.gold : c.pred) {
      writeFileSync(path.join(dir, side, `${d.id}.txt`), texts.get(d.id));
      writeFileSync(path.join(dir, side, `${d.id}.ann`), ann(d.spans, texts.get(d.id)));
    }
  }
  manifest.push({ name: c.name, dir });
}
writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 1));
