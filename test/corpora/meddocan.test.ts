import { describe, expect, it } from 'vitest';
import { exportCorpus, parseCorpus, type ParsedCorpus, type ParsedDocument } from '../../src/corpora/formats/index.js';
import { corpusStats } from '../../src/corpora/stats.js';
import { labelSet } from '../../src/corpora/labels.js';
import { readFolder } from './fixtures.js';

// Per-label mention counts, copied from ../shared/data/meddocan/README.md.
const README_COUNTS: Record<string, [train: number, dev: number]> = {
  TERRITORIO: [1875, 987], FECHAS: [1231, 724], EDAD_SUJETO_ASISTENCIA: [1035, 521], NOMBRE_SUJETO_ASISTENCIA: [1009, 503],
  NOMBRE_PERSONAL_SANITARIO: [1000, 497], SEXO_SUJETO_ASISTENCIA: [925, 455], CALLE: [862, 434], PAIS: [713, 347],
  ID_SUJETO_ASISTENCIA: [567, 292], CORREO_ELECTRONICO: [469, 241], ID_TITULACION_PERSONAL_SANITARIO: [471, 226],
  ID_ASEGURAMIENTO: [391, 194], HOSPITAL: [255, 140], FAMILIARES_SUJETO_ASISTENCIA: [243, 92], INSTITUCION: [98, 72],
  ID_CONTACTO_ASISTENCIAL: [77, 32], NUMERO_TELEFONO: [58, 25], PROFESION: [24, 4], NUMERO_FAX: [15, 6],
  OTROS_SUJETO_ASISTENCIA: [9, 6], CENTRO_SALUD: [6, 2], ID_EMPLEO_PERSONAL_SANITARIO: [0, 1],
};

const trainFiles = readFolder('train');
const devFiles = readFolder('dev');
const all = parseCorpus([...trainFiles, ...devFiles]);
const bySplit = (c: ParsedCorpus, split: string) => c.documents.filter((d) => d.split === split);

