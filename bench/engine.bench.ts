/**
 * Engine benchmark against PyTorch, measured in the same run on the same machine.
 *   npm run build && node dist/bench/engine.bench.js [--only encoder,decoder,generate,bert-base] [--iters N]
 *
 * For each configuration the engine is timed first, then the PyTorch peer script
 * (bench/pytorch/bench.py, same shapes, 2 threads, fp32, AdamW, dropout 0) for the same
 * configuration, so both see the same machine load. When `python3 -c "import torch"` fails
 * (on PATH and /usr/bin/python3), the reference numbers below are printed instead, marked
 * "reference, not measured". Method and results: docs/engine-benchmark.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '../src/engine/generation/index.js';
import { parseConfig, type Gpt2Config } from '../src/engine/io/config.js';
import { parseEncoderConfig } from '../src/engine/models/bert/config.js';
import { EncoderModel } from '../src/engine/models/bert/model.js';
import { CausalLMModel } from '../src/engine/models/causal-lm.js';
import { gpt2 } from '../src/engine/models/gpt2/index.js';
import { AdamW } from '../src/engine/optim/adamw.js';

const THREADS = 2;

/** PyTorch 1.13 (Debian python3-torch), OpenBLAS SkylakeX, tcmalloc, 2 threads: median ms (generation: new tokens/s). */
const REFERENCE: Record<string, number> = {
  'encoder.train': 262,
  'encoder.forward': 77,
  'decoder.train': 874,
  'generate.b1': 183,
  'generate.b16': 1264,
  'bert-base.train': 2350,
};

interface Args {
  only: Set<string>;
  iters: number;
  warmup: number;
  child?: string;
  noTorch: boolean;
}

function parseArgs(): Args {
  const a = process.argv.slice(2);
  const get = (k: string): string | undefined => {
    const i = a.indexOf(k);
    return i >= 0 ? a[i + 1] : undefined;
  };
  return {
    only: new Set((get('--only') ?? 'encoder,decoder,generate,bert-base').split(',')),
    iters: Number(get('--iters') ?? 7),
    warmup: Number(get('--warmup') ?? 2),
    child: get('--child'),
    noTorch: a.includes('--no-torch'),
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above the benchmark');
    dir = up;
  }
  return dir;
}

async function timeIt(fn: () => Promise<unknown> | unknown, warmup: number, iters: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const ts: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t = performance.now();
    await fn();
    ts.push(performance.now() - t);
  }
  return ts;
}

function randomIds(n: number, V: number, seed: number): Int32Array {
  let s = seed >>> 0 || 1;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) % V;
  }
  return out;
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

// ------------------------------------------------------------------------------ engine side

interface EngineRow {
  name: string;
  ms: number;
  tokens: number;
  /** Generation rows: new tokens per second. */
  tokensPerSecond?: number;
  detail?: string;
  peakRssMiB?: number;
}

async function benchEncoder(name: string, dims: { C: number; L: number; H: number; F: number; B: number }, a: Args, forward: boolean): Promise<EngineRow[]> {
  const labels = 43;
  const config = parseEncoderConfig({
    model_type: 'bert', vocab_size: 30522, hidden_size: dims.C, num_hidden_layers: dims.L, num_attention_heads: dims.H,
    intermediate_size: dims.F, max_position_embeddings: 512, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0,
    id2label: Object.fromEntries(Array.from({ length: labels }, (_, i) => [i, `L${i}`])),
  });
  const model = EncoderModel.fromConfig(config, { seed: 0, intraOpThreads: THREADS });
  const T = 128;
  const n = dims.B * T;
  const batch = { batchSize: dims.B, seqLen: T, inputIds: randomIds(n, 30522, 1), labels: randomIds(n, labels, 2) };
  const opt = new AdamW({ lr: 1e-4 });
  const rows: EngineRow[] = [];
  let lg = 0;
  let os = 0;
  const warm = name === 'bert-base' ? 1 : a.warmup;
  const iters = name === 'bert-base' ? 3 : a.iters;
  const lgs: number[] = [];
  const oss: number[] = [];
  const step = await timeIt(async () => {
    let t = performance.now();
    const { grads } = await model.lossAndGrads(batch);
    lg = performance.now() - t;
    t = performance.now();
    opt.step(model.params, grads);
    os = performance.now() - t;
    lgs.push(lg);
    oss.push(os);
  }, warm, iters);
  rows.push({ name: `${name}.train`, ms: median(step), tokens: n, detail: `forward+backward ${median(lgs.slice(warm)).toFixed(0)} ms, AdamW ${median(oss.slice(warm)).toFixed(0)} ms` });
  if (forward) {
    const f = await timeIt(() => model.forward(batch), a.warmup, a.iters);
    rows.push({ name: `${name}.forward`, ms: median(f), tokens: n });
  }
  await model.release();
  return rows;
}

