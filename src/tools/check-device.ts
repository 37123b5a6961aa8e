/**
 * The device check: does the engine compute the right numbers on a device, how fast, and does a
 * real training run there learn?
 *   npm run build && npm run check:device -- --device cpu|webgpu|cuda [options]
 * (in the air-gapped bundle: ./run-check.sh --device cuda [options]; docs/gpu.md)
 *
 * 0. The device starts: a one-op session is created and run on it. A device that cannot start
 *    (webgpu without an adapter, cuda without its provider) fails here at once with the engine's
 *    message, exit 2; nothing falls back to the CPU.
 * 1. fixtures: the five Hugging Face tiny fixtures' logits, loss and every gradient against the
 *    references, at the tolerances of the fixture tests (src/engine/check/hf-fixtures.ts).
 * 2. bench: the engine benchmark's workloads (src/bench/engine-workloads.ts), short: 1 warm-up and
 *    3 timed calls each, medians, no PyTorch peer; training as the training loop trains on the
 *    device (on a GPU with AdamW in the graph: src/engine/train/device-training.ts; on cuda a call
 *    is one run of 16 steps, timed per step). On a GPU device, bench and tagger print each
 *    session's placement report: the nodes that ran on the CPU by op and what they and the copies
 *    cost (src/engine/runtime/placement.ts).
 * 3. tagger: bench:tagger's from-scratch tagger (src/bench/tagger.ts) on MEDDOCAN train for a fixed
 *    number of steps, scored on dev; it fails below --min-entity-f1.
 * Exit 0 when everything passed, 1 on any failure, 2 when the device cannot start.
 *
 * Options (defaults in brackets): --device [cpu]; --only fixtures,bench,tagger [all];
 * --fixtures DIR [$HF_TINY, else fixtures/hf-tiny beside dist/, else ../shared/fixtures/hf-tiny];
 * --data DIR [$MEDDOCAN_DIR, else data/meddocan beside dist/, else ../shared/data/meddocan];
 * --threads N [all cores] (intra-op threads of the CPU provider); --bench-sections
 * [encoder,mlm,decoder,generate,bert-base]; --bench-iters [3]; --tagger-steps [354: 3 epochs of
 * all of train, the docs' tagger budget]; --tagger-dev N [all 250 dev documents];
 * --min-entity-f1 [0.5]; --budget-minutes [30]: the whole check's limit; the tagger is stopped and
 * fails when it runs out.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SECTIONS, timeSections, type Timing } from '../bench/engine-workloads.js';
import { rerunWithMallocEnv } from '../bench/malloc-env.js';
import { TAGGER_DEFAULTS, runTagger, type TaggerResult } from '../bench/tagger.js';
import { HF_TINY_FIXTURES, checkFixture, formatFixtureReport } from '../engine/check/hf-fixtures.js';
import { Graph } from '../engine/graph/index.js';
import * as op from '../engine/ops/index.js';
import { DEVICES, Session, describeRuntime, type Device } from '../engine/runtime/session.js';
import { describePlacement, onPlacementReport } from '../engine/runtime/placement.js';

const PARTS = ['fixtures', 'bench', 'tagger'] as const;
type Part = (typeof PARTS)[number];

/** The folder holding dist/: the repository, or the unpacked bundle. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface CheckOptions {
  device: Device;
  only: Set<Part>;
  fixtures: string;
  data: string;
  threads: number;
  benchSections: string[];
  benchIters: number;
  taggerSteps: number;
  taggerDev?: number;
  minEntityF1: number;
  budgetMinutes: number;
}

/** The first folder that exists, or the last candidate (so the error names where it looked). */
function firstExisting(candidates: Array<string | undefined>): string {
  const c = candidates.filter((x): x is string => !!x);
  return c.find((d) => fs.existsSync(d)) ?? c.at(-1)!;
}

/** The hf-tiny fixtures: $HF_TINY, else beside dist/ (the bundle), else ../shared (the repository). */
export const defaultFixturesDir = (): string => firstExisting([process.env.HF_TINY, path.join(ROOT, 'fixtures/hf-tiny'), path.join(ROOT, '../shared/fixtures/hf-tiny')]);
/** MEDDOCAN in BRAT: $MEDDOCAN_DIR, else beside dist/ (the bundle), else ../shared (the repository). */
export const defaultDataDir = (): string => firstExisting([process.env.MEDDOCAN_DIR, path.join(ROOT, 'data/meddocan'), path.join(ROOT, '../shared/data/meddocan')]);

