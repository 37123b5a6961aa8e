import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missingLibraries } from '../../src/engine/runtime/cuda.js';

// The setup step's report of what CUDA lacks, on real shared objects: onnxruntime-node's binding copied
// away from its libonnxruntime.so.1 has a dependency the loader cannot find, like the CUDA provider here.
const bindingDir = (() => {
  const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  const bin = join(pkg, 'bin');
  return join(bin, readdirSync(bin).find((d) => d.startsWith('napi-v'))!, 'linux', 'x64');
})();
const tmp = mkdtempSync(join(tmpdir(), 'setup-cuda-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('setup:cuda missing-library report', () => {
  it('should name a shared library the loader cannot find', () => {
    copyFileSync(join(bindingDir, 'onnxruntime_binding.node'), join(tmp, 'binding.node'));
    expect(missingLibraries(join(tmp, 'binding.node'))).toContain('libonnxruntime.so.1');
    expect(missingLibraries(join(bindingDir, 'onnxruntime_binding.node'))).not.toContain('libonnxruntime.so.1');
  });

  it('should look for the dlopened cuDNN on LD_LIBRARY_PATH', () => {
    const saved = process.env.LD_LIBRARY_PATH;
    try {
      process.env.LD_LIBRARY_PATH = tmp;
      writeFileSync(join(tmp, 'libcudnn.so.9'), '');
      expect(missingLibraries(join(bindingDir, 'onnxruntime_binding.node'))).not.toContain('libcudnn.so.9');
      rmSync(join(tmp, 'libcudnn.so.9'));
      const cached = /libcudnn\.so\.9/.test(spawnSync('ldconfig', ['-p'], { encoding: 'utf8' }).stdout ?? '');
      if (!cached) expect(missingLibraries(join(bindingDir, 'onnxruntime_binding.node'))).toContain('libcudnn.so.9');
    } finally {
      process.env.LD_LIBRARY_PATH = saved;
    }
  });
});
