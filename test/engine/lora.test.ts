import { HF_TINY } from '../support/paths.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/engine/io/safetensors.js';
import type { CausalLMModel } from '../../src/engine/models/causal-lm.js';
import { addLora, loadLora, mergeLora, parseLoraConfig, saveLora } from '../../src/engine/models/lora/index.js';
import { loadModel } from '../../src/engine/models/registry.js';
import { checkFixture, maxDifference } from '../../src/engine/check/hf-fixtures.js';

const FIX = HF_TINY;
const DIR = join(FIX, 'llama-tiny-lora');
const ref = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8'));
const base = JSON.parse(readFileSync(join(FIX, 'llama-tiny', 'reference.json'), 'utf8'));
const B = ref.input_ids.length as number;
const T = ref.input_ids[0].length as number;
const batch = { batchSize: B, seqLen: T, inputIds: ref.input_ids.flat(), attentionMask: ref.attention_mask.flat(), labels: base.labels.flat() };

const maxAbsDiff = maxDifference;

async function decoder(dir: string): Promise<CausalLMModel> {
  const loaded = await loadModel(dir, { intraOpThreads: 2 });
  if (loaded.kind !== 'decoder') throw new Error(`${dir} should load as a decoder`);
  return loaded.model;
}

let model: CausalLMModel;
beforeAll(async () => {
  model = await decoder(DIR); // adapter folder: loads ../llama-tiny and attaches the adapter
});
afterAll(() => model?.dispose());

describe('LoRA (llama-tiny-lora fixture)', () => {
  it('should match the reference logits of base + adapter', async () => {
    expect(model.lora?.settings).toMatchObject({ r: 8, alpha: 32, scaling: 4 });
    expect(model.lora?.targets).toHaveLength(8);
    const logits = await model.forward(batch);
    const expected = (await readSafetensors(join(DIR, 'reference_logits.safetensors'))).get('logits')!.data as Float32Array;
    const { maxDiff, maxRef } = maxAbsDiff(logits, expected);
    console.log(`lora logits: max diff ${maxDiff.toExponential(2)} (max |ref| ${maxRef.toFixed(3)})`);
    expect(maxDiff).toBeLessThanOrEqual(1e-4 * maxRef);
    // The adapter matters: the base model's logits are far from these.
    const plain = await decoder(join(FIX, 'llama-tiny'));
    expect(maxAbsDiff(await plain.forward(batch), expected).maxDiff).toBeGreaterThan(1e-2);
    await plain.dispose();
  });

  it('should give adapter gradients consistent with the base weight gradient (dB = s·dW·Aᵀ, dA = s·Bᵀ·dW)', async () => {
    // checkFixture (shared with check:device) compares each adapter gradient with the identity
    const r = await checkFixture(FIX, 'llama-tiny-lora', { intraOpThreads: 2 });
    expect(r.checks.filter((c) => c.kind === 'gradient')).toHaveLength(16);
    expect(r.checks.filter((c) => !c.pass).map((c) => c.name)).toEqual([]);
    model.trainable = 'all';
    const { grads } = await model.lossAndGrads(batch);
    // Trained alone, only the adapter gets gradients.
    model.trainable = 'lora';
    const only = await model.lossAndGrads(batch);
    expect([...only.grads.keys()].sort()).toEqual(model.lora!.targets.flatMap((t) => [t.a.name, t.b.name]).sort());
    for (const [n, g] of only.grads) expect(maxAbsDiff(g, grads.get(n)!).maxDiff).toBeLessThan(1e-6);
  });

  it('should save and reload in PEFT layout, and merge into the base weights', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lora-'));
    await saveLora(model, dir, join(FIX, 'llama-tiny'));
    const before = await model.forward(batch);
    const reloaded = await decoder(join(FIX, 'llama-tiny'));
    await loadLora(reloaded, dir);
    expect(maxAbsDiff(await reloaded.forward(batch), before).maxDiff).toBe(0);
    mergeLora(reloaded);
    expect(reloaded.lora).toBeNull();
    const merged = await reloaded.forward(batch);
    const { maxDiff, maxRef } = maxAbsDiff(merged, before);
    expect(maxDiff).toBeLessThanOrEqual(1e-5 * maxRef);
    await reloaded.dispose();
  });

  it('should train a fresh adapter alone: logits start unchanged, loss falls, base weights stay', async () => {
    const m = await decoder(join(FIX, 'llama-tiny'));
    const logits0 = await m.forward(batch);
    const q0 = Float32Array.from(m.params.get('model.layers.0.self_attn.q_proj.weight')!);
    addLora(m, { r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj'], seed: 1 });
    expect(maxAbsDiff(await m.forward(batch), logits0).maxDiff).toBe(0);
    const losses: number[] = [];
    for (let step = 0; step < 5; step++) {
      const { loss, grads } = await m.lossAndGrads(batch);
      losses.push(loss);
      for (const [n, g] of grads) {
        const p = m.params.get(n)!;
        for (let i = 0; i < p.length; i++) p[i]! -= 0.5 * g[i]!;
      }
    }
    expect(losses.at(-1)!).toBeLessThan(losses[0]! - 1e-3);
    expect(m.params.get('model.layers.0.self_attn.q_proj.weight')).toEqual(q0);
    await m.dispose();
  });

  it('should merge a GPT-2 (Conv1D) adapter into the right orientation', async () => {
    const m = await decoder(join(FIX, 'gpt2-tiny'));
    addLora(m, { r: 4, alpha: 8, targetModules: ['c_attn', 'c_proj', 'c_fc'], seed: 2 });
    expect(m.lora!.targets).toHaveLength(8); // c_attn, attn.c_proj, c_fc, mlp.c_proj (suffix match) in 2 layers
    let k = 0;
    for (const t of m.lora!.targets) m.params.get(t.b.name)!.forEach((_, i, b) => (b[i] = Math.sin(++k) * 0.05));
    const small = { batchSize: 1, seqLen: 16, inputIds: base.input_ids[0].slice(0, 16) };
    const withAdapter = await m.forward(small);
    const plain = await decoder(join(FIX, 'gpt2-tiny'));
    expect(maxAbsDiff(await plain.forward(small), withAdapter).maxDiff).toBeGreaterThan(1e-3);
    mergeLora(m);
    const { maxDiff, maxRef } = maxAbsDiff(await m.forward(small), withAdapter);
    expect(maxDiff).toBeLessThanOrEqual(1e-5 * maxRef);
    await m.dispose();
    await plain.dispose();
  });

  it('should refuse adapter options it does not implement, by name', () => {
    expect(() => parseLoraConfig({ peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj'], use_dora: true })).toThrow(/use_dora/);
    expect(() => parseLoraConfig({ peft_type: 'IA3', r: 8 })).toThrow(/supported: LORA/);
    expect(parseLoraConfig({ r: 4, lora_alpha: 8, target_modules: ['q_proj'], use_rslora: true }).scaling).toBeCloseTo(4);
  });
});