export function parseOptions(argv: string[]): CheckOptions {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
    return v;
  };
  const num = (name: string, fallback: number): number => {
    const v = arg(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number, got ${v}`);
    return n;
  };
  const device = (arg('device') ?? 'cpu') as Device;
  if (!DEVICES.includes(device)) throw new Error(`--device must be one of ${DEVICES.join(', ')}, got ${device}`);
  const only = (arg('only') ?? PARTS.join(',')).split(',');
  for (const p of only) if (!PARTS.includes(p as Part)) throw new Error(`--only takes ${PARTS.join(', ')} (comma-separated), got ${p}`);
  const benchSections = (arg('bench-sections') ?? SECTIONS.join(',')).split(',');
  for (const s of benchSections) if (!SECTIONS.includes(s as never)) throw new Error(`--bench-sections takes ${SECTIONS.join(', ')}, got ${s}`);
  const taggerDev = arg('tagger-dev');
  return {
    device,
    only: new Set(only as Part[]),
    fixtures: arg('fixtures') ?? defaultFixturesDir(),
    data: arg('data') ?? defaultDataDir(),
    threads: num('threads', os.availableParallelism()),
    benchSections,
    benchIters: Math.max(1, num('bench-iters', 3)),
    taggerSteps: Math.max(1, num('tagger-steps', 354)),
    ...(taggerDev ? { taggerDev: num('tagger-dev', 0) } : {}),
    minEntityF1: num('min-entity-f1', 0.5),
    budgetMinutes: num('budget-minutes', 30),
  };
}

/** What the device is: the CPU model, or the NVIDIA driver's GPU names (no tools spawned). */
export function describeDevice(device: Device): string {
  const cpus = os.cpus();
  const cpu = `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores`;
  if (device === 'cpu') return cpu;
  const gpus: string[] = [];
  try {
    for (const id of fs.readdirSync('/proc/driver/nvidia/gpus')) {
      const info = fs.readFileSync(path.join('/proc/driver/nvidia/gpus', id, 'information'), 'utf8');
      gpus.push(/^Model:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? id);
    }
  } catch {
    /* no NVIDIA driver */
  }
  return `${gpus.length ? gpus.join(', ') : 'no NVIDIA GPU found (no /proc/driver/nvidia/gpus)'}; host ${cpu}`;
}

/** Creates and runs a one-op session on the device; throws the engine's message when it cannot start. */
export async function probeDevice(device: Device, intraOpThreads: number): Promise<void> {
  const g = new Graph('probe');
  const x = g.input('x', 'float32', [4]);
  g.output(op.add(x, x), 'y');
  const session = await Session.create(g.toBytes(['y']), { device, intraOpThreads });
  try {
    const y = await session.run({ x: { data: Float32Array.from([1, 2, 3, 4]), shape: [4] } });
    const got = Array.from(y.y!.data as Float32Array);
    if (got.join() !== '2,4,6,8') throw new Error(`device '${device}' computed x + x = [${got}] for x = [1, 2, 3, 4]`);
  } finally {
    await session.release();
  }
}


const minutes = (ms: number): string => (ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`);
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e)).trim();

