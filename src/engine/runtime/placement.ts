// Where a GPU session's work ran, measured. onnxruntime puts a node on the CPU when the chosen
// device has no kernel for it (and some shape arithmetic on purpose), copies tensors across for
// it, and says so only in its verbose log on stderr. A session on a GPU device therefore profiles
// its first runs (onnxruntime's own profiler: one event per node with its provider and time) and
// hands a report to the listener set here: the nodes that ran on the CPU by op, what they and the
// copies took, how much of a run was spent outside onnxruntime's executor (copying feeds in and
// fetches out, waiting for the device), and how many bytes crossed.
import type { Device } from './session.js';

/** The CPU nodes of one op type in the profiled run. */
export interface CpuOp {
  op: string;
  nodes: number;
  ms: number;
}

export interface PlacementReport {
  /** What the session computes, e.g. "encoder training step". */
  session: string;
  device: Device;
  /** Which of the profiled runs this is (the last one: the first run also compiles kernels). */
  run: number;
  /** Nodes run in that run, on the device and on the CPU (copy nodes not counted). */
  deviceNodes: number;
  cpuNodes: number;
  /** The CPU nodes by op, slowest first. */
  cpuOps: CpuOp[];
  /** Copy nodes onnxruntime inserted between CPU and device nodes. */
  copies: { nodes: number; ms: number };
  /**
   * The run's wall time, and the part of it in onnxruntime's executor. On a GPU the executor
   * queues the device's work rather than waiting for it; the rest of the run copies the feeds to
   * the device and the fetches back, and waits for the device to finish.
   */
  runMs: number;
  executeMs: number;
  /** Bytes of the run's feeds (host to device) and fetches (device to host). */
  feedBytes: number;
  fetchBytes: number;
}

/** One event of onnxruntime's profile file (Chrome trace format). */
export interface ProfileEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args?: { provider?: string; op_name?: string };
}

/** A session whose profile could not be read: what it was and why. */
export interface PlacementFailure {
  session: string;
  device: Device;
  error: string;
}

export type PlacementListener = (report: PlacementReport | PlacementFailure) => void;

let listener: PlacementListener | undefined;

/**
 * Send every later GPU session's placement report of this thread to `fn` (undefined: stop; GPU
 * sessions then are not profiled). The engine's task threads pass them to the job's log.
 */
export function onPlacementReport(fn: PlacementListener | undefined): void {
  listener = fn;
}

export function placementListener(): PlacementListener | undefined {
  return listener;
}

const COPY_OPS = new Set(['MemcpyToHost', 'MemcpyFromHost']);

/** The report of the profile's last run, or null when the profile holds no run. */
export function placementFromProfile(
  events: readonly ProfileEvent[],
  run: { session: string; device: Device; feedBytes: number; fetchBytes: number },
): PlacementReport | null {
  const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').sort((a, b) => a.ts - b.ts);
  const last = runs.at(-1);
  if (!last) return null;
  const within = (e: ProfileEvent) => e.ts >= last.ts && e.ts + e.dur <= last.ts + last.dur;
  const execute = events.filter((e) => e.cat === 'Session' && e.name === 'SequentialExecutor::Execute' && within(e));
  const cpu = new Map<string, CpuOp>();
  const copies = { nodes: 0, ms: 0 };
  let deviceNodes = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !within(e)) continue;
    const op = e.args?.op_name ?? '?';
    if (COPY_OPS.has(op)) {
      copies.nodes++;
      copies.ms += e.dur / 1000;
    } else if (e.args?.provider === 'CPUExecutionProvider') {
      const c = cpu.get(op) ?? { op, nodes: 0, ms: 0 };
      c.nodes++;
      c.ms += e.dur / 1000;
      cpu.set(op, c);
    } else deviceNodes++;
  }
  const cpuOps = [...cpu.values()].sort((a, b) => b.ms - a.ms || a.op.localeCompare(b.op));
  return {
    ...run,
    run: runs.length,
    deviceNodes,
    cpuNodes: cpuOps.reduce((n, c) => n + c.nodes, 0),
    cpuOps,
    copies,
    runMs: last.dur / 1000,
    executeMs: execute.reduce((s, e) => s + e.dur, 0) / 1000,
  };
}

const ms = (x: number) => (x >= 10 ? x.toFixed(0) : x.toFixed(1));
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** One line for a job's log or a check's printout. */
export function describePlacement(r: PlacementReport | PlacementFailure): string {
  if ('error' in r) return `${r.device}, ${r.session}: no report of where its nodes ran (onnxruntime's profile could not be read: ${r.error}).`;
  const head = `${r.device}, ${r.session} (profiled run ${r.run}): ${r.deviceNodes} of ${r.deviceNodes + r.cpuNodes} nodes on ${r.device}`;
  const cpu = r.cpuNodes
    ? `; ${r.cpuNodes} on the CPU (no ${r.device} kernel, or shape arithmetic onnxruntime keeps there): ${r.cpuOps.map((c) => `${c.op} ×${c.nodes} ${ms(c.ms)} ms`).join(', ')}`
    : '';
  const copies = r.copies.nodes ? `; ${r.copies.nodes} copies between them ${ms(r.copies.ms)} ms (a copy to the CPU waits for the device's work before it)` : '';
  const rest = Math.max(0, r.runMs - r.executeMs);
  return (
    `${head}${cpu}${copies}; the run took ${ms(r.runMs)} ms: ${ms(r.executeMs)} ms in onnxruntime's executor, ` +
    `${ms(rest)} ms copying ${mib(r.feedBytes)} of feeds in and ${mib(r.fetchBytes)} of fetches out and waiting for the device.`
  );
}
