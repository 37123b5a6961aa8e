/**
 * Turns an upload (a .zip, .tar, .tar.gz/.tgz, .gz or a single plain file) into InputFiles.
 *
 * Safety rules, checked before anything is decompressed where possible:
 * - Entry paths must stay inside the upload: no '..' segment, no absolute path or drive letter,
 *   no backslash, no NUL; symlink and hard-link entries are refused (PATH_ESCAPE).
 * - `__MACOSX/` and every path with a segment starting with '.' (dotfiles, `.git/`) are skipped.
 * - Limits (TOO_LARGE): the upload's size, the number of files, each file's unpacked size and the
 *   total unpacked size, first as declared by the archive, then as actually inflated: inflation
 *   stops as soon as an entry grows past its declared size or the total budget, so a zip bomb
 *   costs at most one 16 KiB input chunk of output beyond the limit. The per-file limit keeps
 *   every file's text far below the longest string JavaScript can hold (about 512 Mi UTF-16
 *   units), and a file declared too large is refused before any memory is spent on it.
 */
import { Gunzip, Inflate, zipSync } from 'fflate';
import { CorpusImportError, IssueCollector } from './errors.js';
import type { InputFile, OutputFile } from './formats/types.js';

export interface ArchiveLimits {
  /** Size of the uploaded file itself (default 200 MiB). */
  maxArchiveBytes: number;
  /** Sum of all unpacked file sizes (default 1 GiB). */
  maxUnpackedBytes: number;
  /** Number of file entries, skipped ones included (default 50,000). */
  maxFileCount: number;
  /** Unpacked size of one file (default 100 MiB; MAX_FILE_BYTES). */
  maxFileBytes: number;
}

export const DEFAULT_ARCHIVE_LIMITS: Readonly<ArchiveLimits> = Object.freeze({
  maxArchiveBytes: 200 * 1024 * 1024,
  maxUnpackedBytes: 1024 * 1024 * 1024,
  maxFileCount: 50_000,
  maxFileBytes: 100 * 1024 * 1024,
});

const CHUNK_BYTES = 16 * 1024;

export function unpackArchive(bytes: Uint8Array, name: string, limits: Partial<ArchiveLimits> = {}): InputFile[] {
  const lim: ArchiveLimits = { ...DEFAULT_ARCHIVE_LIMITS, ...limits };
  if (bytes.length > lim.maxArchiveBytes) {
    throw tooLarge(`the upload is ${bytes.length} bytes; the limit is ${lim.maxArchiveBytes} bytes`);
  }
  const lower = name.toLowerCase();
  if (lower.endsWith('.zip')) return readZip(bytes, lim);
  if (lower.endsWith('.tar')) return readTar(bytes, lim);
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) {
    // The tar stream also holds a 512-byte header per entry and padding.
    return readTar(gunzip(bytes, lim.maxUnpackedBytes + (lim.maxFileCount + 2) * 1536), lim);
  }
  const base = name.replace(/\\/g, '/').split('/').pop() ?? '';
  if (lower.endsWith('.gz')) return [{ path: base.slice(0, -3), bytes: gunzip(bytes, Math.min(lim.maxUnpackedBytes, lim.maxFileBytes)) }];
  if (bytes.length > Math.min(lim.maxUnpackedBytes, lim.maxFileBytes)) throw tooLarge(fileTooLarge(base, bytes.length, lim));
  return [{ path: base, bytes }];
}

function fileTooLarge(path: string, bytes: number, lim: ArchiveLimits): string {
  return `${path} is ${bytes} bytes unpacked; the limit for one file is ${Math.min(lim.maxFileBytes, lim.maxUnpackedBytes)} bytes (MAX_FILE_BYTES)`;
}

function tooLarge(message: string): CorpusImportError {
  return CorpusImportError.single('TOO_LARGE', `${message}; split the corpus into smaller uploads`);
}

function malformed(message: string): CorpusImportError {
  return CorpusImportError.single('MALFORMED_ARCHIVE', `${message}; re-create the archive (zip, tar or tar.gz) and upload it again`);
}