/** Runs the check, printing its report through `log`; returns the exit code. */
export async function runCheck(o: CheckOptions, log: (line: string) => void = console.log): Promise<number> {
  const started = performance.now();
  const deadline = started + o.budgetMinutes * 60_000;
  log(`check:device — device ${o.device}: ${describeDevice(o.device)}`);
  log(`Node ${process.version}, onnxruntime-node ${describeRuntime()}, ${o.threads} intra-op threads; parts: ${[...o.only].join(', ')}; budget ${o.budgetMinutes} min`);
  try {
    await probeDevice(o.device, o.threads);
  } catch (e) {
    log(`FAIL device ${o.device} cannot start: ${message(e)}`);
    log(`RESULT: FAIL — device ${o.device} unavailable (nothing was run; no CPU fallback) [${minutes(performance.now() - started)}]`);
    return 2;
  }
  log(`device ${o.device}: a one-op session starts and computes correctly`);
  const engine = { seed: 0, intraOpThreads: o.threads, device: o.device };
  const summary: string[] = [];
  let failed = false;

  if (o.only.has('fixtures')) {
    log(`\n1. fixture agreement with Hugging Face (${o.fixtures}): logits and gradients within 1e-4 × max |ref|, loss within 1e-5 relative`);
    let passed = 0;
    for (const name of HF_TINY_FIXTURES) {
      try {
        const r = await checkFixture(o.fixtures, name, engine);
        log(formatFixtureReport(r));
        if (r.pass) passed++;
      } catch (e) {
        log(`FAIL ${name.padEnd(17)} ${message(e)}`);
      }
    }
    failed ||= passed < HF_TINY_FIXTURES.length;
    summary.push(`fixtures ${passed}/${HF_TINY_FIXTURES.length} PASS`);
  }

  // From here on, every GPU session says where its nodes ran (runtime/placement.ts), as a job's log does.
  onPlacementReport((r) => log(`  placement: ${describePlacement(r)}`));
  if (o.only.has('bench')) {
    log(`\n2. engine benchmark (bench:engine's workloads; 1 warm-up + ${o.benchIters} timed calls each, median; training tok/s = batch tokens per step, generation = new tokens/s)`);
    const timings: Timing[] = [];
    try {
      await timeSections(o.benchSections, engine, { warmup: 1, iters: o.benchIters }, (t) => {
        timings.push(t);
        log(`  ${t.name.padEnd(16)} ${t.medianMs.toFixed(0).padStart(6)} ms  ${t.tokensPerSecond.toFixed(0).padStart(7)} tok/s${t.detail ? `  (${t.detail})` : ''}`);
      });
      summary.push(`bench ${timings.length} timings`);
    } catch (e) {
      log(`FAIL bench: ${message(e)}`);
      failed = true;
      summary.push('bench FAIL');
    }
  }

  if (o.only.has('tagger')) {
    const budget = new AbortController();
    const left = deadline - performance.now();
    const timer = setTimeout(() => budget.abort(new Error(`the check's budget of ${o.budgetMinutes} min ran out (--budget-minutes)`)), Math.max(0, left));
    log(`\n3. tagger from scratch on MEDDOCAN (${o.data}): hidden 256, 2 layers, ${o.taggerSteps} steps of 16 (seed 0), tagging dev`);
    try {
      const r: TaggerResult = await runTagger(
        // as many epochs as the steps take: maxSteps alone sets the length (and the schedule's)
        { ...TAGGER_DEFAULTS, data: o.data, epochs: 1000, maxSteps: o.taggerSteps, threads: o.threads, device: o.device, ...(o.taggerDev ? { devDocuments: o.taggerDev } : {}) },
        (line) => log(line),
        budget.signal,
      );
      const f = (x: number): string => x.toFixed(3);
      const pass = r.entityF1 >= o.minEntityF1;
      log(`  dev: ${r.devDocuments} documents, ${r.goldSpans} gold spans, ${r.predictedSpans} predicted; training ${r.trainSeconds.toFixed(0)} s (${r.steps} steps, ${((r.steps * 16) / r.trainSeconds).toFixed(1)} examples/s), tagging ${r.tagSeconds.toFixed(0)} s`);
      log(`${pass ? 'PASS' : 'FAIL'} tagger: token F1 ${f(r.tokenF1)}  strict entity F1 ${f(r.entityF1)} (P ${f(r.entityPrecision)} R ${f(r.entityRecall)}; needs ≥ ${o.minEntityF1})  merged span F1 ${f(r.mergedSpanF1)}`);
      failed ||= !pass;
      summary.push(`tagger strict entity F1 ${f(r.entityF1)} ${pass ? 'PASS' : 'FAIL'}`);
    } catch (e) {
      log(`FAIL tagger: ${budget.signal.aborted ? message(budget.signal.reason) : message(e)}`);
      failed = true;
      summary.push('tagger FAIL');
    } finally {
      clearTimeout(timer);
    }
  }

  onPlacementReport(undefined);
  log(`\nRESULT: ${failed ? 'FAIL' : 'PASS'} — device ${o.device}; ${summary.join('; ')}; total ${minutes(performance.now() - started)}`);
  return failed ? 1 : 0;
}

async function main(): Promise<void> {
  rerunWithMallocEnv(import.meta.url);
  let options: CheckOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (e) {
    console.error(`check:device: ${message(e)}`);
    process.exit(1);
  }
  process.exit(await runCheck(options));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
