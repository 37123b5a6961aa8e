import { gzipSync, unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { unpackArchive, zipFiles } from '../../src/corpora/archive.js';
import { expectCode } from './fixtures.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A ustar archive written by hand: 512-byte headers with octal fields, data padded to 512. */
function tar(entries: { name: string; content?: string; type?: string; link?: string; size?: number }[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const e of entries) {
    const data = enc.encode(e.content ?? '');
    const h = new Uint8Array(512);
    const put = (s: string, at: number) => h.set(enc.encode(s), at);
    const octal = (n: number, len: number) => n.toString(8).padStart(len - 1, '0');
    put(e.name, 0);
    put(octal(0o644, 8), 100);
    put(octal(0, 8), 108);
    put(octal(0, 8), 116);
    put(octal(e.size ?? data.length, 12), 124);
    put(octal(0, 12), 136);
    put(e.type ?? '0', 156);
    put(e.link ?? '', 157);
    put('ustar\u000000', 257);
    put('        ', 148);
    const sum = h.reduce((a, b) => a + b, 0);
    put(`${octal(sum, 7)}\u0000`, 148);
    blocks.push(h, data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of blocks) out.set(b, (o += b.length) - b.length);
  return out;
}

const paths = (files: { path: string }[]) => files.map((f) => f.path).sort();

describe(unpackArchive.name, () => {
  it('should unpack zip, tar and tar.gz alike, skipping __MACOSX, dotfiles and folders', () => {
    const entries = { 'corpus/train/a.txt': enc.encode('hola'), 'corpus/train/a.ann': enc.encode(''), '__MACOSX/corpus/._a.txt': enc.encode('x'), 'corpus/.DS_Store': enc.encode('x'), 'corpus/empty/': new Uint8Array() };
    const fromZip = unpackArchive(zipSync(entries), 'up.zip');
    expect(paths(fromZip)).toEqual(['corpus/train/a.ann', 'corpus/train/a.txt']);
    expect(dec.decode(fromZip.find((f) => f.path.endsWith('a.txt'))!.bytes)).toBe('hola');
    const t = tar([{ name: './corpus/train/a.txt', content: 'hola' }, { name: 'corpus/train/._a.txt', content: 'x' }, { name: 'corpus/train/', type: '5' }]);
    expect(paths(unpackArchive(t, 'up.tar'))).toEqual(['corpus/train/a.txt']);
    expect(dec.decode(unpackArchive(gzipSync(t), 'up.tgz')[0]!.bytes)).toBe('hola');
    expect(paths(unpackArchive(gzipSync(t), 'UP.TAR.GZ'))).toEqual(['corpus/train/a.txt']);
  });

  it('should pass a plain file through and gunzip a .gz file', () => {
    expect(unpackArchive(enc.encode('{}'), 'c.jsonl')).toEqual([{ path: 'c.jsonl', bytes: enc.encode('{}') }]);
    expect(unpackArchive(gzipSync(enc.encode('{}')), 'c.jsonl.gz')).toEqual([{ path: 'c.jsonl', bytes: enc.encode('{}') }]);
  });

  it('should refuse zip entries that escape the root with PATH_ESCAPE', () => {
    for (const name of ['../evil.txt', 'a/../../evil.txt', '/etc/passwd', 'C:/evil.txt', 'a\\..\\..\\evil.txt']) {
      const e = expectCode(() => unpackArchive(zipSync({ [name]: enc.encode('x'), 'ok.txt': enc.encode('y') }), 'up.zip'), 'PATH_ESCAPE');
      expect(e.issues).toHaveLength(1);
    }
  });

  it('should refuse symlinks in zip and tar with PATH_ESCAPE', () => {
    const link = zipSync({ 'train/a.txt': [enc.encode('/etc/passwd'), { os: 3, attrs: (0o120777 << 16) >>> 0 }] });
    expectCode(() => unpackArchive(link, 'up.zip'), 'PATH_ESCAPE');
    expectCode(() => unpackArchive(tar([{ name: 'train/a.txt', type: '2', link: '/etc/passwd' }]), 'up.tar'), 'PATH_ESCAPE');
    expectCode(() => unpackArchive(tar([{ name: '../a.txt', content: 'x' }]), 'up.tar'), 'PATH_ESCAPE');
  });

  it('should refuse a zip bomb by its declared size before inflating it', () => {
    const bomb = zipSync({ 'a.txt': new Uint8Array(5_000_000) }, { level: 9 });
    expect(bomb.length).toBeLessThan(20_000);
    expect(expectCode(() => unpackArchive(bomb, 'up.zip', { maxUnpackedBytes: 1_000_000 }), 'TOO_LARGE').message).toContain('declares');
  });

  it('should refuse one file over maxFileBytes in a zip, a tar, a gzip or alone, by its declared size', () => {
    const opts = { maxFileBytes: 1000 };
    expect(expectCode(() => unpackArchive(zipSync({ 'a.txt': new Uint8Array(1001) }), 'up.zip', opts), 'TOO_LARGE').message).toContain('a.txt is 1001 bytes unpacked');
    expectCode(() => unpackArchive(tar([{ name: 'a.txt', content: 'x'.repeat(1001) }]), 'up.tar', opts), 'TOO_LARGE');
    expectCode(() => unpackArchive(gzipSync(new Uint8Array(1001)), 'a.txt.gz', opts), 'TOO_LARGE');
    expectCode(() => unpackArchive(new Uint8Array(1001), 'a.txt', opts), 'TOO_LARGE');
    expect(unpackArchive(zipSync({ 'a.txt': new Uint8Array(1000) }), 'up.zip', opts)[0]!.bytes.length).toBe(1000);
  });

  it('should stop inflating an entry that lies about its size', () => {
    const bomb = zipSync({ 'a.txt': new Uint8Array(5_000_000) }, { level: 9 });
    // Rewrite the declared uncompressed size (central directory offset 24, local header offset 22) to 100 bytes.
    const view = new DataView(bomb.buffer, bomb.byteOffset, bomb.byteLength);
    const cd = view.getUint32(bomb.length - 22 + 16, true);
    view.setUint32(cd + 24, 100, true);
    view.setUint32(22, 100, true);
    expect(expectCode(() => unpackArchive(bomb, 'up.zip'), 'TOO_LARGE').message).toContain('declared size');
  });

  it('should refuse too many files, a too large upload and a gzip bomb with TOO_LARGE', () => {
    const many = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`f${i}.txt`, enc.encode('x')]));
    expectCode(() => unpackArchive(zipSync(many), 'up.zip', { maxFileCount: 10 }), 'TOO_LARGE');
    expectCode(() => unpackArchive(new Uint8Array(2000), 'a.txt', { maxArchiveBytes: 1000 }), 'TOO_LARGE');
    expectCode(() => unpackArchive(gzipSync(new Uint8Array(3_000_000)), 'a.jsonl.gz', { maxUnpackedBytes: 1_000_000 }), 'TOO_LARGE');
    expectCode(() => unpackArchive(tar([{ name: 'a.txt', content: 'x'.repeat(2000) }]), 'up.tar', { maxUnpackedBytes: 1000 }), 'TOO_LARGE');
  });

  it('should refuse damaged archives with MALFORMED_ARCHIVE', () => {
    expectCode(() => unpackArchive(enc.encode('not a zip'), 'up.zip'), 'MALFORMED_ARCHIVE');
    const t = tar([{ name: 'a.txt', content: 'hola' }]);
    t[0] = 'b'.charCodeAt(0); // checksum no longer matches
    expectCode(() => unpackArchive(t, 'up.tar'), 'MALFORMED_ARCHIVE');
    expectCode(() => unpackArchive(tar([{ name: 'a.txt', content: 'hola', size: 4096 }]).subarray(0, 1024), 'up.tar'), 'MALFORMED_ARCHIVE');
  });
});

describe(zipFiles.name, () => {
  it('should zip files that unzip to the same paths and bytes, the same bytes every time', () => {
    const files = [{ path: 'train/a.txt', bytes: enc.encode('\uFEFFhola\r\n') }, { path: 'train/a.ann', bytes: enc.encode('') }];
    const zipped = zipFiles(files);
    expect(unzipSync(zipped)).toEqual({ 'train/a.txt': files[0]!.bytes, 'train/a.ann': files[1]!.bytes });
    expect(zipFiles(files)).toEqual(zipped);
    expect(paths(unpackArchive(zipped, 'x.zip'))).toEqual(['train/a.ann', 'train/a.txt']);
  });
});