type EntryPath = { kind: 'file'; path: string } | { kind: 'skip' } | { kind: 'escape'; reason: string };

/** Classifies an entry name from an archive. */
export function checkEntryPath(raw: string): EntryPath {
  if (raw.includes('\\')) return { kind: 'escape', reason: 'contains a backslash' };
  if (raw.includes('\u0000')) return { kind: 'escape', reason: 'contains a NUL character' };
  if (raw.startsWith('/') || /^[A-Za-z]:/.test(raw)) return { kind: 'escape', reason: 'is an absolute path' };
  const segments = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) return { kind: 'escape', reason: "contains a '..' segment" };
  if (segments.length === 0 || segments[0] === '__MACOSX' || segments.some((s) => s.startsWith('.'))) return { kind: 'skip' };
  return { kind: 'file', path: segments.join('/') };
}

/** Collects an archive's entries, checking paths, duplicates and declared sizes. */
class EntryChecker {
  readonly issues = new IssueCollector();
  private readonly paths = new Set<string>();
  private count = 0;
  private declared = 0;

  constructor(private readonly lim: ArchiveLimits) {}

  /** Returns the cleaned path, or null when the entry is a folder, skipped or refused (an issue is recorded). */
  admit(raw: string, declaredBytes: number, link: boolean, folder = false): string | null {
    if (folder) {
      const checked = checkEntryPath(raw);
      if (checked.kind === 'escape') this.issues.add('PATH_ESCAPE', `the folder ${JSON.stringify(raw)} ${checked.reason}; archive entries must be relative paths inside the archive`);
      return null;
    }
    if (++this.count > this.lim.maxFileCount) throw tooLarge(`the archive holds more than ${this.lim.maxFileCount} files`);
    this.declared += declaredBytes;
    if (this.declared > this.lim.maxUnpackedBytes) {
      throw tooLarge(`the archive declares more than ${this.lim.maxUnpackedBytes} bytes of unpacked content`);
    }
    const checked = checkEntryPath(raw);
    if (checked.kind === 'escape') {
      this.issues.add('PATH_ESCAPE', `the entry ${JSON.stringify(raw)} ${checked.reason}; archive entries must be relative paths inside the archive`);
      return null;
    }
    if (link) {
      this.issues.add('PATH_ESCAPE', `the entry ${JSON.stringify(raw)} is a link; archives may only hold regular files and folders`);
      return null;
    }
    if (checked.kind === 'skip') return null;
    if (declaredBytes > this.lim.maxFileBytes) throw tooLarge(fileTooLarge(checked.path, declaredBytes, this.lim));
    if (this.paths.has(checked.path)) throw malformed(`the archive holds ${checked.path} twice`);
    this.paths.add(checked.path);
    return checked.path;
  }
}

// ---------------------------------------------------------------------------------------------
// zip

const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const u64 = (b: Uint8Array, o: number) => u32(b, o) + u32(b, o + 4) * 2 ** 32;
// Entry names: UTF-8 (zip flag 11, modern tar); legacy code-page names decode lossily, which is harmless here.
const names = new TextDecoder('utf-8');

