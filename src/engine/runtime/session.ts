// onnxruntime-node session wrapper: plain typed arrays in and out, explicit devices.
// A device that is not available is an error, never a silent fallback to the CPU.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type ort from 'onnxruntime-node';
import { Graph } from '../graph/graph.js';
import { cudaProblems, cudaProviderLibrary, cudaRuntimeDir } from './cuda.js';
import { placementFromProfile, placementListener, type PlacementListener, type ProfileEvent } from './placement.js';

type Ort = typeof ort;

export interface Runtime {
  ort: Ort;
  version: string;
  /** The folder onnxruntime-node was loaded from. */
  packageDir: string;
  /** The CUDA provider beside its binding, or null (no CUDA runtime installed). */
  cudaProvider: string | null;
}
let loaded: Runtime | undefined;
/**
 * The onnxruntime-node this process runs on, loaded on first use: the CUDA runtime when
 * setup:cuda installed one (for every device: the provider is built for ONNX Runtime 1.29.0 and
 * cannot be loaded by our 1.30.0 core, and two cores share one soname, so a process holds one of
 * them), else the package's own dependency.
 */
export function runtime(): Runtime {
  if (loaded) return loaded;
  const cudaProvider = cudaProviderLibrary();
  const require = createRequire(cudaProvider ? path.join(cudaRuntimeDir(), 'package.json') : import.meta.url);
  const manifest = require.resolve('onnxruntime-node/package.json');
  loaded = {
    ort: require('onnxruntime-node') as Ort,
    version: (require(manifest) as { version: string }).version,
    packageDir: path.dirname(manifest),
    cudaProvider,
  };
  return loaded;
}

/** The runtime in words: its version, and where setup:cuda's CUDA runtime came from when it is the one. */
export function describeRuntime(): string {
  const r = runtime();
  return r.cudaProvider ? `${r.version} (with the CUDA provider, from ${r.packageDir})` : r.version;
}

export type Device = 'cpu' | 'webgpu' | 'cuda';
export const DEVICES: readonly Device[] = ['cpu', 'webgpu', 'cuda'];

export interface SessionOptions {
  /** Execution provider (default 'cpu'). */
  device?: Device;
  /** Intra-op threads for the CPU provider (default: onnxruntime's choice, one per core). */
  intraOpThreads?: number;
  /**
   * onnxruntime's memory pattern (default on): after the first run of each input shape it plans
   * one block for all of the run's tensors. Training sessions turn it off: the planned block came
   * on top of the arena chunks of the first run (BERT-base 8×128 peak RSS 3.84 GiB with it,
   * 2.98 without) and training steps ran no slower without it (A/B), while batch-1 decoding is
   * ~15% slower without it.
   */
  memoryPattern?: boolean;
  /** What the session computes, for its placement report (e.g. "encoder training step"). */
  name?: string;
  /**
   * Outputs that stay on the device (WebGPU only: onnxruntime-node keeps no other device's memory
   * between runs); `runResident` returns them as DeviceTensors, to feed to a later run.
   */
  deviceOutputs?: readonly string[];
}

/**
 * Runs a GPU session profiles before it reports where its nodes ran: the first also compiles the
 * device's kernels, the second is a steady step.
 */
const PROFILED_RUNS = 2;

/** onnxruntime's profiler on for a session's first runs, its file in a folder of its own. */
interface Profiling {
  dir: string;
  runs: number;
  /** The latest profiled run's feeds and fetches, in bytes. */
  feedBytes: number;
  fetchBytes: number;
  name: string;
  report: PlacementListener;
}

export type TypedData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

/** One tensor as plain data. bool tensors are Uint8Array with dtype 'bool'. */
export interface HostTensor<D extends TypedData = TypedData> {
  data: D;
  shape: number[];
  dtype?: 'float32' | 'float64' | 'int64' | 'int32' | 'bool' | 'uint8';
}

function inferType(t: HostTensor): ort.Tensor.Type {
  if (t.dtype) return t.dtype;
  if (t.data instanceof Float32Array) return 'float32';
  if (t.data instanceof Float64Array) return 'float64';
  if (t.data instanceof BigInt64Array) return 'int64';
  if (t.data instanceof Int32Array) return 'int32';
  return 'uint8';
}

/**
 * A tensor left on the device by a run (an output named in `deviceOutputs`): feed it to a later
 * run of a session on the same device, read it with `download`, and `dispose` it when done.
 */
export class DeviceTensor {
  constructor(readonly inner: ort.Tensor) {}
  get shape(): number[] {
    return this.inner.dims.map(Number);
  }
  dispose(): void {
    this.inner.dispose();
  }
}

export function toOrt(t: HostTensor): ort.Tensor {
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (n !== t.data.length) throw new Error(`tensor data has ${t.data.length} values for shape [${t.shape}]`);
  return new (runtime().ort.Tensor)(inferType(t), t.data as never, t.shape);
}