function decoderConfig(): Gpt2Config {
  return parseConfig({ model_type: 'gpt2', vocab_size: 8000, n_embd: 384, n_layer: 6, n_head: 6, n_inner: 1536, n_positions: 1024 }) as Gpt2Config;
}

async function benchDecoder(a: Args): Promise<EngineRow[]> {
  const model = CausalLMModel.fromConfig(gpt2, decoderConfig(), { seed: 0, intraOpThreads: THREADS });
  const B = 16;
  const T = 128;
  const ids = randomIds(B * T, 8000, 3);
  const batch = { batchSize: B, seqLen: T, inputIds: ids, labels: ids };
  const opt = new AdamW({ lr: 1e-4 });
  const lgs: number[] = [];
  const oss: number[] = [];
  const step = await timeIt(async () => {
    let t = performance.now();
    const { grads } = await model.lossAndGrads(batch);
    lgs.push(performance.now() - t);
    t = performance.now();
    opt.step(model.params, grads);
    oss.push(performance.now() - t);
  }, a.warmup, a.iters);
  await model.dispose();
  return [{ name: 'decoder.train', ms: median(step), tokens: B * T, detail: `forward+backward ${median(lgs.slice(a.warmup)).toFixed(0)} ms, AdamW ${median(oss.slice(a.warmup)).toFixed(0)} ms` }];
}

const PROMPT = 32;
const NEW = 64;

async function benchGenerate(a: Args): Promise<EngineRow[]> {
  const model = CausalLMModel.fromConfig(gpt2, decoderConfig(), { seed: 0, intraOpThreads: THREADS });
  const rows: EngineRow[] = [];
  for (const B of [1, 16]) {
    const ids = randomIds(B * PROMPT, 8000, 4 + B);
    const prompts = Array.from({ length: B }, (_, b) => Array.from(ids.subarray(b * PROMPT, (b + 1) * PROMPT)));
    const ts = await timeIt(() => generate(model, prompts, { maxNewTokens: NEW }), 1, Math.max(3, a.iters >> 1));
    const ms = median(ts);
    rows.push({ name: `generate.b${B}`, ms, tokens: B * NEW, tokensPerSecond: (B * NEW * 1000) / ms });
  }
  await model.dispose();
  return rows;
}

