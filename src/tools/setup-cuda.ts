// Opt-in installer for the CUDA execution provider, from the npm registry only (onnxruntime-node's own
// postinstall fetches it from a host these machines cannot reach). Not part of the default install or CI.
//
// Why a separate .cuda/ directory: the registry's CUDA provider (com.github.asus4.onnxruntime.linux-x64-gpu
// 0.4.9) is built from ONNX Runtime 1.29.0, and a provider library talks to the core through ORT's internal
// ProviderHost interface, which is not stable across releases; our dependency's core is 1.30.0. So the
// provider goes beside an onnxruntime-node@1.29.0 binding in .cuda/, never beside our 1.30.0 core.
// Once it is there, the engine runs on that runtime for every device (src/engine/runtime/session.ts).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CUDA_PROVIDER_LIBRARIES, cudaProblems, cudaRuntimeDir } from '../engine/runtime/cuda.js';

const CUDA_DIR = cudaRuntimeDir();
const CORE = 'onnxruntime-node@1.29.0';
const PROVIDER = 'com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9';

function bindingDir(root: string): string {
  const bin = join(root, 'node_modules', 'onnxruntime-node', 'bin');
  const napi = readdirSync(bin).find((d) => d.startsWith('napi-v'));
  if (!napi) throw new Error(`no napi binding under ${bin}`);
  return join(bin, napi, 'linux', 'x64');
}

function main(): void {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.error(`setup:cuda: the registry's CUDA provider exists for linux-x64 only, not ${process.platform}-${process.arch}`);
    process.exit(1);
  }
  mkdirSync(CUDA_DIR, { recursive: true });
  writeFileSync(join(CUDA_DIR, 'package.json'), JSON.stringify({ private: true, name: 'ort-cuda' }) + '\n');
  const dest = join(CUDA_DIR, 'node_modules', 'onnxruntime-node');
  if (!existsSync(join(CUDA_DIR, 'node_modules', 'com.github.asus4.onnxruntime.linux-x64-gpu'))) {
    console.log(`setup:cuda: installing ${CORE} and ${PROVIDER} (179 MB) into ${CUDA_DIR}`);
    // --ignore-scripts: onnxruntime-node's postinstall would try the unreachable CUDA feed.
    execFileSync('npm', ['install', '--prefix', CUDA_DIR, '--ignore-scripts', '--no-audit', '--no-fund', '--no-save', CORE, PROVIDER], {
      stdio: 'inherit',
    });
  }
  if (!existsSync(dest)) throw new Error(`setup:cuda: ${CORE} did not install into ${dest}`);
  const plugins = join(CUDA_DIR, 'node_modules', 'com.github.asus4.onnxruntime.linux-x64-gpu', 'Plugins', 'Linux', 'x64');
  const target = bindingDir(CUDA_DIR);
  for (const lib of CUDA_PROVIDER_LIBRARIES) copyFileSync(join(plugins, lib), join(target, lib));
  console.log(`setup:cuda: CUDA provider ${CUDA_PROVIDER_LIBRARIES.join(', ')} placed beside the ${CORE} binding in ${target}`);
  console.log(`setup:cuda: from now on the engine runs on this onnxruntime-node ${CORE.split('@')[1]} for every device; remove ${CUDA_DIR} to go back`);

  const problems = cudaProblems(join(target, 'libonnxruntime_providers_cuda.so'));
  if (problems.length) {
    console.error(`setup:cuda: installed, but CUDA cannot run on this machine:\n  - ${problems.join('\n  - ')}`);
    process.exit(1);
  }
  console.log('setup:cuda: CUDA libraries and an NVIDIA GPU found; run `npm run check:device -- --device cuda` to verify.');
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) main();
