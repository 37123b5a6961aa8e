import { describe, expect, it } from 'vitest';
import { detectFormat, exportCorpus, parseCorpus, wordTokens, type ParsedDocument } from '../../src/corpora/formats/index.js';
import { expectCode, file } from './fixtures.js';

const dec = new TextDecoder();
const doc = (text: string, spans: [number, number, string][], id = 'd1', split: string | null = 'train'): ParsedDocument => ({
  id,
  split,
  text,
  spans: spans.map(([start, end, label]) => ({ start, end, label, text: Array.from(text).slice(start, end).join('') })),
});

describe('offsets', () => {
  it('should count CRLF as two characters and keep it on round trips', () => {
    const text = 'Nombre: Ana\r\nEdad: 53\r\n';
    const parsed = parseCorpus([file('train/a.txt', text), file('train/a.ann', 'T1\tNOMBRE 8 11\tAna\nT2\tEDAD 19 21\t53\n')]);
    expect(parsed.documents[0]!.text).toBe(text);
    expect(parsed.documents[0]!.spans.map((s) => s.text)).toEqual(['Ana', '53']);
    for (const format of ['BRAT', 'JSONL', 'I2B2_XML'] as const) {
      expect(parseCorpus(exportCorpus(parsed.documents, format)).documents, format).toEqual(parsed.documents);
    }
  });

  it('should count code points, not UTF-16 units, so astral characters are one character', () => {
    const text = '😀 Ana 𝔸 Pérez';
    // Code points: 😀=0, ' '=1, Ana=2..5, ' '=5, 𝔸=6, ' '=7, Pérez=8..13
    const parsed = parseCorpus([file('a.jsonl', JSON.stringify({ id: 'a', text, spans: [{ start: 2, end: 5, label: 'N' }, { start: 8, end: 13, label: 'N', text: 'Pérez' }] }))]);
    expect(parsed.documents[0]!.spans.map((s) => s.text)).toEqual(['Ana', 'Pérez']);
    expect(wordTokens(text).map((t) => [t.start, t.end, t.text])).toEqual([[0, 1, '😀'], [2, 5, 'Ana'], [6, 7, '𝔸'], [8, 13, 'Pérez']]);
    for (const format of ['BRAT', 'JSONL', 'I2B2_XML'] as const) {
      expect(parseCorpus(exportCorpus(parsed.documents, format)).documents, format).toEqual(parsed.documents);
    }
  });

  it('should tokenize letter/digit runs and give every other character its own token', () => {
    expect(wordTokens('\uFEFFDr. García-López, 53 años').map((t) => t.text)).toEqual(['Dr', '.', 'García', '-', 'López', ',', '53', 'años']);
  });
});

describe('BRAT', () => {
  it('should take the split from the folder and the id from the file name', () => {
    const files = [file('corpus/dev/x.1.txt', 'hola'), file('corpus/dev/x.1.ann', ''), file('y.txt', 'adiós'), file('y.ann', '')];
    expect(parseCorpus(files).documents.map((d) => [d.split, d.id])).toEqual([['dev', 'x.1'], [null, 'y']]);
  });

  it('should write line breaks inside a span as spaces in the .ann and still re-import it', () => {
    const docs = [doc('Calle\nMayor 5', [[0, 11, 'CALLE']])];
    const out = exportCorpus(docs, 'BRAT');
    expect(dec.decode(out.find((f) => f.path === 'train/d1.ann')!.bytes)).toBe('T1\tCALLE 0 11\tCalle Mayor\n');
    expect(parseCorpus(out).documents).toEqual(docs);
  });

  it('should export the T ids and line order it read with keepSourceIds, numbering other spans after the highest id', () => {
    const ann = 'T7\tT 19 23\tLugo\nT2\tN 0 3\tAna\n';
    const parsed = parseCorpus([file('train/d1.txt', 'Ana De Paz vive en Lugo.'), file('train/d1.ann', ann)], { keepSourceIds: true });
    expect(dec.decode(exportCorpus(parsed.documents, 'BRAT').find((f) => f.path === 'train/d1.ann')!.bytes)).toBe(ann);
    // A span without a source id (another format, or added later) follows, in span order.
    const added = { ...parsed.documents[0]!, spans: [...parsed.documents[0]!.spans, { start: 4, end: 10, label: 'N', text: 'De Paz' }] };
    expect(dec.decode(exportCorpus([added], 'BRAT').find((f) => f.path === 'train/d1.ann')!.bytes)).toBe(`${ann}T8\tN 4 10\tDe Paz\n`);
    // Without the option the spans carry no ids, so the export numbers them in offset order.
    expect(parseCorpus([file('train/d1.txt', 'Ana De Paz vive en Lugo.'), file('train/d1.ann', ann)]).documents[0]!.spans[0]).toEqual({ start: 0, end: 3, label: 'N', text: 'Ana' });
  });

  it('should refuse to export ids that are not safe file names with PATH_ESCAPE', () => {
    expectCode(() => exportCorpus([doc('hola', [], '../x')], 'BRAT'), 'PATH_ESCAPE');
    expectCode(() => exportCorpus([doc('hola', [], '.hidden')], 'BRAT'), 'PATH_ESCAPE');
  });
});