function readZip(b: Uint8Array, lim: ArchiveLimits): InputFile[] {
  // End of central directory: 22 bytes plus a comment of up to 65,535 bytes, at the very end.
  let eocd = -1;
  for (let i = b.length - 22; i >= 0 && i >= b.length - 22 - 0xffff; i--) {
    if (u32(b, i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw malformed('the file is not a zip archive (no end of central directory)');
  let entries = u16(b, eocd + 10);
  let cdOffset = u32(b, eocd + 16);
  if (entries === 0xffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || u32(b, loc) !== 0x07064b50) throw malformed('broken zip64 end of central directory');
    const z = u64(b, loc + 8);
    if (z + 56 > b.length || u32(b, z) !== 0x06064b50) throw malformed('broken zip64 end of central directory');
    entries = u64(b, z + 32);
    cdOffset = u64(b, z + 48);
  }
  const checker = new EntryChecker(lim);
  const pending: { path: string; method: number; flags: number; csize: number; usize: number; local: number }[] = [];
  let p = cdOffset;
  for (let n = 0; n < entries; n++) {
    if (p + 46 > b.length || u32(b, p) !== 0x02014b50) throw malformed('broken central directory');
    const madeBy = u16(b, p + 4) >> 8;
    const flags = u16(b, p + 8);
    const method = u16(b, p + 10);
    let csize = u32(b, p + 20);
    let usize = u32(b, p + 24);
    const nameLen = u16(b, p + 28), extraLen = u16(b, p + 30), commentLen = u16(b, p + 32);
    const attrs = u32(b, p + 38);
    let local = u32(b, p + 42);
    const name = names.decode(b.subarray(p + 46, p + 46 + nameLen));
    // zip64 sizes and offset live in extra field 0x0001, in this order, only where the field is full.
    for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen; ) {
      const id = u16(b, e), len = u16(b, e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (usize === 0xffffffff) (usize = u64(b, q)), (q += 8);
        if (csize === 0xffffffff) (csize = u64(b, q)), (q += 8);
        if (local === 0xffffffff) local = u64(b, q);
      }
      e += 4 + len;
    }
    p += 46 + nameLen + extraLen + commentLen;
    const isDir = name.endsWith('/');
    const isLink = madeBy === 3 && ((attrs >>> 16) & 0o170000) === 0o120000;
    const path = checker.admit(name, usize, isLink, isDir);
    if (path === null) continue;
    pending.push({ path, method, flags, csize, usize, local });
  }
  checker.issues.throwIfAny();
  let budget = lim.maxUnpackedBytes;
  return pending.map((e) => {
    if (e.flags & 1) throw malformed(`${e.path} is encrypted`);
    if (u32(b, e.local) !== 0x04034b50) throw malformed(`broken local header for ${e.path}`);
    const start = e.local + 30 + u16(b, e.local + 26) + u16(b, e.local + 28);
    if (start + e.csize > b.length) throw malformed(`${e.path} is truncated`);
    const data = b.subarray(start, start + e.csize);
    let bytes: Uint8Array;
    if (e.method === 0) bytes = data.slice();
    else if (e.method === 8) bytes = inflateCapped(data, e.path, Math.min(e.usize, budget), e.usize, lim.maxUnpackedBytes);
    else throw malformed(`${e.path} uses compression method ${e.method}; only stored and deflate are supported`);
    if (bytes.length !== e.usize) throw malformed(`${e.path} unpacks to ${bytes.length} bytes but declares ${e.usize}`);
    budget -= bytes.length;
    return { path: e.path, bytes };
  });
}

/** Inflates raw DEFLATE data, stopping as soon as the output passes `cap` bytes. */
function inflateCapped(data: Uint8Array, path: string, cap: number, declared: number, maxUnpackedBytes: number): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const inflate = new Inflate((chunk) => {
    total += chunk.length;
    if (total <= cap) chunks.push(chunk);
  });
  try {
    for (let off = 0; off < data.length || off === 0; off += CHUNK_BYTES) {
      inflate.push(data.subarray(off, off + CHUNK_BYTES), off + CHUNK_BYTES >= data.length);
      if (total > cap) {
        throw tooLarge(
          total > declared
            ? `${path} inflates past its declared size of ${declared} bytes (a zip bomb?)`
            : `the archive unpacks to more than ${maxUnpackedBytes} bytes`,
        );
      }
    }
  } catch (e) {
    if (e instanceof CorpusImportError) throw e;
    throw malformed(`${path} is corrupt (${(e as Error).message})`);
  }
  return concat(chunks, total);
}

