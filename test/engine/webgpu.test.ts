// The engine's paths on WebGPU. Holds on either kind of machine: with an adapter (a GPU, or Mesa's
// software lavapipe: `mesa-vulkan-drivers` 25 from bookworm-backports, see docs/gpu.md) every check
// runs there; without one each path fails at once naming the device, never falling back to the CPU.
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HF_TINY_FIXTURES, checkFixture, maxDifference } from '../../src/engine/check/hf-fixtures.js';
import { CausalLMModel } from '../../src/engine/models/causal-lm.js';
import { loadModel } from '../../src/engine/models/registry.js';
import { probeDevice } from '../../src/tools/check-device.js';
import { HF_TINY } from '../support/paths.js';

/** Whether this machine has a WebGPU adapter; without one, the error must name the device. */
async function webgpuAdapter(): Promise<boolean> {
  try {
    await probeDevice('webgpu', 1);
    return true;
  } catch (e) {
    expect((e as Error).message).toMatch(/device 'webgpu' is unavailable/);
    return false;
  }
}

async function decoder(name: string, device: 'cpu' | 'webgpu'): Promise<CausalLMModel> {
  const loaded = await loadModel(join(HF_TINY, name), { device });
  if (loaded.kind !== 'decoder') throw new Error(`${name} is not a decoder`);
  return loaded.model as CausalLMModel;
}

describe('webgpu', () => {
  let adapter = false;
  beforeAll(async () => {
    adapter = await webgpuAdapter();
  });

  it("should agree with Hugging Face's logits, loss and every gradient on the tiny fixtures", { timeout: 120_000 }, async () => {
    if (!adapter) return;
    for (const name of HF_TINY_FIXTURES) {
      const r = await checkFixture(HF_TINY, name, { device: 'webgpu' });
      expect(r.pass, `${name}: ${JSON.stringify(r.checks.filter((c) => !c.pass))}`).toBe(true);
    }
  });

  // Regression: the first step of generation fed an empty KV cache as zero-length tensors, and
  // onnxruntime's WebGPU kernels crashed the whole process on them (a segmentation fault).
  it('should generate with the KV cache, prefill and decode steps giving the CPU logits', { timeout: 60_000 }, async () => {
    if (!adapter) return;
    for (const name of ['gpt2-tiny', 'llama-tiny']) {
      const [cpu, gpu] = [await decoder(name, 'cpu'), await decoder(name, 'webgpu')];
      // two prompts, the second left-padded
      const ids = [[5, 6, 7, 8], [0, 9, 10, 11]];
      const mask = [[1, 1, 1, 1], [0, 1, 1, 1]];
      let [a, b] = [await cpu.prefill(ids, mask, { maxNewTokens: 3 }), await gpu.prefill(ids, mask, { maxNewTokens: 3 })];
      for (let step = 0; step < 3; step++) {
        const { maxDiff, maxRef } = maxDifference(b.logits, a.logits);
        expect(maxDiff, `${name} step ${step}`).toBeLessThanOrEqual(1e-4 * maxRef);
        [a, b] = [await cpu.decodeStep([12 + step, 20 + step], a.cache), await gpu.decodeStep([12 + step, 20 + step], b.cache)];
      }
      await cpu.dispose();
      await gpu.dispose();
    }
  });
});
