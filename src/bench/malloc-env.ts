import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * glibc malloc tunables (docs/engine-benchmark.md, "Method"): keep freed large blocks in the heap
 * instead of returning them to the OS, so the buffers onnxruntime-node allocates for outputs every
 * step reuse warm pages (first touch costs ~12 µs/page on these VMs). glibc reads them when the
 * process starts, so a script re-runs itself with them.
 */
export const MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: '33554432', MALLOC_TRIM_THRESHOLD_: '68719476736' };

/** Unless the tunables are set, runs the script at `moduleUrl` again with them and exits with its status. */
export function rerunWithMallocEnv(moduleUrl: string): void {
  if (process.env.MALLOC_MMAP_THRESHOLD_) return;
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(moduleUrl), ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, ...MALLOC_ENV } });
  process.exit(r.status ?? 1);
}
