// Opt-in installer for the CUDA execution provider, from the npm registry only (onnxruntime-node's own
// postinstall fetches it from a host these machines cannot reach). Not part of the default install or CI.
//
// Why a separate .cuda/ directory: the registry's CUDA provider (com.github.asus4.onnxruntime.linux-x64-gpu
// 0.4.9) is built from ONNX Runtime 1.29.0, and a provider library talks to the core through ORT's internal
// ProviderHost interface, which is not stable across releases; our dependency's core is 1.30.0. So the
// provider goes beside an onnxruntime-node@1.29.0 binding in .cuda/, never beside our 1.30.0 core.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

export const CUDA_DIR = resolve(process.env.ORT_CUDA_DIR ?? '.cuda');
const CORE = 'onnxruntime-node@1.29.0';
const PROVIDER = 'com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9';
const PROVIDER_LIBS = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];
// Loaded with dlopen at run time, so ldd does not list it; the provider fails without it.
const DLOPENED = ['libcudnn.so.9'];

function bindingDir(root: string): string {
  const bin = join(root, 'node_modules', 'onnxruntime-node', 'bin');
  const napi = readdirSync(bin).find((d) => d.startsWith('napi-v'));
  if (!napi) throw new Error(`no napi binding under ${bin}`);
  return join(bin, napi, 'linux', 'x64');
}

/** Shared libraries the provider needs that the dynamic loader cannot find here (ldd plus the dlopen'ed ones). */
export function missingLibraries(providerLib: string): string[] {
  const ldd = spawnSync('ldd', [providerLib], { encoding: 'utf8' });
  const missing = [...(ldd.stdout ?? '').matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]!);
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean);
  const cache = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' }).stdout ?? '';
  for (const lib of DLOPENED) {
    if (!dirs.some((d) => existsSync(join(d, lib))) && !cache.includes(lib)) missing.push(lib);
  }
  return missing;
}

export function hasNvidiaGpu(): boolean {
  return existsSync('/dev/nvidia0') || existsSync('/proc/driver/nvidia/version');
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
  for (const lib of PROVIDER_LIBS) copyFileSync(join(plugins, lib), join(target, lib));
  console.log(`setup:cuda: CUDA provider ${PROVIDER_LIBS.join(', ')} placed beside the ${CORE} binding in ${target}`);

  const problems: string[] = [];
  const missing = missingLibraries(join(target, 'libonnxruntime_providers_cuda.so'));
  if (missing.length) {
    problems.push(
      `missing CUDA libraries: ${missing.join(', ')} (install CUDA 13 and cuDNN 9, or put the lib directories of ` +
        `torch's nvidia-* wheels on LD_LIBRARY_PATH; see docs/gpu.md)`,
    );
  }
  if (!hasNvidiaGpu()) problems.push('no NVIDIA GPU: neither /dev/nvidia0 nor /proc/driver/nvidia/version exists');
  if (problems.length) {
    console.error(`setup:cuda: installed, but CUDA cannot run on this machine:\n  - ${problems.join('\n  - ')}`);
    process.exit(1);
  }
  console.log('setup:cuda: CUDA libraries and an NVIDIA GPU found; run `npm run check:device -- --device cuda` to verify.');
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) main();
