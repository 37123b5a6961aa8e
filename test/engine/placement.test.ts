import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/graph/index.js';
import * as op from '../../src/engine/ops/index.js';
import { describePlacement, onPlacementReport, type PlacementFailure, type PlacementReport } from '../../src/engine/runtime/index.js';
import { placementFromProfile, type ProfileEvent } from '../../src/engine/runtime/placement.js';
import { Session, runtime } from '../../src/engine/runtime/session.js';

/** y = log-softmax(x · 2) + 1 (and an Identity naming it y): a LogSoftmax, which WebGPU has no kernel for, between two ops it has. */
function model(): Uint8Array {
  const g = new Graph('placement');
  const x = g.input('x', 'float32', [2, 3]);
  const [logp] = g.apply('LogSoftmax', [op.mul(x, 2)], [{ dtype: 'float32', shape: [2, 3] }], { axis: -1 });
  g.output(op.add(logp!, 1), 'y');
  return g.toBytes(['y']);
}
const feeds = { x: { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3] } };

const profileDirs = async () => (await readdir(os.tmpdir())).filter((f) => f.startsWith('deid-ort-profile-'));

afterEach(() => onPlacementReport(undefined));

describe('placement reports', () => {
  it("should read onnxruntime's own profile of a real run: every node, its provider and time, the last run only", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'placement-test-'));
    try {
      const ort = runtime().ort;
      const s = await ort.InferenceSession.create(model(), { graphOptimizationLevel: 'disabled', enableProfiling: true, profileFilePrefix: path.join(dir, 'p') });
      const x = new ort.Tensor('float32', feeds.x.data, feeds.x.shape);
      await s.run({ x });
      await s.run({ x });
      s.endProfiling();
      await s.run({ x }); // after endProfiling: not in the file
      const [file] = await readdir(dir);
      const events = JSON.parse(await readFile(path.join(dir, file!), 'utf8')) as ProfileEvent[];
      const r = placementFromProfile(events, { session: 'test graph', device: 'cpu', feedBytes: 24, fetchBytes: 24 })!;
      expect(r.run).toBe(2);
      // on the CPU device every node ran on the CPU provider, once each
      expect([r.deviceNodes, r.cpuNodes, r.copies.nodes]).toEqual([0, 4, 0]);
      expect(r.cpuOps.map((c) => [c.op, c.nodes]).sort()).toEqual([['Add', 1], ['Identity', 1], ['LogSoftmax', 1], ['Mul', 1]]);
      expect(r.runMs).toBeGreaterThan(0);
      expect(r.executeMs).toBeGreaterThan(0);
      expect(r.executeMs).toBeLessThanOrEqual(r.runMs);
      expect(describePlacement(r)).toMatch(/^cpu, test graph \(profiled run 2\): 0 of 4 nodes on cpu; 4 on the CPU .*LogSoftmax ×1 .*the run took .* ms: .* ms in onnxruntime's executor, .* copying 0\.0 MiB of feeds in/);
      expect(placementFromProfile([], { session: 'x', device: 'cpu', feedBytes: 0, fetchBytes: 0 })).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('should not profile CPU sessions', async () => {
    const reports: unknown[] = [];
    onPlacementReport((r) => reports.push(r));
    const s = await Session.create(model(), { device: 'cpu' });
    for (let i = 0; i < 3; i++) await s.run(feeds);
    await s.release();
    expect(reports).toEqual([]);
  });

  // Holds on either kind of machine: with a WebGPU adapter (a GPU, or Mesa's software lavapipe) the
  // session reports its LogSoftmax on the CPU; without one the device fails clearly.
  it('should report, after its second run, the nodes a webgpu session ran on the CPU, and delete the profile', async () => {
    const reports: Array<PlacementReport | PlacementFailure> = [];
    onPlacementReport((r) => reports.push(r));
    const before = await profileDirs();
    let s: Session;
    try {
      s = await Session.create(model(), { device: 'webgpu', name: 'test graph' });
    } catch (e) {
      expect((e as Error).message).toMatch(/device 'webgpu' is unavailable/);
      expect(await profileDirs()).toEqual(before);
      return;
    }
    const y = await s.run(feeds);
    expect(reports).toEqual([]);
    const x2 = [2, 4, 6];
    const lse = Math.log(x2.reduce((a, v) => a + Math.exp(v), 0));
    expect(Array.from(y.y!.data as Float32Array).slice(0, 3).map((v) => +v.toFixed(4))).toEqual(x2.map((v) => +(v - lse + 1).toFixed(4)));
    await s.run(feeds);
    expect(reports).toHaveLength(1);
    const r = reports[0] as PlacementReport;
    expect(r).toMatchObject({ session: 'test graph', device: 'webgpu', run: 2, feedBytes: 24, fetchBytes: 24 });
    expect(r.cpuOps.map((c) => c.op)).toContain('LogSoftmax');
    expect(r.deviceNodes).toBeGreaterThanOrEqual(2); // Mul and Add
    expect(r.copies.nodes).toBeGreaterThan(0);
    expect(describePlacement(r)).toMatch(/^webgpu, test graph \(profiled run 2\): \d+ of \d+ nodes on webgpu; \d+ on the CPU .*LogSoftmax ×1/);
    await s.run(feeds);
    await s.release();
    expect(reports).toHaveLength(1);
    expect(await profileDirs()).toEqual(before);
  });
});
