import { describe, expect, it } from 'vitest';
import { Graph } from '../../src/engine/graph/index.js';
import { ProtoWriter } from '../../src/engine/onnx/index.js';
import * as op from '../../src/engine/ops/index.js';
import { Session, deviceAvailable } from '../../src/engine/runtime/index.js';
import type { Device } from '../../src/engine/runtime/index.js';

function tinyModel(): Uint8Array {
  const g = new Graph('tiny');
  const x = g.input('x', 'float32', ['N']);
  g.output(op.mul(x, 2), 'y');
  return g.toBytes();
}
const feeds = { x: { data: Float32Array.from([1, 2, 3]), shape: [3] } };

describe('ProtoWriter', () => {
  it('should encode varints, negative int64 and length-delimited fields as protobuf does', () => {
    expect(Array.from(new ProtoWriter().varint(300).finish())).toEqual([0xac, 0x02]);
    expect(Array.from(new ProtoWriter().int(1, -1).finish())).toEqual([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(Array.from(new ProtoWriter().string(2, 'hi').finish())).toEqual([0x12, 0x02, 0x68, 0x69]);
    expect(Array.from(new ProtoWriter().packedInts(1, [1, 2]).finish())).toEqual([0x0a, 0x02, 0x01, 0x02]);
  });
});

describe('Session', () => {
  it('should run on the cpu with a set intra-op thread count', async () => {
    const s = await Session.create(tinyModel(), { device: 'cpu', intraOpThreads: 1 });
    expect(Array.from((await s.run(feeds)).y!.data as Float32Array)).toEqual([2, 4, 6]);
  });

  it('should name a missing input and list the expected ones', async () => {
    const s = await Session.create(tinyModel());
    await expect(s.run({})).rejects.toThrow(/missing input 'x'; the model takes: x/);
  });

  it('should refuse an unknown device, listing the supported ones', async () => {
    await expect(Session.create(tinyModel(), { device: 'tpu' as Device })).rejects.toThrow(/unknown device 'tpu'; supported: cpu, webgpu, cuda/);
  });

  // Whether a GPU is present depends on the machine: either the device works and computes the
  // same numbers, or session creation fails with a clear error; it never falls back to the CPU.
  for (const device of ['webgpu', 'cuda'] as const) {
    it(`should use ${device} or fail clearly, never silently fall back`, async () => {
      let s: Session;
      try {
        s = await Session.create(tinyModel(), { device });
      } catch (e) {
        expect((e as Error).message).toMatch(new RegExp(`device '${device}' is unavailable`));
        if (device === 'cuda') expect(deviceAvailable('cuda')).toBe(false);
        return;
      }
      expect(s.device).toBe(device);
      expect(Array.from((await s.run(feeds)).y!.data as Float32Array)).toEqual([2, 4, 6]);
    });
  }
});
