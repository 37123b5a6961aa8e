/**
 * The device check as a self-contained bundle for servers with no network (docs/gpu.md,
 * "Air-gapped servers"):
 *   npm run build && npm run bundle:device [-- --out .bundle --max-part-mib 64 --cuda]
 * Writes `<out>/deid-device-check/` (this Node binary, the compiled modules the check imports, the
 * node_modules files they load, the hf-tiny fixtures, MEDDOCAN train and dev, `run-check.sh`) and
 * packs it as `<out>/deid-device-check.tar.gz`, split into `.part-NN` files of at most
 * --max-part-mib MiB when larger. A build output: `.bundle/` is ignored by git.
 * Fixtures and data come from --fixtures / --data, else check:device's defaults. --cuda also packs
 * the CUDA runtime `npm run setup:cuda` installed (onnxruntime-node 1.29.0 with the CUDA provider,
 * about 100 MiB more compressed) as the bundle's `.cuda/`, where the engine looks for it; the server
 * still needs the CUDA 13 and cuDNN 9 libraries (docs/gpu.md).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { MALLOC_ENV } from '../bench/malloc-env.js';
import { cudaProviderLibrary, cudaRuntimeDir } from '../engine/runtime/cuda.js';
import { defaultDataDir, defaultFixturesDir } from './check-device.js';

const NAME = 'deid-device-check';
const ENTRY = 'dist/src/tools/check-device.js';
/** The folder holding dist/ and node_modules/. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * The packages the check's modules import, and which of their files are loaded at run time:
 * onnxruntime-node's JavaScript and its linux-x64 binaries only (its other platforms are ~250 MB;
 * its dependencies adm-zip and global-agent serve its install script only), onnxruntime-common
 * (required by onnxruntime-node), the tokenizers' compiled build.
 */
const PACKAGES: Record<string, string[]> = {
  'onnxruntime-node': ['package.json', 'LICENSE', 'dist', `bin/napi-v6/linux/x64`],
  'onnxruntime-common': ['package.json', 'LICENSE', 'dist'],
  '@huggingface/tokenizers': ['package.json', 'LICENSE', 'dist'],
};

/** Relative modules (static, dynamic and `new URL(…, import.meta.url)`) and bare package names a compiled module loads (also through a `createRequire` require). */
function importsOf(file: string): { local: string[]; packages: string[] } {
  const src = fs.readFileSync(file, 'utf8');
  const specs = [
    ...src.matchAll(/^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/gm),
    ...src.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
    ...src.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...src.matchAll(/new URL\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g),
    ...src.matchAll(/\brequire\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((m) => m[1]!);
  const local: string[] = [];
  const packages: string[] = [];
  for (const s of specs) {
    if (s.startsWith('.')) local.push(path.resolve(path.dirname(file), s));
    else if (!s.startsWith('node:')) packages.push(s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!);
  }
  return { local, packages };
}

/** Every compiled module the entry loads, and the packages they import. */
export function moduleClosure(entry: string): { files: string[]; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    if (!fs.existsSync(file)) throw new Error(`${path.relative(ROOT, file)} is imported but missing; run \`npm run build\` first`);
    files.add(file);
    const { local, packages: p } = importsOf(file);
    p.forEach((x) => packages.add(x));
    local.forEach(visit);
  };
  visit(entry);
  return { files: [...files].sort(), packages };
}

function copy(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  // dereference: node_modules may be a link to another checkout's
  fs.cpSync(from, to, { recursive: true, dereference: true, filter: (f) => !f.endsWith('.map') && !f.endsWith('.d.ts') });
}

/** The given parts of `<fromRoot>/node_modules/<pkg>` into `<toRoot>/node_modules/<pkg>`. */
function copyPackage(fromRoot: string, toRoot: string, pkg: string, parts: string[]): void {
  const from = path.join(fromRoot, 'node_modules', pkg);
  for (const p of parts) if (fs.existsSync(path.join(from, p))) copy(path.join(from, p), path.join(toRoot, 'node_modules', pkg, p));
}

function du(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += fs.statSync(path.join(e.parentPath, e.name)).size;
  }
  return n;
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Writes a stream into `<base>.part-00`, `.part-01`, … of at most `maxBytes` each; returns the files. */
function partWriter(base: string, maxBytes: number): { sink: Writable; parts: string[] } {
  const parts: string[] = [];
  let fd = -1;
  let written = 0;
  const open = (): void => {
    if (fd >= 0) fs.closeSync(fd);
    const file = `${base}.part-${String(parts.length).padStart(2, '0')}`;
    parts.push(file);
    fd = fs.openSync(file, 'w');
    written = 0;
  };
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      try {
        let at = 0;
        while (at < chunk.length) {
          if (fd < 0 || written === maxBytes) open();
          const n = Math.min(chunk.length - at, maxBytes - written);
          fs.writeSync(fd, chunk, at, n);
          at += n;
          written += n;
        }
        done();
      } catch (e) {
        done(e as Error);
      }
    },
    final(done) {
      if (fd >= 0) fs.closeSync(fd);
      done();
    },
  });
  return { sink, parts };
}

export interface BundleOptions {
  out: string;
  fixtures: string;
  data: string;
  maxPartBytes: number;
  /** Pack setup:cuda's runtime from this folder (cudaRuntimeDir()) as `.cuda/`. */
  cudaRuntime?: string;
}

