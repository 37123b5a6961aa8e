/**
 * A small, strict, non-validating XML reader for annotation files.
 *
 * Why not fast-xml-parser: it normalizes CRLF to LF inside CDATA and leaves numeric character
 * references undecoded, and both would move offsets. This reader keeps text exactly as the file
 * holds it (no line-ending or attribute-whitespace normalization), decodes the five predefined
 * entities and numeric references, and rejects anything not well-formed with a line number.
 * DTD-declared entities are not supported.
 */
export interface XmlElement {
  name: string;
  attrs: Map<string, string>;
  children: XmlNode[];
  /** 1-based line of the start tag. */
  line: number;
}

export type XmlNode = XmlElement | { text: string; cdata: boolean };

export class XmlSyntaxError extends Error {
  constructor(message: string, readonly line: number) {
    super(message);
    this.name = 'XmlSyntaxError';
  }
}

const NAME = /[A-Za-z_:\u00C0-\uFFFF][-A-Za-z0-9_:.\u00B7\u00C0-\uFFFF]*/y;
const SPACE = /[ \t\r\n]*/y;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function parseXml(source: string): XmlElement {
  return new Reader(source).document();
}

class Reader {
  private pos = 0;
  private newlines: number[] | null = null;

  constructor(private readonly s: string) {}

  document(): XmlElement {
    let root: XmlElement | null = null;
    for (;;) {
      this.skipSpace();
      if (this.pos >= this.s.length) break;
      if (this.s.startsWith('<?', this.pos)) this.skipPast('?>', 'processing instruction');
      else if (this.s.startsWith('<!--', this.pos)) this.skipPast('-->', 'comment');
      else if (this.s.startsWith('<!DOCTYPE', this.pos)) this.skipDoctype();
      else if (this.s[this.pos] === '<' && root === null) root = this.element();
      else this.fail(root === null ? 'expected the root element' : 'content after the root element');
    }
    if (root === null) this.fail('the file has no root element');
    return root;
  }

  private element(): XmlElement {
    const line = this.lineAt(this.pos);
    this.pos++; // '<'
    const name = this.name();
    const attrs = new Map<string, string>();
    for (;;) {
      const before = this.pos;
      this.skipSpace();
      if (this.s.startsWith('/>', this.pos)) {
        this.pos += 2;
        return { name, attrs, children: [], line };
      }
      if (this.s[this.pos] === '>') {
        this.pos++;
        break;
      }
      if (this.pos === before) this.fail(`expected whitespace, '>' or '/>' in <${name}>`);
      const attr = this.name();
      this.skipSpace();
      if (this.s[this.pos] !== '=') this.fail(`attribute ${attr} of <${name}> has no '=value'`);
      this.pos++;
      this.skipSpace();
      const quote = this.s[this.pos];
      if (quote !== '"' && quote !== "'") this.fail(`the value of attribute ${attr} of <${name}> must be quoted`);
      const end = this.s.indexOf(quote, this.pos + 1);
      if (end < 0) this.fail(`the value of attribute ${attr} of <${name}> is not closed`);
      const raw = this.s.slice(this.pos + 1, end);
      if (raw.includes('<')) this.fail(`the value of attribute ${attr} of <${name}> contains '<'; write &lt;`);
      if (attrs.has(attr)) this.fail(`attribute ${attr} appears twice in <${name}>`);
      attrs.set(attr, this.decode(raw, this.pos + 1));
      this.pos = end + 1;
    }
    const children: XmlNode[] = [];
    for (;;) {
      const lt = this.s.indexOf('<', this.pos);
      if (lt < 0) {
        this.pos = this.s.length;
        this.fail(`<${name}> (line ${line}) is never closed`);
      }
      if (lt > this.pos) children.push({ text: this.decode(this.s.slice(this.pos, lt), this.pos), cdata: false });
      this.pos = lt;
      if (this.s.startsWith('<![CDATA[', lt)) {
        const end = this.s.indexOf(']]>', lt + 9);
        if (end < 0) this.fail('CDATA section is never closed');
        children.push({ text: this.s.slice(lt + 9, end), cdata: true });
        this.pos = end + 3;
      } else if (this.s.startsWith('<!--', lt)) {
        this.skipPast('-->', 'comment');
      } else if (this.s.startsWith('<?', lt)) {
        this.skipPast('?>', 'processing instruction');
      } else if (this.s.startsWith('</', lt)) {
        this.pos += 2;
        const closing = this.name();
        if (closing !== name) this.fail(`expected </${name}> (opened on line ${line}) but found </${closing}>`);
        this.skipSpace();
        if (this.s[this.pos] !== '>') this.fail(`</${closing}> is not closed with '>'`);
        this.pos++;
        return { name, attrs, children, line };
      } else {
        children.push(this.element());
      }
    }
  }

  private name(): string {
    NAME.lastIndex = this.pos;
    const m = NAME.exec(this.s);
    if (m === null) this.fail('expected an element or attribute name');
    this.pos += m[0].length;
    return m[0];
  }

  private decode(raw: string, at: number): string {
    if (!raw.includes('&')) return raw;
    return raw.replace(/&([^;&\s]*);?/g, (whole, ref: string, offset: number) => {
      let cp: number | undefined;
      if (!whole.endsWith(';')) cp = undefined;
      else if (ref in PREDEFINED) return PREDEFINED[ref]!;
      else if (/^#[0-9]+$/.test(ref)) cp = parseInt(ref.slice(1), 10);
      else if (/^#x[0-9A-Fa-f]+$/.test(ref)) cp = parseInt(ref.slice(2), 16);
      if (cp === undefined || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        this.pos = at + offset;
        this.fail(`an '&' does not start a valid entity reference; write a literal '&' as &amp;`);
      }
      return String.fromCodePoint(cp);
    });
  }

  private skipSpace(): void {
    SPACE.lastIndex = this.pos;
    SPACE.exec(this.s);
    this.pos = SPACE.lastIndex;
  }

  private skipPast(terminator: string, what: string): void {
    const end = this.s.indexOf(terminator, this.pos);
    if (end < 0) this.fail(`${what} is never closed`);
    this.pos = end + terminator.length;
  }

  private skipDoctype(): void {
    let depth = 0;
    for (let i = this.pos; i < this.s.length; i++) {
      const c = this.s[i];
      if (c === '[') depth++;
      else if (c === ']') depth--;
      else if (c === '>' && depth <= 0) {
        this.pos = i + 1;
        return;
      }
    }
    this.fail('<!DOCTYPE is never closed');
  }

  lineAt(pos: number): number {
    if (this.newlines === null) {
      this.newlines = [];
      for (let i = this.s.indexOf('\n'); i >= 0; i = this.s.indexOf('\n', i + 1)) this.newlines.push(i);
    }
    let lo = 0, hi = this.newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.newlines[mid]! < pos) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  }

  private fail(message: string): never {
    throw new XmlSyntaxError(message, this.lineAt(this.pos));
  }
}