describe('i2b2 XML', () => {
  it('should read the i2b2 2014 variant with the TYPE attribute as label', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8" ?>\n<deIdi2b2>\n<TEXT><![CDATA[Record date: 2067-05-03\nJohn Smith]]></TEXT>\n<TAGS>\n<DATE id="P0" start="13" end="23" text="2067-05-03" TYPE="DATE" comment="" />\n<NAME id="P1" start="24" end="34" text="John Smith" TYPE="PATIENT" comment="" />\n</TAGS>\n</deIdi2b2>\n`;
    const parsed = parseCorpus([file('110-01.xml', xml)]);
    expect(parsed.documents[0]!.spans).toEqual([
      { start: 13, end: 23, label: 'DATE', text: '2067-05-03' },
      { start: 24, end: 34, label: 'PATIENT', text: 'John Smith' },
    ]);
  });

  it('should drop a byte-order mark before <?xml but keep one inside the CDATA', () => {
    const xml = '\uFEFF<?xml version="1.0"?><MEDDOCAN><TEXT><![CDATA[\uFEFFAna]]></TEXT><TAGS><NAME id="T1" start="1" end="4" text="Ana" TYPE="N"/></TAGS></MEDDOCAN>';
    const d = parseCorpus([file('a.xml', xml)]).documents[0]!;
    expect(d.text).toBe('\uFEFFAna');
    expect(d.spans[0]!.text).toBe('Ana');
  });

  it('should decode entities in attributes and join CDATA sections with escaped text', () => {
    const xml = `<MEDDOCAN><TEXT><![CDATA[a]]]]><![CDATA[>b]]>&#13;&#x0A;&lt;c&gt;</TEXT><TAGS><X id="T1" start="7" end="10" text="&lt;c&gt;" TYPE="Y"/></TAGS></MEDDOCAN>`;
    const d = parseCorpus([file('a.xml', xml)]).documents[0]!;
    expect(d.text).toBe('a]]>b\r\n<c>');
    expect(d.spans[0]!.text).toBe('<c>');
  });

  it('should export text holding ]]>, quotes and CR so that it re-imports unchanged', () => {
    const docs = [doc('x ]]> "q" & <t>\r\nfin', [[2, 5, 'A'], [6, 9, 'B&"<']])];
    const out = exportCorpus(docs, 'I2B2_XML');
    const xml = dec.decode(out[0]!.bytes);
    expect(xml).not.toMatch(/\r/); // a CR would be read as LF by XML parsers
    expect(xml).toContain('TYPE="B&amp;&quot;&lt;"');
    expect(xml).toContain('<OTHER id="T1"');
    expect(parseCorpus(out).documents).toEqual(docs);
  });

  it('should refuse to export control characters XML cannot hold with UNREPRESENTABLE_TEXT', () => {
    expectCode(() => exportCorpus([doc('bell \u0007', [])], 'I2B2_XML'), 'UNREPRESENTABLE_TEXT');
  });
});

