import { IssueCollector } from '../errors.js';
import { decodeUtf8, exportPath, extensionOf, finishDocuments, splitOfPath, stemOf, stripBom, utf8Encoder } from './common.js';
import type { InputFile, OutputFile, ParsedCorpus, ParsedDocument, ParseOptions, RawDocument, RawSpan } from './types.js';
import { parseXml, XmlSyntaxError, type XmlElement } from './xml-reader.js';

/**
 * i2b2-style XML, one document per file: MEDDOCAN (`<MEDDOCAN>`) and i2b2 2014 (`<deIdi2b2>`).
 *
 *   <ROOT><TEXT><![CDATA[...]]></TEXT><TAGS><NAME id="T1" start="0" end="5" text="..." TYPE="PATIENT" comment=""/>...</TAGS></ROOT>
 *
 * The label is the TYPE attribute (MEDDOCAN's fine class, e.g. NOMBRE_SUJETO_ASISTENCIA), never
 * the tag name (the coarse class, e.g. NAME). The text is the TEXT element's content exactly as
 * the file holds it (CDATA verbatim, no line-ending normalization), so offsets match BRAT's.
 */
export function detectI2b2Xml(files: InputFile[]): boolean {
  return files.some((f) => extensionOf(f.path) === '.xml');
}

export function parseI2b2Xml(files: InputFile[], options: ParseOptions = {}): ParsedCorpus {
  const issues = new IssueCollector();
  const raw: RawDocument[] = [];
  const ignoredFiles: string[] = [];
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    if (extensionOf(file.path) !== '.xml') {
      ignoredFiles.push(file.path);
      continue;
    }
    const source = decodeUtf8(file, issues);
    if (source === null) continue;
    let root: XmlElement;
    try {
      root = parseXml(stripBom(source));
    } catch (e) {
      if (!(e instanceof XmlSyntaxError)) throw e;
      issues.add('MALFORMED_XML', `${e.message}`, file.path, e.line);
      continue;
    }
    const doc = readDocument(root, file.path, issues);
    if (doc !== null) raw.push({ id: stemOf(file.path), split: splitOfPath(file.path), ...doc, file: file.path });
  }
  const documents = finishDocuments(raw, options, issues);
  issues.throwIfAny();
  const warnings = ignoredFiles.length === 0 ? [] : [`Skipped ${ignoredFiles.length} files that are not .xml (e.g. ${ignoredFiles.slice(0, 3).join(', ')}).`];
  return { documents, format: 'I2B2_XML', warnings };
}

function readDocument(root: XmlElement, path: string, issues: IssueCollector): { text: string; spans: RawSpan[] } | null {
  const elements = root.children.filter((c): c is XmlElement => 'name' in c);
  const textEls = elements.filter((e) => e.name === 'TEXT');
  if (textEls.length !== 1) {
    issues.add('MALFORMED_XML', `<${root.name}> must hold exactly one <TEXT> element, found ${textEls.length}`, path, root.line);
    return null;
  }
  const textEl = textEls[0]!;
  let text = '';
  for (const c of textEl.children) {
    if ('name' in c) {
      issues.add('MALFORMED_XML', `<TEXT> contains an element <${c.name}>; put the text in a CDATA section`, path, c.line);
      return null;
    }
    text += c.text;
  }
  const spans: RawSpan[] = [];
  let ok = true;
  for (const tags of elements.filter((e) => e.name === 'TAGS')) {
    for (const tag of tags.children) {
      if (!('name' in tag)) continue;
      const ref = tag.attrs.get('id') ?? `<${tag.name}>`;
      const label = tag.attrs.get('TYPE');
      const start = tag.attrs.get('start');
      const end = tag.attrs.get('end');
      if (label === undefined) {
        issues.add('MALFORMED_XML', `${ref} <${tag.name}> has no TYPE attribute; the label is read from TYPE, not from the tag name`, path, tag.line);
        ok = false;
        continue;
      }
      if (start === undefined || end === undefined || !/^\d+$/.test(start) || !/^\d+$/.test(end)) {
        issues.add('MALFORMED_XML', `${ref} <${tag.name}> needs start and end attributes holding whole numbers`, path, tag.line);
        ok = false;
        continue;
      }
      const claimed = tag.attrs.get('text');
      spans.push({ start: Number(start), end: Number(end), label, ref, line: tag.line, ...(claimed !== undefined && { claimedText: claimed }) });
    }
  }
  return ok ? { text, spans } : null;
}

