/**
 * Engine benchmark against PyTorch, measured in the same run on the same machine.
 *   npm run build && node dist/bench/engine.bench.js [--only encoder,mlm,decoder,generate,bert-base] [--iters N]
 *
 * The PyTorch peer (bench/pytorch/bench.py --serve: same shapes, 2 threads, fp32, AdamW,
 * dropout 0) runs as a child process driven step by step: after the warm-up, every engine call
 * is followed by one PyTorch call, so both see the same machine load, and each side's median is
 * reported. When `python3 -c "import torch"` fails (on PATH and /usr/bin/python3), the reference
 * numbers below are printed instead, marked "reference, not measured". Options: --iters N,
 * --warmup N, --no-torch, --only encoder,mlm,decoder,generate,bert-base (mlm: encoder.mlm, the
 * same encoder's masked-LM pre-training step), --gap MS (idle time after each call, default 300),
 * --device cpu|webgpu|cuda (the engine's; PyTorch stays on the CPU; on a GPU each session's placement
 * report is printed, src/engine/runtime/placement.ts), --quick (encoder, decoder and
 * generation only; 1 warm-up call, 3 timed), --contend (a competing training process runs beside
 * every configuration's calls: see Contender).
 * Method and results: docs/engine-benchmark.md.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describePlacement, onPlacementReport } from '../src/engine/runtime/placement.js';
import { DEVICES, type Device } from '../src/engine/runtime/session.js';
import { encoderWorkloads, median, NEW, PROMPT, SECTIONS, TOKENS, workloads as buildWorkloads, type Workloads } from '../src/bench/engine-workloads.js';
import { rerunWithMallocEnv } from '../src/bench/malloc-env.js';
import { PROJECT_ROOT } from '../src/common/paths.js';

const THREADS = 2;
/** The engine's device (`--device`, default cpu); PyTorch always runs on the CPU. */
const DEVICE = ((): Device => {
  const i = process.argv.indexOf('--device');
  const d = i >= 0 ? process.argv[i + 1] : 'cpu';
  if (!DEVICES.includes(d as Device)) throw new Error(`--device must be one of ${DEVICES.join(', ')}`);
  return d as Device;
})();
const ENGINE = { seed: 0, intraOpThreads: THREADS, device: DEVICE };

/** PyTorch 1.13 (Debian python3-torch), OpenBLAS SkylakeX, tcmalloc, 2 threads: median ms (generation: new tokens/s). */
const REFERENCE: Record<string, number> = {
  'encoder.train': 262,
  'encoder.forward': 77,
  // not under the conditions above: 2026-12-06 on a loaded VM (load 5–6 on 2 cores), OpenBLAS Haswell, no tcmalloc (docs/engine-benchmark.md)
  'encoder.mlm': 3416,
  'decoder.train': 874,
  'generate.b1': 183,
  'generate.b16': 1264,
  'bert-base.train': 2350,
};

interface Args {
  only: Set<string>;
  iters: number;
  warmup: number;
  serve: boolean;
  noTorch: boolean;
  gapMs: number;
  contend: boolean;
  contender: boolean;
}

function parseArgs(): Args {
  const a = process.argv.slice(2);
  const get = (k: string): string | undefined => {
    const i = a.indexOf(k);
    return i >= 0 ? a[i + 1] : undefined;
  };
  const quick = a.includes('--quick');
  return {
    only: new Set((get('--only') ?? (quick ? 'encoder,decoder,generate' : SECTIONS.join(','))).split(',')),
    iters: Number(get('--iters') ?? (quick ? 3 : 7)),
    warmup: Number(get('--warmup') ?? (quick ? 1 : 2)),
    serve: a.includes('--serve'),
    noTorch: a.includes('--no-torch'),
    gapMs: Number(get('--gap') ?? 300),
    contend: a.includes('--contend'),
    contender: a.includes('--contender'),
  };
}

function peakRssMiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    /* not Linux */
  }
  return process.resourceUsage().maxRSS / 1024;
}

// ------------------------------------------------------------------------------ engine side (src/bench/engine-workloads.ts)

const workloads = (section: string): Workloads => buildWorkloads(section, ENGINE);

