// The CUDA runtime: where `npm run setup:cuda` installs it, and what a machine lacks to run it.
// The registry's CUDA provider is built for ONNX Runtime 1.29.0, so setup:cuda puts it beside an
// onnxruntime-node@1.29.0 binding in its own folder (docs/gpu.md); session.ts loads that runtime.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The CUDA provider's libraries, copied from the registry package beside the binding. */
export const CUDA_PROVIDER_LIBRARIES = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];
// Opened with dlopen at run time, so ldd does not list it; the provider fails without it.
const DLOPENED = ['libcudnn.so.9'];

/**
 * $ORT_CUDA_DIR, else `.cuda/` at the project root (dist/src/engine/runtime is four levels below
 * it, in the repository and in the device bundle alike).
 */
export function cudaRuntimeDir(): string {
  return path.resolve(process.env.ORT_CUDA_DIR ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../../.cuda'));
}

/** The CUDA provider library inside a CUDA runtime folder, or null when none is installed there. */
export function cudaProviderLibrary(dir = cudaRuntimeDir()): string | null {
  const bin = path.join(dir, 'node_modules', 'onnxruntime-node', 'bin');
  if (!fs.existsSync(bin)) return null;
  for (const napi of fs.readdirSync(bin)) {
    const lib = path.join(bin, napi, 'linux', 'x64', 'libonnxruntime_providers_cuda.so');
    if (fs.existsSync(lib)) return lib;
  }
  return null;
}

/** Shared libraries a library needs that the dynamic loader cannot find here (ldd, plus the provider's dlopen'ed ones). */
export function missingLibraries(library: string): string[] {
  const ldd = spawnSync('ldd', [library], { encoding: 'utf8' });
  const missing = [...(ldd.stdout ?? '').matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]!);
  const dirs = (process.env.LD_LIBRARY_PATH ?? '').split(path.delimiter).filter(Boolean);
  const cache = spawnSync('ldconfig', ['-p'], { encoding: 'utf8' }).stdout ?? '';
  for (const lib of DLOPENED) {
    if (!dirs.some((d) => fs.existsSync(path.join(d, lib))) && !cache.includes(lib)) missing.push(lib);
  }
  return missing;
}

export function hasNvidiaGpu(): boolean {
  return fs.existsSync('/dev/nvidia0') || fs.existsSync('/proc/driver/nvidia/version');
}

/** What keeps the installed CUDA provider from running on this machine, one line each; empty when nothing visible does. */
export function cudaProblems(providerLibrary: string): string[] {
  const problems: string[] = [];
  const missing = missingLibraries(providerLibrary);
  if (missing.length) {
    problems.push(
      `missing CUDA libraries: ${missing.join(', ')} (install CUDA 13 and cuDNN 9, or put the lib directories of ` +
        `torch's nvidia-* wheels on LD_LIBRARY_PATH; see docs/gpu.md)`,
    );
  }
  if (!hasNvidiaGpu()) problems.push('no NVIDIA GPU: neither /dev/nvidia0 nor /proc/driver/nvidia/version exists');
  return problems;
}
