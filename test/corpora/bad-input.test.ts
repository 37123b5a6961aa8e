import { describe, expect, it } from 'vitest';
import { CorpusImportError, MAX_REPORTED_ISSUES } from '../../src/corpora/errors.js';
import { parseCorpus } from '../../src/corpora/formats/index.js';
import { expectCode, file, importError } from './fixtures.js';

const TEXT = 'Paciente: Ana Pérez, 53 años.';
// Ana Pérez = 10..19, 53 años = 21..28
const brat = (ann: string, text = TEXT) => [file('train/doc.txt', text), file('train/doc.ann', ann)];

describe(CorpusImportError.name, () => {
  it('should reject an offset past the end of the text with SPAN_OUT_OF_RANGE', () => {
    const e = expectCode(() => parseCorpus(brat('T1\tNOMBRE 10 40\tAna Pérez\n')), 'SPAN_OUT_OF_RANGE');
    expect(e.issues[0]).toMatchObject({ file: 'train/doc.ann', line: 1 });
  });

  it('should reject span text that differs from the document with SPAN_TEXT_MISMATCH', () => {
    expectCode(() => parseCorpus(brat('T1\tNOMBRE 10 19\tAna Perez\n')), 'SPAN_TEXT_MISMATCH');
  });

  it('should report offsets that ignore a byte-order mark as SPAN_TEXT_MISMATCH', () => {
    // Offsets counted on the text without its BOM are one character early.
    expectCode(() => parseCorpus(brat('T1\tNOMBRE 10 19\tAna Pérez\n', `\uFEFF${TEXT}`)), 'SPAN_TEXT_MISMATCH');
    expect(parseCorpus(brat('T1\tNOMBRE 11 20\tAna Pérez\n', `\uFEFF${TEXT}`)).documents[0]!.spans[0]!.text).toBe('Ana Pérez');
  });

  it('should never quote document or annotation text in messages', () => {
    const e = importError(() => parseCorpus(brat('T1\tNOMBRE 10 19\tSecreto Nombre\nT2\tNOMBRE 10 40\tAna\n')));
    expect(JSON.stringify(e.toDetails())).not.toMatch(/Secreto|Ana|Pérez/);
  });

  it('should reject overlapping and nested spans with OVERLAPPING_SPANS unless allowOverlaps', () => {
    const overlapping = 'T1\tNOMBRE 10 19\tAna Pérez\nT2\tX 14 23\tPérez, 53\n';
    const nested = 'T1\tNOMBRE 10 19\tAna Pérez\nT2\tAPELLIDO 14 19\tPérez\n';
    expectCode(() => parseCorpus(brat(overlapping)), 'OVERLAPPING_SPANS');
    expectCode(() => parseCorpus(brat(nested)), 'OVERLAPPING_SPANS');
    expect(parseCorpus(brat(nested), { allowOverlaps: true }).documents[0]!.spans.map((s) => s.label)).toEqual(['NOMBRE', 'APELLIDO']);
  });

  it('should reject an .ann without its .txt with MISSING_TXT', () => {
    expectCode(() => parseCorpus([...brat(''), file('train/lonely.ann', '')]), 'MISSING_TXT');
  });

  it('should reject a .txt without its .ann with MISSING_ANN and point to format TEXT', () => {
    const e = expectCode(() => parseCorpus([...brat(''), file('train/lonely.txt', 'Hola')]), 'MISSING_ANN');
    expect(e.message).toContain('TEXT');
    expect(parseCorpus([file('train/lonely.txt', 'Hola')], { format: 'TEXT' }).documents).toEqual([
      { id: 'lonely', split: 'train', text: 'Hola', spans: [] },
    ]);
  });

  it('should reject empty and whitespace-only documents with EMPTY_DOCUMENT', () => {
    expectCode(() => parseCorpus(brat('', '')), 'EMPTY_DOCUMENT');
    expectCode(() => parseCorpus(brat('', ' \r\n')), 'EMPTY_DOCUMENT');
  });

  it('should reject text that is not UTF-8 with INVALID_UTF8 and the line of the bad byte', () => {
    const latin1 = new Uint8Array([...new TextEncoder().encode('línea 1\nAna P'), 0xe9, 0x72, 0x65, 0x7a]); // 'é' in Latin-1
    const e = expectCode(() => parseCorpus([file('train/doc.txt', latin1), file('train/doc.ann', '')]), 'INVALID_UTF8');
    expect(e.issues[0]).toMatchObject({ file: 'train/doc.txt', line: 2 });
    expect(e.issues[0]!.message).toContain('byte 14'); // 9 bytes of 'línea 1\n' + 5 of 'Ana P'
  });

  it('should reject a lone surrogate from a JSON escape with INVALID_UTF8', () => {
    expectCode(() => parseCorpus([file('c.jsonl', '{"id":"a","text":"x\\ud800y","spans":[]}\n')]), 'INVALID_UTF8');
  });

  it('should reject the same document id twice in a split with DUPLICATE_DOCUMENT_ID, but allow it across splits', () => {
    const line = (split: string) => `{"id":"a","split":"${split}","text":"hola","spans":[]}\n`;
    const e = expectCode(() => parseCorpus([file('c.jsonl', line('train') + line('train'))]), 'DUPLICATE_DOCUMENT_ID');
    expect(e.issues[0]!.line).toBe(2);
    expect(parseCorpus([file('c.jsonl', line('train') + line('dev'))]).documents).toHaveLength(2);
  });

  it('should reject XML that is not well-formed with MALFORMED_XML and its line', () => {
    const xml = '<MEDDOCAN>\n<TEXT><![CDATA[hola]]></TEXT>\n<TAGS>\n<NAME id="T1" start="0" end="4" TYPE="X">\n</TAGS></MEDDOCAN>';
    const e = expectCode(() => parseCorpus([file('dev/a.xml', xml)]), 'MALFORMED_XML');
    expect(e.issues[0]!.line).toBe(5);
  });

  it('should reject an XML tag without TYPE with MALFORMED_XML (the label is never the tag name)', () => {
    const xml = '<MEDDOCAN><TEXT><![CDATA[hola]]></TEXT><TAGS><NAME id="T1" start="0" end="4" text="hola"/></TAGS></MEDDOCAN>';
    expect(expectCode(() => parseCorpus([file('dev/a.xml', xml)]), 'MALFORMED_XML').message).toContain('TYPE');
  });

  it('should reject a line that is not JSON with MALFORMED_JSONL and its line', () => {
    const e = expectCode(() => parseCorpus([file('c.jsonl', '{"id":"a","text":"x","spans":[]}\n{"id":"b",\n')]), 'MALFORMED_JSONL');
    expect(e.issues[0]).toMatchObject({ file: 'c.jsonl', line: 2 });
    expectCode(() => parseCorpus([file('c.jsonl', '{"id":"a","text":"x"}\n')]), 'MALFORMED_JSONL');
    expectCode(() => parseCorpus([file('c.jsonl', '{"id":"a","text":"x","spans":[{"start":"0","end":1,"label":"X"}]}\n')]), 'MALFORMED_JSONL');
  });

  it('should reject unknown JSONL fields with UNKNOWN_FIELD naming field and line, unless allowUnknownFields', () => {
    const content = '{"id":"a","text":"hola","spans":[]}\n{"id":"b","text":"hola","spans":[],"meta":1}\n';
    const e = expectCode(() => parseCorpus([file('c.jsonl', content)]), 'UNKNOWN_FIELD');
    expect(e.issues[0]).toMatchObject({ line: 2 });
    expect(e.issues[0]!.message).toContain("'meta'");
    const ok = parseCorpus([file('c.jsonl', content)], { allowUnknownFields: true });
    expect(ok.documents).toHaveLength(2);
    expect(ok.warnings.join()).toContain('1 unknown field');
  });

  it('should reject malformed CoNLL lines with MALFORMED_CONLL and their line', () => {
    const e = expectCode(() => parseCorpus([file('a.conll', 'Ana B-NOMBRE\nPérez\n')]), 'MALFORMED_CONLL');
    expect(e.issues[0]!.line).toBe(2);
    const bad = expectCode(() => parseCorpus([file('a.conll', 'Ana B-NOMBRE\nPérez X-NOMBRE\n')]), 'MALFORMED_CONLL');
    expect(bad.issues[0]!.line).toBe(2);
  });

  it('should reject discontinuous BRAT spans with DISCONTINUOUS_SPAN', () => {
    const e = expectCode(() => parseCorpus(brat('T1\tNOMBRE 0 5;7 9\tPacie te\n')), 'DISCONTINUOUS_SPAN');
    expect(e.message).toContain('T1');
  });

  it('should read runs of spaces in a T line as one separator, as the official script does', () => {
    const ok = parseCorpus(brat('T1\tNOMBRE  10 19\tAna Pérez\nT2\t NOMBRE 10   19 \tAna Pérez\n', TEXT), { allowOverlaps: true });
    expect(ok.documents[0]!.spans).toEqual([{ start: 10, end: 19, label: 'NOMBRE', text: 'Ana Pérez' }, { start: 10, end: 19, label: 'NOMBRE', text: 'Ana Pérez' }]);
  });

  it('should reject malformed BRAT lines with MALFORMED_ANN and skip relations with a warning', () => {
    expectCode(() => parseCorpus(brat('T1 NOMBRE 10 19 Ana Pérez\n')), 'MALFORMED_ANN');
    const ok = parseCorpus(brat('T1\tNOMBRE 10 19\tAna Pérez\n#1\tAnnotatorNotes T1\tok\nR1\tRel Arg1:T1 Arg2:T1\nA1\tNeg T1\n'));
    expect(ok.documents[0]!.spans).toHaveLength(1);
    expect(ok.warnings.join()).toContain('Skipped 3 annotation lines');
  });

  it('should reject spans with start ≥ end with INVALID_SPAN', () => {
    expectCode(() => parseCorpus(brat('T1\tNOMBRE 19 10\tAna Pérez\n')), 'INVALID_SPAN');
    expectCode(() => parseCorpus([file('c.jsonl', '{"id":"a","text":"hola","spans":[{"start":1,"end":1,"label":"X"}]}')]), 'INVALID_SPAN');
  });

  it('should keep empty, reversed and out-of-range spans without text with allowInvalidSpans (predictions to score)', () => {
    const ann = 'T1\tNOMBRE 5 5\t\nT2\tNOMBRE 19 10\t\nT3\tNOMBRE 25 90\tx\n';
    expectCode(() => parseCorpus(brat(ann), { allowOverlaps: true }), 'INVALID_SPAN');
    const spans = parseCorpus(brat(ann), { allowOverlaps: true, allowInvalidSpans: true }).documents[0]!.spans;
    expect(spans.map((s) => [s.start, s.end, s.text])).toEqual([[5, 5, ''], [19, 10, ''], [25, 90, '']]);
  });

  it('should refuse uploads whose format cannot be told with UNSUPPORTED_FORMAT', () => {
    expectCode(() => parseCorpus([file('a.docx', 'x')]), 'UNSUPPORTED_FORMAT');
    expectCode(() => parseCorpus([...brat(''), file('b.jsonl', '')]), 'UNSUPPORTED_FORMAT');
    expectCode(() => parseCorpus(brat(''), { format: 'PDF' as never }), 'UNSUPPORTED_FORMAT');
  });

  it('should refuse an upload without documents with EMPTY_CORPUS', () => {
    expectCode(() => parseCorpus([file('notes.md', '# hi')], { format: 'JSONL' }), 'EMPTY_CORPUS');
  });

  it('should collect every problem of every file before failing', () => {
    const e = importError(() =>
      parseCorpus([...brat('T1\tNOMBRE 10 40\tAna\nT2\tX 0 5;7 9\tx\n'), file('dev/a.txt', ''), file('dev/a.ann', ''), file('dev/b.ann', '')]),
    );
    expect(e.codes.sort()).toEqual(['DISCONTINUOUS_SPAN', 'EMPTY_DOCUMENT', 'MISSING_TXT', 'SPAN_OUT_OF_RANGE']);
    expect(e.totalIssues).toBe(4);
  });

  it(`should keep the first ${MAX_REPORTED_ISSUES} issues and count the rest`, () => {
    const ann = Array.from({ length: 120 }, (_, i) => `T${i + 1}\tX 100 101\t?\n`).join('');
    const e = expectCode(() => parseCorpus(brat(ann)), 'SPAN_OUT_OF_RANGE');
    expect(e.issues).toHaveLength(MAX_REPORTED_ISSUES);
    expect(e.totalIssues).toBe(120);
    expect(e.message).toContain('and 119 more issues');
  });
});