describe('MEDDOCAN (BRAT)', () => {
  it('should detect BRAT and read 500 train and 250 dev documents', () => {
    expect(all.format).toBe('BRAT');
    expect(bySplit(all, 'train')).toHaveLength(500);
    expect(bySplit(all, 'dev')).toHaveLength(250);
    expect(all.warnings).toEqual([]);
  });

  it('should find the README mention counts per label and split', () => {
    const stats = corpusStats(all.documents);
    const [dev, train] = stats.splits;
    expect(train!.split).toBe('train');
    expect(train!.mentions).toBe(11_333);
    expect(dev!.mentions).toBe(5_801);
    for (const [label, [t, d]] of Object.entries(README_COUNTS)) {
      expect(train!.mentionsPerLabel[label] ?? 0, `train ${label}`).toBe(t);
      expect(dev!.mentionsPerLabel[label] ?? 0, `dev ${label}`).toBe(d);
    }
    expect(labelSet(all.documents)).toEqual(Object.keys(README_COUNTS).sort());
  });

  it('should count characters as code points, byte-order marks included', () => {
    // The README's 1,422,051 and 755,319 leave the BOMs out (Python's utf-8-sig); offsets count them.
    const stats = corpusStats(all.documents);
    expect(stats.splits.map((s) => s.characters)).toEqual([755_319 + 7, 1_422_051 + 15]);
  });

  it('should keep the byte-order mark as character 0 in the 15 train and 7 dev files that start with one', () => {
    const withBom = (docs: ParsedDocument[]) => docs.filter((d) => d.text.startsWith('\uFEFF')).length;
    expect(withBom(bySplit(all, 'train'))).toBe(15);
    expect(withBom(bySplit(all, 'dev'))).toBe(7);
    // Every span's text equals the .ann text field, which only holds when the BOM counts.
    const bomDoc = all.documents.find((d) => d.text.startsWith('\uFEFF') && d.spans.length > 0)!;
    const annFile = [...trainFiles, ...devFiles].find((f) => f.path === `${bomDoc.split}/${bomDoc.id}.ann`)!;
    const claimed = new TextDecoder().decode(annFile.bytes).trim().split('\n').map((l) => l.split('\t')[2]);
    expect(bomDoc.spans.map((s) => s.text).sort()).toEqual(claimed.sort());
  });

  it('should count word tokens as an independent character-class scan does', () => {
    // A second implementation of formats/tokenize.ts's rule, one code point at a time.
    const isWord = (c: string) => /[\p{L}\p{N}\p{M}]/u.test(c);
    let expected = 0;
    for (const d of all.documents) {
      let inWord = false;
      for (const c of d.text) {
        if (/\s/.test(c)) inWord = false;
        else if (isWord(c)) {
          if (!inWord) expected++;
          inWord = true;
        } else {
          expected++;
          inWord = false;
        }
      }
    }
    expect(corpusStats(all.documents).tokens).toBe(expected);
  });

  it('should export BRAT that re-imports to identical documents, with byte-identical .txt files', () => {
    const out = exportCorpus(all.documents, 'BRAT');
    const original = new Map([...trainFiles, ...devFiles].map((f) => [f.path, f.bytes]));
    const txt = out.filter((f) => f.path.endsWith('.txt'));
    expect(txt).toHaveLength(750);
    for (const f of txt) expect(Buffer.compare(Buffer.from(f.bytes), Buffer.from(original.get(f.path)!)), f.path).toBe(0);
    expect(parseCorpus(out).documents).toEqual(all.documents);
  });

  it('should export byte-identical .ann files when the import kept the T ids (keepSourceIds)', () => {
    const files = [...trainFiles, ...devFiles];
    const out = exportCorpus(parseCorpus(files, { keepSourceIds: true }).documents, 'BRAT');
    const original = new Map(files.map((f) => [f.path, f.bytes]));
    const ann = out.filter((f) => f.path.endsWith('.ann'));
    expect(ann).toHaveLength(750);
    for (const f of ann) expect(Buffer.compare(Buffer.from(f.bytes), Buffer.from(original.get(f.path)!)), f.path).toBe(0);
  });

  it('should export JSONL that re-imports to identical documents', () => {
    const out = exportCorpus(all.documents, 'JSONL');
    expect(out.map((f) => f.path)).toEqual(['corpus.jsonl']);
    expect(parseCorpus(out).documents).toEqual(all.documents);
  });

  it('should read dev-xml with exactly the spans and text of dev BRAT', () => {
    const xml = parseCorpus(readFolder('dev-xml'));
    expect(xml.format).toBe('I2B2_XML');
    expect(xml.documents.map((d) => ({ ...d, split: 'dev' }))).toEqual(bySplit(all, 'dev'));
  });

  it('should export i2b2 XML that re-imports to identical documents', () => {
    const out = exportCorpus(all.documents, 'I2B2_XML');
    expect(parseCorpus(out).documents).toEqual(all.documents);
  });

  it('should export CoNLL BIO that re-imports to the same mentions on token-joined text', () => {
    const train = bySplit(all, 'train');
    const out = exportCorpus(train, 'CONLL');
    expect(out.map((f) => f.path)).toEqual(['train/train.conll']);
    const back = parseCorpus(out);
    expect(back.documents.map((d) => d.id)).toEqual(train.map((d) => d.id));
    expect(corpusStats(back.documents).mentionsPerLabel).toEqual(corpusStats(train).mentionsPerLabel);
    // Each span comes back as the tokens it touches (a span ending inside a token takes the whole
    // token), joined by single spaces.
    const tokenRegex = /[\p{L}\p{N}\p{M}]+|\S/gu;
    let widened = 0;
    train.forEach((doc, i) => {
      const tokens = [...doc.text.matchAll(tokenRegex)].map((m) => {
        const start = Array.from(doc.text.slice(0, m.index)).length;
        return { start, end: start + Array.from(m[0]).length, text: m[0] };
      });
      const expected = doc.spans.map((s) => {
        const touched = tokens.filter((t) => t.start < s.end && t.end > s.start);
        if (touched[0]!.start !== s.start || touched.at(-1)!.end !== s.end) widened++;
        return touched.map((t) => t.text).join(' ');
      });
      expect(back.documents[i]!.spans.map((s) => s.text), doc.id).toEqual(expected);
    });
    expect(widened).toBeGreaterThan(0); // MEDDOCAN has spans inside tokens, e.g. 'una niet|a'
  });
});
