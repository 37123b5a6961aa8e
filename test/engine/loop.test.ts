// The one training loop on a decoder (causal LM adaptation, LoRA and all weights): a run killed
// mid-way and resumed from its checkpoint ends with the same losses and weights as an
// uninterrupted one, and with held-out text the saved weights are the best-validated ones.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/engine/io/safetensors.js';
import { adaptGenerator, type AdaptGeneratorSpec } from '../../src/engine/tasks/index.js';
import { latestCheckpoint } from '../../src/engine/train/index.js';
import { HF_TINY } from '../support/paths.js';

const tmp = await mkdtemp(join(tmpdir(), 'engine-loop-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

const TEXTS = Array.from({ length: 24 }, (_, i) => `Paciente de ${30 + i} años con dolor abdominal; alta el día ${1 + (i % 28)} sin complicaciones.`);

function spec(name: string, lora: AdaptGeneratorSpec['lora'], extra: Partial<AdaptGeneratorSpec> = {}): AdaptGeneratorSpec {
  return { modelDir: join(HF_TINY, 'gpt2-tiny'), texts: TEXTS, outputDir: join(tmp, name, 'model'), lora, seqLen: 16, batchSize: 4, epochs: 3, maxSteps: 9, lr: 3e-3, warmupSteps: 2, seed: 4, intraOpThreads: 2, ...extra };
}

async function weights(dir: string): Promise<Map<string, number[]>> {
  return new Map([...(await readSafetensors(join(dir, 'model.safetensors')))].map(([name, t]) => [name, Array.from(t.data as Float32Array)]));
}

describe.each([
  ['LoRA', { r: 4, alpha: 8, targetModules: null }],
  ['all weights', null],
] as const)('the training loop on causal LM adaptation (%s)', (what, lora) => {
  it('should resume a killed run to the same losses and weights as an uninterrupted one', async () => {
    const key = what.replace(' ', '-');
    const straight = await adaptGenerator(spec(`${key}-straight`, lora));
    const checkpointDir = join(tmp, `${key}-ckpt`);
    const crashing = spec(`${key}-resumed`, lora, { checkpointDir, checkpointEverySteps: 2 });
    await expect(
      adaptGenerator(crashing, (p) => {
        if (p.step === 6) throw new Error('simulated crash');
      }),
    ).rejects.toThrow('simulated crash');
    expect(await latestCheckpoint(checkpointDir)).toBe(join(checkpointDir, 'checkpoint-4'));
    const resumed = await adaptGenerator({ ...crashing, resume: true });
    expect(resumed.steps).toBe(9);
    expect(resumed.losses).toEqual(straight.losses);
    const [a, b] = [await weights(crashing.outputDir), await weights(spec(`${key}-straight`, lora).outputDir)];
    for (const [name, w] of b) expect(a.get(name), name).toEqual(w);
  }, 120_000);
});

describe('the training loop with held-out text', () => {
  it('should validate every epoch and save the weights of the best held-out perplexity', async () => {
    const result = await adaptGenerator(spec('validated', null, { texts: TEXTS.slice(0, 18), heldOutTexts: TEXTS.slice(18), epochs: 6, maxSteps: null, lr: 2e-2 }));
    expect(result.validations.length).toBeGreaterThanOrEqual(6);
    const best = result.validations.reduce((a, b) => (b.loss < a.loss ? b : a));
    expect(result.bestStep).toBe(best.step);
    expect(result.heldOut!.loss).toBeCloseTo(best.loss, 10);
  }, 120_000);
});