/** --serve: the same line protocol as bench/pytorch/bench.py (BERT-base runs in such a child, for its own peak RSS). */
async function serve(): Promise<void> {
  const rl = createInterface({ input: process.stdin });
  let w: Workloads | undefined;
  const say = (o: unknown): void => void process.stdout.write(JSON.stringify(o) + '\n');
  say({ engine: true });
  for await (const line of rl) {
    const msg = JSON.parse(line) as { setup?: string; run?: string; detail?: string; quit?: boolean };
    if (msg.setup) {
      await w?.release();
      w = workloads(msg.setup);
      say({ names: w.names });
    } else if (msg.run) {
      const t = performance.now();
      const steps = (await w!.get(msg.run).run()) ?? 1;
      say({ ms: (performance.now() - t) / steps });
    } else if (msg.detail) say({ detail: w!.get(msg.detail).detail?.() ?? '', peakRssMiB: peakRssMiB() });
    else if (msg.quit) break;
  }
  await w?.release();
  rl.close();
}

// ------------------------------------------------------------------------------ contention

/** The competing process's model: a small BERT (hidden 256, 2 layers, batch 4 × 128) trained on 1 intra-op thread. */
const CONTENDER = { C: 256, L: 2, H: 4, F: 1024, B: 4, threads: 1 };

/**
 * --contender: another training process, as a second job on the same machine would be: training
 * steps of a small encoder on one thread, back to back, until it is stopped (SIGTERM: it prints
 * how many steps it made and exits). It says `ready` after its first step.
 */
async function contender(): Promise<void> {
  const { threads, ...dims } = CONTENDER;
  const model = encoderWorkloads({ seed: 1, intraOpThreads: threads, device: 'cpu' }, 'contender', dims, false);
  const step = model.get('contender.train');
  let steps = 0;
  let stopping = false;
  process.once('SIGTERM', () => void (stopping = true));
  const started = performance.now();
  while (!stopping) {
    await step.run();
    if (steps++ === 0) process.stdout.write(JSON.stringify({ ready: true }) + '\n');
  }
  process.stdout.write(JSON.stringify({ steps, seconds: (performance.now() - started) / 1000 }) + '\n');
  await model.release();
}