function gunzip(data: Uint8Array, cap: number): Uint8Array {
  if (data.length < 18 || data[0] !== 0x1f || data[1] !== 0x8b) throw malformed('the file is not gzip-compressed');
  // ISIZE, the unpacked size modulo 2^32, is the gzip trailer's last 4 bytes.
  const declared = u32(data, data.length - 4);
  if (declared > cap) throw tooLarge(`the gzip stream declares ${declared} unpacked bytes; the limit is ${cap}`);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const gz = new Gunzip((chunk) => {
    total += chunk.length;
    if (total <= cap) chunks.push(chunk);
  });
  try {
    for (let off = 0; off < data.length; off += CHUNK_BYTES) {
      gz.push(data.subarray(off, off + CHUNK_BYTES), off + CHUNK_BYTES >= data.length);
      if (total > cap) throw tooLarge(`the gzip stream unpacks to more than ${cap} bytes`);
    }
  } catch (e) {
    if (e instanceof CorpusImportError) throw e;
    throw malformed(`the gzip stream is corrupt (${(e as Error).message})`);
  }
  return concat(chunks, total);
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) out.set(c, (o += c.length) - c.length);
  return out;
}

// ---------------------------------------------------------------------------------------------
// tar (ustar, with pax 'path' records and GNU long names)

function cString(b: Uint8Array, start: number, len: number): string {
  let end = start;
  while (end < start + len && b[end] !== 0) end++;
  return names.decode(b.subarray(start, end));
}

function tarNumber(b: Uint8Array, start: number, len: number): number {
  if (b[start]! & 0x80) {
    // GNU base-256: big-endian binary after the marker bit.
    let n = b[start]! & 0x7f;
    for (let i = 1; i < len; i++) n = n * 256 + b[start + i]!;
    return n;
  }
  const s = cString(b, start, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw malformed('a tar header holds a malformed number');
  return parseInt(s, 8);
}

function readTar(b: Uint8Array, lim: ArchiveLimits): InputFile[] {
  const checker = new EntryChecker(lim);
  const files: InputFile[] = [];
  let longName: string | null = null;
  let off = 0;
  while (off + 512 <= b.length) {
    const h = b.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    if (sum !== tarNumber(h, 148, 8)) throw malformed(`the tar header at byte ${off} has a wrong checksum`);
    const size = tarNumber(h, 124, 12);
    const type = String.fromCharCode(h[156]!);
    const dataStart = off + 512;
    if (dataStart + size > b.length) throw malformed('the tar archive is truncated');
    const data = b.subarray(dataStart, dataStart + size);
    off = dataStart + Math.ceil(size / 512) * 512;
    if (type === 'x' || type === 'L') {
      longName = type === 'L' ? cString(data, 0, data.length) : (paxPath(data) ?? longName);
      continue;
    }
    if (type === 'g') continue;
    const name = cString(h, 0, 100);
    const prefix = names.decode(h.subarray(257, 262)) === 'ustar' ? cString(h, 345, 155) : '';
    const raw = longName ?? (prefix === '' ? name : `${prefix}/${name}`);
    longName = null;
    const isFile = type === '0' || type === '\u0000' || type === '7';
    const isLink = type === '1' || type === '2';
    if (!isFile && !isLink) {
      checker.admit(raw, 0, false, true); // folders, devices, FIFOs carry no content we need
      continue;
    }
    const path = checker.admit(raw, isFile ? size : 0, isLink);
    if (path !== null) files.push({ path, bytes: data.slice() });
  }
  checker.issues.throwIfAny();
  return files;
}

function paxPath(data: Uint8Array): string | null {
  // Records are "<length> <key>=<value>\n".
  const text = names.decode(data);
  for (const m of text.matchAll(/(\d+) ([^=]+)=([^\n]*)\n/g)) if (m[2] === 'path') return m[3]!;
  return null;
}

// ---------------------------------------------------------------------------------------------
// delivery

/** A deflated zip of the files, with a fixed timestamp so the same files give the same bytes. */
export function zipFiles(files: OutputFile[]): Uint8Array {
  const tree: Record<string, Uint8Array> = {};
  for (const f of files) tree[f.path] = f.bytes;
  return zipSync(tree, { level: 6, mtime: new Date(2000, 0, 1) });
}