describe('CoNLL', () => {
  it('should rebuild text with single spaces and newlines and read BIO spans', () => {
    const conll = '-DOCSTART- -X- O O\n\nAna B-NOMBRE\nPérez I-NOMBRE\nvive O\n\nen O\nMadrid B-TERRITORIO\n\n-DOCSTART- -X- O O\n\nHola O\n';
    const parsed = parseCorpus([file('train/train.conll', conll)]);
    expect(parsed.documents.map((d) => [d.id, d.split, d.text])).toEqual([['train-1', 'train', 'Ana Pérez vive\nen Madrid'], ['train-2', 'train', 'Hola']]);
    expect(parsed.documents[0]!.spans).toEqual([
      { start: 0, end: 9, label: 'NOMBRE', text: 'Ana Pérez' },
      { start: 18, end: 24, label: 'TERRITORIO', text: 'Madrid' },
    ]);
  });

  it('should read BIOES, doc_id comments and other comments', () => {
    const conll = '# doc_id = nota 7\n# sent_id = 1\nDr O\nAna B-N\nDe I-N\nPaz E-N\n, O\nLugo S-T\n# doc_id = otra\n# O\n';
    const parsed = parseCorpus([file('a.bioes', conll)]);
    expect(parsed.documents.map((d) => [d.id, d.text])).toEqual([['nota 7', 'Dr Ana De Paz , Lugo'], ['otra', '#']]);
    expect(parsed.documents[0]!.spans.map((s) => [s.label, s.text])).toEqual([['N', 'Ana De Paz'], ['T', 'Lugo']]);
  });

  it('should start a new span at I- without B-, as conlleval does, and say so', () => {
    const parsed = parseCorpus([file('a.conll', 'a I-X\nb I-X\nc I-Y\nd O\ne I-X\n')]);
    expect(parsed.documents[0]!.spans.map((s) => [s.label, s.text])).toEqual([['X', 'a b'], ['Y', 'c'], ['X', 'e']]);
    expect(parsed.warnings.join()).toContain('3 spans begin with I- or E-');
  });

  it('should read .txt files as CoNLL when the format is given', () => {
    expect(parseCorpus([file('train/a.txt', 'Lugo B-T\n')], { format: 'CONLL' }).documents[0]!.spans[0]!.label).toBe('T');
  });

  it('should end a span at a sentence break', () => {
    const parsed = parseCorpus([file('a.conll', 'a B-X\n\nb I-X\n')]);
    expect(parsed.documents[0]!.spans.map((s) => s.text)).toEqual(['a', 'b']);
  });

  it('should export BIOES that re-imports to the same spans', () => {
    const docs = [doc('Ana De Paz vive en Lugo.\nSu NHC: 123', [[0, 10, 'N'], [19, 23, 'T'], [33, 36, 'ID']])];
    const out = exportCorpus(docs, 'CONLL', { scheme: 'BIOES' });
    expect(dec.decode(out[0]!.bytes)).toBe(
      '# doc_id = d1\nAna B-N\nDe I-N\nPaz E-N\nvive O\nen O\nLugo S-T\n. O\n\nSu O\nNHC O\n: O\n123 S-ID\n\n',
    );
    const back = parseCorpus(out).documents[0]!;
    expect(back.spans.map((s) => [s.label, s.text])).toEqual([['N', 'Ana De Paz'], ['T', 'Lugo'], ['ID', '123']]);
  });

  it('should give a token cut by a span boundary the span label and keep a span across a line break in one sentence', () => {
    const out = exportCorpus([doc('una nieta\nCalle\nMayor', [[0, 8, 'F'], [10, 21, 'C']])], 'CONLL');
    expect(dec.decode(out[0]!.bytes)).toBe('# doc_id = d1\nuna B-F\nnieta I-F\n\nCalle B-C\nMayor I-C\n\n');
  });
});

describe('JSONL', () => {
  it('should accept integer ids, missing or empty split and span text', () => {
    const content = '{"id": 7, "text": "Ana", "spans": [{"start": 0, "end": 3, "label": "N", "text": "Ana"}]}\n\n{"id": "b", "split": "", "text": "x", "spans": []}\r\n';
    expect(parseCorpus([file('a.jsonl', content)]).documents).toEqual([
      { id: '7', split: null, text: 'Ana', spans: [{ start: 0, end: 3, label: 'N', text: 'Ana' }] },
      { id: 'b', split: null, text: 'x', spans: [] },
    ]);
  });

  it('should write one line per document with id, split, text and spans', () => {
    const out = exportCorpus([doc('\uFEFFAna', [[1, 4, 'N']])], 'JSONL');
    expect(dec.decode(out[0]!.bytes)).toBe('{"id":"d1","split":"train","text":"\uFEFFAna","spans":[{"start":1,"end":4,"label":"N"}]}\n');
  });
});

describe('TEXT', () => {
  it('should read each .txt as one unannotated document and skip .ann files with a warning', () => {
    const parsed = parseCorpus([file('dev/a.txt', '\uFEFFhola\r\n'), file('dev/a.ann', 'T1\tX 1 5\thola\n')], { format: 'TEXT' });
    expect(parsed.documents).toEqual([{ id: 'a', split: 'dev', text: '\uFEFFhola\r\n', spans: [] }]);
    expect(parsed.warnings).toHaveLength(1);
  });
});

describe(detectFormat.name, () => {
  it('should tell formats apart by extension', () => {
    expect(detectFormat([file('a.ann', ''), file('a.txt', '')])).toBe('BRAT');
    expect(detectFormat([file('a.xml', ''), file('README.txt', '')])).toBe('I2B2_XML');
    expect(detectFormat([file('a.jsonl', '')])).toBe('JSONL');
    expect(detectFormat([file('a.conll', ''), file('LICENSE', '')])).toBe('CONLL');
    expect(detectFormat([file('a.txt', '')])).toBe('BRAT');
    expect(detectFormat([file('a.xml', ''), file('a.jsonl', '')])).toBeNull();
    expect(detectFormat([file('a.pdf', '')])).toBeNull();
  });
});
