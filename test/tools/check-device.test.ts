// check:device as its users run it (the compiled CLI, `npm test` builds first): the fixture part on
// the CPU passes, a device that cannot start fails at once with the engine's message, and the
// modules the air-gapped bundle packs import no server code.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasNvidiaGpu } from '../../src/engine/runtime/cuda.js';
import { moduleClosure } from '../../src/tools/bundle-device.js';
import { REPO_ROOT } from '../support/paths.js';

const CLI = join(REPO_ROOT, 'dist/src/tools/check-device.js');
const check = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('check:device', () => {
  it('should pass the five Hugging Face fixtures on the CPU and exit 0', () => {
    const r = check('--device', 'cpu', '--only', 'fixtures', '--threads', '2');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    for (const name of ['bert-tiny-ner', 'roberta-tiny-ner', 'gpt2-tiny', 'llama-tiny', 'llama-tiny-lora']) expect(r.stdout).toMatch(new RegExp(`^PASS ${name} +logits `, 'm'));
    expect(r.stdout).toMatch(/^RESULT: PASS — device cpu; fixtures 5\/5 PASS/m);
  });

  it('should fail at once with the engine\'s message for cuda, running nothing on the CPU', () => {
    // No CUDA runtime is installed in a clean checkout (setup:cuda is opt-in).
    const r = check('--device', 'cuda', '--only', 'fixtures');
    expect(r.status).toBe(2);
    expect(r.stdout).toContain("FAIL device cuda cannot start: device 'cuda' is unavailable:");
    expect(r.stdout).not.toMatch(/^PASS/m);
    expect(r.stdout).toMatch(/^RESULT: FAIL — device cuda unavailable/m);
    expect(r.stdout).toContain('npm run setup:cuda');
  });

  it('should refuse an unknown device or part, naming the choices', () => {
    const r = check('--device', 'tpu');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--device must be one of cpu, webgpu, cuda');
    expect(check('--only', 'fixture').stderr).toContain('--only takes fixtures, bench, tagger');
  });
});

// What setup:cuda leaves (an onnxruntime-node folder with the CUDA provider beside its binding), made
// here from our own onnxruntime-node and a provider file that is no library: the engine must run on
// that folder's runtime for every device, and cuda must fail naming what the machine lacks.
describe('check:device on a CUDA runtime folder', () => {
  const fake = mkdtempSync(join(tmpdir(), 'ort-cuda-'));
  afterAll(() => rmSync(fake, { recursive: true, force: true }));
  const ours = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  const pkg = join(fake, 'node_modules', 'onnxruntime-node');
  const binding = join('bin', 'napi-v6', 'linux', 'x64');
  mkdirSync(join(pkg, binding), { recursive: true });
  cpSync(join(ours, 'package.json'), join(pkg, 'package.json'));
  cpSync(join(ours, 'dist'), join(pkg, 'dist'), { recursive: true });
  for (const lib of ['onnxruntime_binding.node', 'libonnxruntime.so.1']) cpSync(join(ours, binding, lib), join(pkg, binding, lib));
  writeFileSync(join(pkg, binding, 'libonnxruntime_providers_cuda.so'), '');
  const common = [join(ours, 'node_modules', 'onnxruntime-common'), join(dirname(ours), 'onnxruntime-common')].find((d) => existsSync(d))!;
  symlinkSync(common, join(fake, 'node_modules', 'onnxruntime-common'));
  const checkOn = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ORT_CUDA_DIR: fake } });

  it('should run the CPU on that folder\'s onnxruntime', () => {
    const r = checkOn('--device', 'cpu', '--only', 'fixtures', '--threads', '2');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`(with the CUDA provider, from ${pkg})`);
  });

  it('should fail cuda with onnxruntime\'s message and what this machine lacks', () => {
    const r = checkOn('--device', 'cuda', '--only', 'fixtures');
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/FAIL device cuda cannot start: device 'cuda' is unavailable: .*Failed to load shared library/);
    expect(r.stdout).not.toContain('no CUDA runtime is installed');
    if (!hasNvidiaGpu()) expect(r.stdout).toContain('no NVIDIA GPU');
  });
});

describe('bundle:device module closure', () => {
  it('should pack only onnxruntime-node and the tokenizers for the check (no Prisma, GraphQL or server code)', () => {
    const { files, packages } = moduleClosure(CLI);
    expect([...packages].sort()).toEqual(['@huggingface/tokenizers', 'onnxruntime-node']);
    expect(files.filter((f) => /dist\/src\/(db|server|resolvers|jobs|generated)\//.test(f))).toEqual([]);
  });
});