/** BERT-base in a child process of its own, so its peak RSS is its own. */
function benchBertBaseChild(): EngineRow[] {
  const script = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [script, '--child', 'bert-base'], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bert-base child failed: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as EngineRow[];
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
  // OpenBLAS misdetects these VMs' CPU (it reports "Prescott": 4× slower GEMM); name the core as the CPU flags say.
  if (!env.OPENBLAS_CORETYPE) {
    try {
      const flags = readFileSync('/proc/cpuinfo', 'utf8');
      if (/\bavx512f\b/.test(flags)) env.OPENBLAS_CORETYPE = 'SkylakeX';
      else if (/\bavx2\b/.test(flags)) env.OPENBLAS_CORETYPE = 'Haswell';
    } catch {
      /* not Linux */
    }
  }
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

interface TorchRow {
  name: string;
  ms: number;
  tokensPerSecond?: number;
}

function runTorch(t: TorchRunner, only: string, a: Args): TorchRow[] {
  const script = path.join(repoRoot(), 'bench/pytorch/bench.py');
  const r = spawnSync(t.python, [script, '--only', only, '--iters', String(a.iters), '--warmup', String(a.warmup), '--prompt', String(PROMPT), '--new', String(NEW)], {
    encoding: 'utf8',
    env: t.env,
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) {
    console.error(`PyTorch peer failed for ${only}: ${r.stderr.slice(-2000)}`);
    return [];
  }
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as TorchRow)
    .filter((x) => x.name !== 'info');
}

// ------------------------------------------------------------------------------ main

async function main(): Promise<void> {
  const a = parseArgs();
  if (a.child === 'bert-base') {
    const rows = await benchEncoder('bert-base', { C: 768, L: 12, H: 12, F: 3072, B: 8 }, a, false);
    rows[0]!.peakRssMiB = peakRssMiB();
    console.log(JSON.stringify(rows));
    return;
  }
  const torch = a.noTorch ? null : findTorch();
  console.log(`engine: onnxruntime-node CPU, ${THREADS} intra-op threads; PyTorch: ${torch ? torch.note : 'not available — reference numbers, not measured'}`);
  console.log(`median of ${a.iters} steps after ${a.warmup} warm-up (BERT-base: 3 after 1; generation: ${Math.max(3, a.iters >> 1)} runs after 1, prompt ${PROMPT}, ${NEW} new tokens, greedy)\n`);
  const table: string[][] = [];
  const add = (e: EngineRow, tr: TorchRow[] | null): void => {
    const gen = e.tokensPerSecond !== undefined;
    const t = tr?.find((x) => x.name === e.name);
    const ref = REFERENCE[e.name]!;
    const peer = t ? (gen ? t.tokensPerSecond! : t.ms) : ref;
    const mine = gen ? e.tokensPerSecond! : e.ms;
    // ratio > 1: the engine is faster
    const ratio = gen ? mine / peer : peer / mine;
    const tps = gen ? e.tokensPerSecond! : (e.tokens * 1000) / e.ms;
    table.push([
      e.name,
      e.ms.toFixed(0),
      tps.toFixed(0),
      t ? (gen ? `${peer.toFixed(0)} tok/s` : `${peer.toFixed(0)} ms`) : `${gen ? `${ref} tok/s` : `${ref} ms`} (reference, not measured)`,
      `${ratio.toFixed(2)}×`,
      [e.detail, e.peakRssMiB !== undefined ? `peak RSS ${(e.peakRssMiB / 1024).toFixed(2)} GiB` : undefined].filter(Boolean).join('; '),
    ]);
    console.log(`  ${table[table.length - 1]!.join(' | ')}`);
  };
  const sections: Array<[string, () => Promise<EngineRow[]>]> = [
    ['encoder', () => benchEncoder('encoder', { C: 256, L: 4, H: 4, F: 1024, B: 16 }, a, true)],
    ['decoder', () => benchDecoder(a)],
    ['generate', () => benchGenerate(a)],
    ['bert-base', async () => benchBertBaseChild()],
  ];
  for (const [key, run] of sections) {
    if (!a.only.has(key)) continue;
    const rows = await run();
    const tr = torch ? runTorch(torch, key, a) : null;
    for (const r of rows) add(r, tr);
  }
  const head = ['config', 'engine ms', 'engine tok/s', 'PyTorch', 'speed vs PyTorch', 'notes'];
  console.log(`\n| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`);
  for (const r of table) console.log(`| ${r.join(' | ')} |`);
  console.log('\n(speed vs PyTorch > 1: the engine is faster; training tok/s = batch tokens per step; generation tok/s = new tokens/s)');
}

await main();