/** Builds the bundle folder and its archive; returns the archive's files. */
export async function buildBundle(o: BundleOptions, log: (line: string) => void = console.log): Promise<string[]> {
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`bundle:device packs linux-x64 binaries; this is ${process.platform}-${process.arch}`);
  for (const [what, dir] of [['fixtures', path.join(o.fixtures, 'bert-tiny-ner')], ['data', path.join(o.data, 'train')]] as const) {
    if (!fs.existsSync(dir)) throw new Error(`${dir} not found: pass --${what} (see docs/gpu.md)`);
  }
  const dir = path.join(o.out, NAME);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(o.out, { withFileTypes: true }).filter((e) => e.isFile() && e.name.startsWith(`${NAME}.tar.gz`))) fs.rmSync(path.join(o.out, f.name));

  // 1. Node and the compiled modules the check loads (the module type of dist/ comes from package.json)
  fs.copyFileSync(process.execPath, path.join(dir, 'node'));
  fs.chmodSync(path.join(dir, 'node'), 0o755);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: NAME, private: true, type: 'module' }, null, 2) + '\n');
  const { files, packages } = moduleClosure(path.join(ROOT, ENTRY));
  for (const f of files) copy(f, path.join(dir, path.relative(ROOT, f)));
  log(`bundle: node ${process.version} (${mib(fs.statSync(process.execPath).size)}), ${files.length} compiled modules`);

  // 2. node_modules: only what those modules import, only the files loaded at run time
  const unknown = [...packages].filter((p) => !PACKAGES[p]);
  if (unknown.length) throw new Error(`the check imports ${unknown.join(', ')}, which bundle-device.ts does not pack; add it to PACKAGES`);
  for (const [pkg, parts] of Object.entries(PACKAGES)) {
    copyPackage(ROOT, dir, pkg, parts);
    log(`bundle: node_modules/${pkg} (${parts.join(', ')}): ${mib(du(path.join(dir, 'node_modules', pkg)))}`);
  }

  // 3. fixtures and data, where the check looks for them beside dist/
  copy(o.fixtures, path.join(dir, 'fixtures/hf-tiny'));
  for (const p of ['train', 'dev', 'LICENSE', 'README.md']) if (fs.existsSync(path.join(o.data, p))) copy(path.join(o.data, p), path.join(dir, 'data/meddocan', p));
  log(`bundle: fixtures/hf-tiny ${mib(du(path.join(dir, 'fixtures')))}, data/meddocan (train, dev) ${mib(du(path.join(dir, 'data')))}`);

  // 3b. the CUDA runtime, where the engine looks for it (.cuda/ beside dist/)
  if (o.cudaRuntime) {
    if (!cudaProviderLibrary(o.cudaRuntime)) throw new Error(`${o.cudaRuntime} holds no CUDA runtime: run \`npm run setup:cuda\` first (it installs one there even on a machine without a GPU)`);
    for (const [pkg, parts] of Object.entries(PACKAGES).filter(([p]) => p.startsWith('onnxruntime-'))) copyPackage(o.cudaRuntime, path.join(dir, '.cuda'), pkg, parts);
    log(`bundle: .cuda (setup:cuda's onnxruntime-node with the CUDA provider, from ${o.cudaRuntime}): ${mib(du(path.join(dir, '.cuda')))}`);
  }

  // 4. the launcher
  const env = Object.entries(MALLOC_ENV).map(([k, v]) => `export ${k}="\${${k}:-${v}}"`);
  const launcher = [
    '#!/bin/sh',
    '# The device check with the bundled Node: ./run-check.sh --device cpu|webgpu|cuda [options]',
    '# (options: the header of dist/src/tools/check-device.js; docs/gpu.md in the repository).',
    'here=$(cd "$(dirname "$0")" && pwd)',
    "# glibc malloc tunables of the benchmarks (docs/engine-benchmark.md), read when the process starts",
    ...env,
    `exec "$here/node" "$here/${ENTRY}" "$@"`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'run-check.sh'), launcher, { mode: 0o755 });
  log(`bundle: ${dir}: ${mib(du(dir))} unpacked`);

  // 5. tar | gzip, in parts of at most maxPartBytes
  const base = path.join(o.out, `${NAME}.tar.gz`);
  const tar = spawn('tar', ['-C', o.out, '--owner=0', '--group=0', '-cf', '-', NAME], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number>((resolve) => tar.on('close', (code) => resolve(code ?? 1)));
  const { sink, parts } = partWriter(base, o.maxPartBytes);
  await pipeline(tar.stdout, createGzip({ level: 9 }), sink);
  if ((await exited) !== 0) throw new Error('tar failed (see its message above)');
  if (parts.length === 1) {
    fs.renameSync(parts[0]!, base);
    parts[0] = base;
  }
  for (const p of parts) log(`bundle: ${p} ${mib(fs.statSync(p).size)}`);
  const unpack = parts.length === 1 ? `tar xzf ${path.basename(base)}` : `cat ${path.basename(base)}.part-* | tar xz`;
  log(`carry ${parts.length === 1 ? 'it' : `the ${parts.length} parts`} to the server, then: ${unpack} && ./${NAME}/run-check.sh --device cuda`);
  return parts;
}

function main(): Promise<string[]> {
  const argv = process.argv.slice(2);
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const maxMib = Number(arg('max-part-mib') ?? 64);
  if (!(maxMib > 0)) throw new Error(`--max-part-mib must be a positive number`);
  return buildBundle({
    out: path.resolve(arg('out') ?? path.join(ROOT, '.bundle')),
    fixtures: path.resolve(arg('fixtures') ?? defaultFixturesDir()),
    data: path.resolve(arg('data') ?? defaultDataDir()),
    maxPartBytes: Math.floor(maxMib * 2 ** 20),
    ...(argv.includes('--cuda') ? { cudaRuntime: cudaRuntimeDir() } : {}),
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await main();
  } catch (e) {
    console.error(`bundle:device: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
}
