// GPT-2's byte ↔ printable-character table, as the byte-level pre-tokenizer uses it:
// printable Latin-1 bytes map to themselves, the other 68 to U+0100.. in byte order.

function buildByteTable(): string[] {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const table = new Array<string>(256);
  for (const b of keep) table[b] = String.fromCharCode(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (table[b] === undefined) table[b] = String.fromCharCode(256 + n++);
  return table;
}

/** byte → its character in byte-level token strings. */
export const BYTE_TO_CHAR: readonly string[] = buildByteTable();
/** character of a byte-level token string → byte. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A string's UTF-8 bytes as a byte-level token string. */
export function toByteLevel(text: string): string {
  let out = '';
  for (const b of encoder.encode(text)) out += BYTE_TO_CHAR[b];
  return out;
}

/** The bytes behind a byte-level token string; throws on a character outside the table. */
export function fromByteLevel(token: string): number[] {
  const out: number[] = [];
  for (const ch of token) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b === undefined) throw new Error(`"${token}" is not a byte-level token (character U+${ch.codePointAt(0)!.toString(16)})`);
    out.push(b);
  }
  return out;
}

/** GPT-2's pre-tokenization pattern (contractions, letters, numbers, other, whitespace). */
export const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** UTF-16 index of the code point holding each byte of `text`'s UTF-8 (length = byte length + 1). */
export function byteToUtf16(text: string): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const units = cp > 0xffff ? 2 : 1;
    const bytes = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    for (let k = 0; k < bytes; k++) out.push(i);
    i += units;
  }
  out.push(text.length);
  return Int32Array.from(out);
}