/** A running contender: started before a configuration's warm-up, stopped after its last timed call. */
class Contention {
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: AsyncIterableIterator<string>,
  ) {}

  static async start(bench: string): Promise<Contention> {
    const child = spawn(process.execPath, [bench, '--contender'], { env: process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr.resume();
    const c = new Contention(child, createInterface({ input: child.stdout })[Symbol.asyncIterator]());
    const first = await c.lines.next();
    if (first.done) throw new Error('the contending process ended before its first training step');
    return c;
  }

  /** Stops it; returns its training steps per second while it ran. */
  async stop(): Promise<number> {
    this.child.kill('SIGTERM');
    const last = await this.lines.next();
    await new Promise((r) => (this.child.exitCode !== null ? r(null) : this.child.once('close', r)));
    if (last.done) return NaN;
    const { steps, seconds } = JSON.parse(last.value) as { steps: number; seconds: number };
    return steps / seconds;
  }
}

/** A child process speaking the line protocol. */
class Peer {
  private lines: AsyncIterableIterator<string>;
  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    this.lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  static async start(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Peer> {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => void (err = (err + d.toString()).slice(-4000)));
    const p = new Peer(child);
    child.on('exit', (code) => {
      if (code) console.error(`${cmd} exited with ${code}: ${err}`);
    });
    await p.read();
    return p;
  }

  async read(): Promise<Record<string, unknown>> {
    const r = await this.lines.next();
    if (r.done) throw new Error('peer process ended early');
    return JSON.parse(r.value) as Record<string, unknown>;
  }

  async ask(msg: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.child.stdin.write(JSON.stringify(msg) + '\n');
    return this.read();
  }

  async quit(): Promise<void> {
    this.child.stdin.write(JSON.stringify({ quit: true }) + '\n');
    this.child.stdin.end();
    await new Promise((r) => this.child.once('close', r));
  }
}

// ------------------------------------------------------------------------------ PyTorch side

interface TorchRunner {
  python: string;
  env: NodeJS.ProcessEnv;
  note: string;
}

function findTorch(): TorchRunner | null {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const notes: string[] = [];
  // OpenBLAS misdetects these VMs' CPU (it reports "Prescott": 4× slower GEMM), and some machines
  // here export OPENBLAS_CORETYPE=Haswell even on AVX-512 CPUs (1.4× slower GEMM for PyTorch):
  // name the core as the CPU flags say. TORCH_OPENBLAS_CORETYPE overrides.
  try {
    const flags = readFileSync('/proc/cpuinfo', 'utf8');
    if (/\bavx512f\b/.test(flags)) env.OPENBLAS_CORETYPE = 'SkylakeX';
    else if (/\bavx2\b/.test(flags)) env.OPENBLAS_CORETYPE = 'Haswell';
  } catch {
    /* not Linux: OpenBLAS's own detection */
  }
  if (env.TORCH_OPENBLAS_CORETYPE) env.OPENBLAS_CORETYPE = env.TORCH_OPENBLAS_CORETYPE;
  if (env.OPENBLAS_CORETYPE) notes.push(`OPENBLAS_CORETYPE=${env.OPENBLAS_CORETYPE}`);
  // torch's OpenMP threads spin-wait after each parallel region and fight OpenBLAS's own two
  // threads for the two cores: passive waiting made PyTorch 1.5–2.5× faster here.
  env.OMP_WAIT_POLICY ??= 'PASSIVE';
  notes.push(`OMP_WAIT_POLICY=${env.OMP_WAIT_POLICY}`);
  const tc = ['/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4', '/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4'].find((p) => existsSync(p));
  if (tc && !env.LD_PRELOAD) {
    env.LD_PRELOAD = tc;
    notes.push(`LD_PRELOAD=${path.basename(tc)}`);
  }
  for (const python of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', env });
    if (r.status === 0) return { python, env, note: `torch ${r.stdout.trim()} (${python}), 2 threads${notes.length ? ', ' + notes.join(', ') : ''}` };
  }
  return null;
}

// ------------------------------------------------------------------------------ main

interface Row {
  name: string;
  engineMs: number;
  torchMs?: number;
  tokens: number;
  generation: boolean;
  detail?: string;
  peakRssMiB?: number;
}

async function main(): Promise<void> {
  const a = parseArgs();
  if (!process.argv.includes('--no-malloc-env')) rerunWithMallocEnv(import.meta.url);
  if (a.contender) return contender();
  if (a.serve) return serve();
  const torch = a.noTorch ? null : findTorch();
  const bench = fileURLToPath(import.meta.url);
  const mallocNote = process.env.MALLOC_MMAP_THRESHOLD_ ? `, MALLOC_MMAP_THRESHOLD_=${process.env.MALLOC_MMAP_THRESHOLD_} MALLOC_TRIM_THRESHOLD_=${process.env.MALLOC_TRIM_THRESHOLD_}` : '';
  console.log(`engine: onnxruntime-node ${DEVICE}${DEVICE === 'cpu' ? `, ${THREADS} intra-op threads` : ''}${mallocNote}; PyTorch: ${torch ? torch.note : 'not available — reference numbers, not measured'}`);
  const { C, L, B, threads } = CONTENDER;
  console.log(
    a.contend
      ? `mode: CONTENDED — a second process trains a BERT (hidden ${C}, ${L} layers, batch ${B} × 128, ${threads} intra-op thread) back to back beside every configuration, from before its warm-up to after its last timed call`
      : 'mode: alone (no competing process started; other users of the machine may still load it)',
  );
  console.log(
    `each configuration: ${a.warmup} warm-up calls each, then ${a.iters} engine calls alternating with ${a.iters} PyTorch calls; medians ` +
      `(BERT-base: 2 + 3, engine in a child process of its own for its peak RSS; generation: prompt ${PROMPT}, ${NEW} new tokens, greedy, KV cache)\n`,
  );
  // On a GPU, where each session's nodes ran (runtime/placement.ts; not from BERT-base's child, whose stdout is the protocol)
  if (DEVICE !== 'cpu') onPlacementReport((r) => console.log(`  placement: ${describePlacement(r)}`));
  const rows: Row[] = [];
  const tpeer = torch ? await Peer.start(torch.python, [path.join(PROJECT_ROOT, 'bench/pytorch/bench.py'), '--serve', '--prompt', String(PROMPT), '--new', String(NEW)], torch.env) : null;
  for (const section of SECTIONS) {
    if (!a.only.has(section)) continue;
    const big = section === 'bert-base';
    const warm = big ? 2 : a.warmup;
    const iters = big ? 3 : section === 'generate' ? Math.max(3, a.iters >> 1) : a.iters;
    // the engine side: in this process, or (BERT-base) in a child of its own
    const child = big ? await Peer.start(process.execPath, [bench, '--serve', '--device', DEVICE], process.env) : null;
    const local = big ? null : workloads(section);
    const names = local ? local.names : ((await child!.ask({ setup: section })).names as string[]);
    if (tpeer) await tpeer.ask({ setup: section });
    for (const name of names) {
      const contention = a.contend ? await Contention.start(bench) : null;
      // Each side's call is followed by an idle gap, so the other side starts on an idle machine:
      // OpenBLAS's worker threads spin for ~0.1 s after each call (its THREAD_TIMEOUT).
      const settled = async (ms: number): Promise<number> => {
        await sleep(a.gapMs);
        return ms;
      };
      const runEngine = async (): Promise<number> => {
        if (!local) return settled((await child!.ask({ run: name })).ms as number);
        const t = performance.now();
        await local.get(name).run();
        return settled(performance.now() - t);
      };
      const runTorch = async (): Promise<number> => settled((await tpeer!.ask({ run: name })).ms as number);
      for (let i = 0; i < warm; i++) {
        await runEngine();
        if (tpeer) await runTorch();
      }
      const e: number[] = [];
      const t: number[] = [];
      for (let i = 0; i < iters; i++) {
        e.push(await runEngine());
        if (tpeer) t.push(await runTorch());
      }
      const contenderRate = await contention?.stop();
      let detail = local?.get(name).detail?.();
      let rss: number | undefined;
      if (child) {
        const d = await child.ask({ detail: name });
        detail = (d.detail as string) || undefined;
        rss = d.peakRssMiB as number;
      }
      if (contenderRate !== undefined) detail = [detail, `contender ${contenderRate.toFixed(2)} steps/s`].filter(Boolean).join('; ');
      const row: Row = { name, engineMs: median(e), tokens: TOKENS[name]!, generation: name.startsWith('generate'), ...(tpeer ? { torchMs: median(t) } : {}), ...(detail ? { detail } : {}), ...(rss !== undefined ? { peakRssMiB: rss } : {}) };
      rows.push(row);
      console.log(`  ${name}: engine ${e.map((x) => x.toFixed(0)).join(' ')}${tpeer ? ` | PyTorch ${t.map((x) => x.toFixed(0)).join(' ')}` : ''}${contenderRate !== undefined ? ` | contender ${contenderRate.toFixed(2)} steps/s` : ''}`);
    }
    await local?.release();
    await child?.quit();
  }
  await tpeer?.quit();

  const head = ['config', 'engine ms', 'engine tok/s', 'PyTorch ms', 'PyTorch tok/s', 'engine speed ÷ PyTorch', 'notes'];
  console.log(`\n| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
  for (const r of rows) {
    const ref = REFERENCE[r.name]!;
    const tps = (r.tokens * 1000) / r.engineMs;
    let tMs: string;
    let tTps: number;
    if (r.torchMs !== undefined) {
      tMs = r.torchMs.toFixed(0);
      tTps = (r.tokens * 1000) / r.torchMs;
    } else if (r.generation) {
      tTps = ref;
      tMs = `${((r.tokens * 1000) / ref).toFixed(0)} (reference, not measured)`;
    } else {
      tTps = (r.tokens * 1000) / ref;
      tMs = `${ref} (reference, not measured)`;
    }
    const notes = [r.detail, r.peakRssMiB !== undefined ? `peak RSS ${(r.peakRssMiB / 1024).toFixed(2)} GiB` : undefined].filter(Boolean).join('; ');
    console.log(`| ${r.name} | ${r.engineMs.toFixed(0)} | ${tps.toFixed(0)} | ${tMs} | ${tTps.toFixed(0)} | ${(tps / tTps).toFixed(2)}× | ${notes} |`);
  }
  console.log(`\n(> 1×: the engine is faster. Training tok/s: batch tokens per step; generation: new tokens per second, prefill included. Mode: ${a.contend ? 'contended, a training process beside every configuration' : 'alone'}.)`);
}

await main();
