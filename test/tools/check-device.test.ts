// check:device as its users run it (the compiled CLI, `npm test` builds first): the fixture part on
// the CPU passes, a device that cannot start fails at once with the engine's message, and the
// modules the air-gapped bundle packs import no server code.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
    // The engine does not load a CUDA provider yet (docs/gpu.md); when it does, this machine has no GPU.
    const r = check('--device', 'cuda', '--only', 'fixtures');
    expect(r.status).toBe(2);
    expect(r.stdout).toContain("FAIL device cuda cannot start: device 'cuda' is unavailable:");
    expect(r.stdout).not.toMatch(/^PASS/m);
    expect(r.stdout).toMatch(/^RESULT: FAIL — device cuda unavailable/m);
  });

  it('should refuse an unknown device or part, naming the choices', () => {
    const r = check('--device', 'tpu');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--device must be one of cpu, webgpu, cuda');
    expect(check('--only', 'fixture').stderr).toContain('--only takes fixtures, bench, tagger');
  });
});

describe('bundle:device module closure', () => {
  it('should pack only onnxruntime-node and the tokenizers for the check (no Prisma, GraphQL or server code)', () => {
    const { files, packages } = moduleClosure(CLI);
    expect([...packages].sort()).toEqual(['@huggingface/tokenizers', 'onnxruntime-node']);
    expect(files.filter((f) => /dist\/src\/(db|server|resolvers|jobs|generated)\//.test(f))).toEqual([]);
  });
});