/** Whether this process could try the device (it may still fail to start: no GPU, missing libraries). */
export function deviceAvailable(device: Device): boolean {
  if (device === 'cpu') return true;
  if (device === 'cuda') return runtime().cudaProvider !== null;
  return runtime().ort.listSupportedBackends().some((x) => x.name === device);
}

function hostTensor(r: ort.Tensor): HostTensor {
  return { data: r.data as TypedData, shape: r.dims.map(Number), dtype: r.type as HostTensor['dtype'] };
}

function sameBits(a: TypedData, b: TypedData): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return Buffer.compare(x, y) === 0;
}

export class Session {
  /** Per output name: does onnxruntime write the preallocated buffer in place (checked on first use). */
  private inPlace = new Map<string, boolean>();

  private constructor(
    readonly inner: ort.InferenceSession,
    readonly device: Device,
    private profiling?: Profiling,
  ) {}

  static async create(model: Uint8Array, opts: SessionOptions = {}): Promise<Session> {
    const device = opts.device ?? 'cpu';
    if (!DEVICES.includes(device)) throw new Error(`unknown device '${device}'; supported: ${DEVICES.join(', ')}`);
    if (device === 'cuda' && !deviceAvailable('cuda')) {
      throw new Error(
        `device 'cuda' is unavailable: no CUDA runtime is installed in ${cudaRuntimeDir()} (this engine's onnxruntime-node ${runtime().version} has no CUDA provider; \`npm run setup:cuda\` installs one there from the npm registry and names the CUDA libraries the machine lacks, see docs/gpu.md). Use device 'cpu' or 'webgpu'.`,
      );
    }
    const options: ort.InferenceSession.SessionOptions = {
      executionProviders: [device],
      graphOptimizationLevel: 'all',
      enableMemPattern: opts.memoryPattern ?? true,
      ...(opts.intraOpThreads ? { intraOpNumThreads: opts.intraOpThreads } : {}),
      // Intra-op threads spin between the ops of a run (waking sleeping threads for each of a
      // graph's hundreds of nodes cost more than small ops take) and stop when the run ends, so
      // an idle session does not take the cores from another session of the same model. A/B
      // against never spinning: encoder forward −3 to −5%, training steps −1.5 to −2.4%, batch-1
      // decoding −12%; against spinning that goes on after a run, a training step that follows a
      // forward pass was 5–9% slower.
      extra: { session: { intra_op: { allow_spinning: '1' }, force_spinning_stop: '1' } },
    };
    if (opts.deviceOutputs?.length) {
      // onnxruntime-node binds device outputs to WebGPU's allocator only; a CUDA "gpu-buffer"
      // output would not be one (see docs/gpu.md)
      if (device !== 'webgpu') throw new Error(`outputs can stay on the device only on 'webgpu' (onnxruntime-node keeps no ${device} memory between runs)`);
      options.preferredOutputLocation = Object.fromEntries(opts.deviceOutputs.map((n) => [n, 'gpu-buffer' as const]));
    }
    // On a GPU device, where a placement listener is set, profile the first runs (see placement.ts).
    const report = device !== 'cpu' ? placementListener() : undefined;
    let profiling: Profiling | undefined;
    if (report) {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'deid-ort-profile-'));
      profiling = { dir, runs: 0, feedBytes: 0, fetchBytes: 0, name: opts.name ?? 'session', report };
      Object.assign(options, { enableProfiling: true, profileFilePrefix: path.join(dir, 'profile') });
    }
    try {
      return new Session(await runtime().ort.InferenceSession.create(model, options), device, profiling);
    } catch (e) {
      if (profiling) await rm(profiling.dir, { recursive: true, force: true });
      const msg = e instanceof Error ? e.message : String(e);
      // onnxruntime's own message names no library (its log line on stderr does): name what is missing
      const cuda = device === 'cuda' ? cudaProblems(runtime().cudaProvider!) : [];
      if (device !== 'cpu') throw new Error(`device '${device}' is unavailable: ${msg}${cuda.length ? `; ${cuda.join('; ')}` : ''}`);
      throw new Error(`could not create an onnxruntime session: ${msg}`);
    }
  }

  get inputNames(): readonly string[] {
    return this.inner.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.inner.outputNames;
  }

  /**
   * Run with host tensors. `into` optionally names preallocated output buffers that
   * onnxruntime writes into (no fresh allocation per step); other outputs come back new.
   */
  async run(feeds: Record<string, HostTensor>, outputs?: string[], into: Record<string, HostTensor> = {}): Promise<Record<string, HostTensor>> {
    const names = outputs ?? [...this.inner.outputNames];
    const res = await this.execute(feeds, names, into);
    const out: Record<string, HostTensor> = {};
    for (const n of names) {
      const r = res[n]!;
      const pre = into[n];
      if (pre && r.data !== pre.data) {
        // onnxruntime writes a preallocated output in place, then hands back a copy of it. Return
        // the caller's buffer (no second copy by the caller); the first run of each output checks
        // bit for bit that the write really happened in place, else every run copies.
        let inPlace = this.inPlace.get(n);
        if (inPlace === undefined) {
          inPlace = sameBits(r.data as TypedData, pre.data);
          this.inPlace.set(n, inPlace);
        }
        if (!inPlace) (pre.data as Float32Array).set(r.data as Float32Array);
        out[n] = { data: pre.data, shape: r.dims.map(Number), dtype: r.type as HostTensor['dtype'] };
        continue;
      }
      out[n] = hostTensor(r);
    }
    return out;
  }

  /**
   * Run with feeds on the host or on the device; the outputs named in the session's
   * `deviceOutputs` come back as DeviceTensors (the caller disposes them), the others as host tensors.
   */
  async runResident(feeds: Record<string, HostTensor | DeviceTensor>, outputs: string[]): Promise<{ host: Record<string, HostTensor>; device: Record<string, DeviceTensor> }> {
    const res = await this.execute(feeds, outputs, {});
    const host: Record<string, HostTensor> = {};
    const device: Record<string, DeviceTensor> = {};
    for (const n of outputs) {
      const r = res[n]!;
      if (r.location === 'gpu-buffer') device[n] = new DeviceTensor(r);
      else host[n] = hostTensor(r);
    }
    return { host, device };
  }

  private async execute(feeds: Record<string, HostTensor | DeviceTensor>, names: string[], into: Record<string, HostTensor>): Promise<ort.InferenceSession.ReturnType> {
    const f: Record<string, ort.Tensor> = {};
    for (const name of this.inner.inputNames) {
      const t = feeds[name];
      if (!t) throw new Error(`missing input '${name}'; the model takes: ${this.inner.inputNames.join(', ')}`);
      f[name] = t instanceof DeviceTensor ? t.inner : toOrt(t);
    }
    const fetches: Record<string, ort.Tensor | null> = {};
    for (const n of names) fetches[n] = into[n] ? toOrt(into[n]!) : null;
    const res = await this.inner.run(f, fetches as ort.InferenceSession.FetchesType);
    if (this.profiling) {
      // bytes that crossed between host and device: device tensors do not
      const bytes = (ts: ort.Tensor[]) => ts.reduce((n, t) => n + (t.location === 'cpu' ? (t.data as TypedData).byteLength : 0), 0);
      const p = this.profiling;
      p.feedBytes = bytes(Object.values(f));
      p.fetchBytes = bytes(names.map((n) => res[n]!));
      if (++p.runs >= PROFILED_RUNS) await this.endProfiling();
    }
    return res;
  }

  /**
   * Stops the profiler (onnxruntime then writes its file and profiles no more runs), reports the
   * last profiled run and deletes the file. A profile that cannot be read is reported as such,
   * never an error of the run.
   */
  private async endProfiling(): Promise<void> {
    const p = this.profiling!;
    this.profiling = undefined;
    try {
      this.inner.endProfiling();
      if (!p.runs) return;
      const files = (await readdir(p.dir)).filter((f) => f.endsWith('.json'));
      if (files.length !== 1) throw new Error(`expected one profile file in ${p.dir}, found ${files.length}`);
      const events = JSON.parse(await readFile(path.join(p.dir, files[0]!), 'utf8')) as ProfileEvent[];
      const report = placementFromProfile(events, { session: p.name, device: this.device, feedBytes: p.feedBytes, fetchBytes: p.fetchBytes });
      p.report(report ?? { session: p.name, device: this.device, error: 'it holds no run' });
    } catch (e) {
      p.report({ session: p.name, device: this.device, error: e instanceof Error ? e.message : String(e) });
    } finally {
      await rm(p.dir, { recursive: true, force: true });
    }
  }

  async release(): Promise<void> {
    if (this.profiling) await this.endProfiling();
    await this.inner.release();
  }
}

/** One identity session per device and rank: what reads device tensors back to the host. */
const readers = new Map<string, Promise<Session>>();

/**
 * Copy float32 device tensors to the host (through a session on their device: onnxruntime-node
 * has no direct download of a device tensor, and reading one's data aborted the process).
 */
export async function download(device: Device, tensors: readonly DeviceTensor[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const t of tensors) {
    const rank = t.shape.length;
    const key = `${device}:${rank}`;
    let reader = readers.get(key);
    if (!reader) {
      const g = new Graph(`read-rank-${rank}`);
      const x = g.input('x', 'float32', Array.from({ length: rank }, (_, i) => `d${i}`));
      g.output(g.value(g.emit('Identity', [x])[0]!, 'float32', x.shape), 'y');
      reader = Session.create(g.toBytes(['y']), { device, name: 'read back to the host' });
      readers.set(key, reader);
      reader.catch(() => readers.delete(key));
    }
    const r = await (await reader).runResident({ x: t }, ['y']);
    out.push(r.host.y!.data as Float32Array);
  }
  return out;
}