/** MEDDOCAN's tag name for each TYPE, then i2b2 2014's; any other label is written as <OTHER>. */
const TAG_FOR_TYPE: Record<string, string> = {
  NOMBRE_SUJETO_ASISTENCIA: 'NAME', NOMBRE_PERSONAL_SANITARIO: 'NAME',
  EDAD_SUJETO_ASISTENCIA: 'AGE', FECHAS: 'DATE', PROFESION: 'PROFESSION',
  CORREO_ELECTRONICO: 'CONTACT', NUMERO_TELEFONO: 'CONTACT', NUMERO_FAX: 'CONTACT', URL_WEB: 'CONTACT', DIREC_PROT_INTERNET: 'CONTACT',
  ID_SUJETO_ASISTENCIA: 'ID', ID_TITULACION_PERSONAL_SANITARIO: 'ID', ID_ASEGURAMIENTO: 'ID', ID_CONTACTO_ASISTENCIAL: 'ID',
  ID_EMPLEO_PERSONAL_SANITARIO: 'ID', NUMERO_BENEF_PLAN_SALUD: 'ID', IDENTIF_VEHICULOS_NRSERIE_PLACAS: 'ID',
  IDENTIF_DISPOSITIVOS_NRSERIE: 'ID', IDENTIF_BIOMETRICOS: 'ID', OTRO_NUMERO_IDENTIF: 'ID',
  CALLE: 'LOCATION', TERRITORIO: 'LOCATION', PAIS: 'LOCATION', HOSPITAL: 'LOCATION', INSTITUCION: 'LOCATION', CENTRO_SALUD: 'LOCATION',
  SEXO_SUJETO_ASISTENCIA: 'OTHER', FAMILIARES_SUJETO_ASISTENCIA: 'OTHER', OTROS_SUJETO_ASISTENCIA: 'OTHER',
  PATIENT: 'NAME', DOCTOR: 'NAME', USERNAME: 'NAME',
  ROOM: 'LOCATION', DEPARTMENT: 'LOCATION', ORGANIZATION: 'LOCATION', STREET: 'LOCATION', CITY: 'LOCATION', STATE: 'LOCATION',
  COUNTRY: 'LOCATION', ZIP: 'LOCATION', 'LOCATION-OTHER': 'LOCATION',
  PHONE: 'CONTACT', FAX: 'CONTACT', EMAIL: 'CONTACT', URL: 'CONTACT', IPADDR: 'CONTACT',
  SSN: 'ID', MEDICALRECORD: 'ID', HEALTHPLAN: 'ID', ACCOUNT: 'ID', LICENSE: 'ID', VEHICLE: 'ID', DEVICE: 'ID', BIOID: 'ID', IDNUM: 'ID',
  AGE: 'AGE', DATE: 'DATE',
};

// XML 1.0 cannot hold these characters at all, not even as character references.
const NOT_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

function escapeAttr(s: string): string {
  return s.replace(/[&<>"\r\n\t]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\r': '&#13;', '\n': '&#10;', '\t': '&#9;' })[c]!);
}

/**
 * The text as CDATA: `]]>` splits the section, and each CR is written as &#13; between sections
 * because XML readers turn a literal CRLF into LF, which would shift every later offset.
 */
function cdata(text: string): string {
  return `<![CDATA[${text.replace(/\]\]>/g, ']]]]><![CDATA[>').replace(/\r/g, ']]>&#13;<![CDATA[')}]]>`;
}

/** `<split>/<id>.xml` in MEDDOCAN's layout, tags in span order with ids T1, T2, … */
export function exportI2b2Xml(docs: ParsedDocument[]): OutputFile[] {
  const issues = new IssueCollector();
  const out: OutputFile[] = [];
  for (const doc of docs) {
    const base = exportPath(doc.split, doc.id, issues);
    if (NOT_XML.test(doc.text) || doc.spans.some((s) => NOT_XML.test(s.label))) {
      issues.add('UNREPRESENTABLE_TEXT', `document '${doc.id}' contains control characters that XML 1.0 cannot hold; export it as BRAT or JSONL instead`);
      continue;
    }
    const tags = doc.spans.map(
      (s, i) =>
        `    <${TAG_FOR_TYPE[s.label] ?? 'OTHER'} id="T${i + 1}" start="${s.start}" end="${s.end}" text="${escapeAttr(s.text)}" TYPE="${escapeAttr(s.label)}" comment=""/>\n`,
    );
    const xml = `<?xml version='1.0' encoding='UTF-8'?>\n<MEDDOCAN>\n  <TEXT>${cdata(doc.text)}</TEXT>\n  <TAGS>\n${tags.join('')}  </TAGS>\n</MEDDOCAN>\n`;
    out.push({ path: `${base}.xml`, bytes: utf8Encoder.encode(xml) });
  }
  issues.throwIfAny();
  return out;
}
