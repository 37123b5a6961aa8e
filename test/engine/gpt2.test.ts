import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/engine/io/safetensors.js';
import { generate } from '../../src/engine/generation/index.js';
import type { CausalLMModel } from '../../src/engine/models/causal-lm.js';
import { loadModel } from '../../src/engine/models/registry.js';

const FIX = process.env.HF_TINY ?? '/work/shared/fixtures/hf-tiny';
const DIR = join(FIX, 'gpt2-tiny');
const ref = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8'));
const B = ref.input_ids.length as number;
const T = ref.input_ids[0].length as number;
const batch = { batchSize: B, seqLen: T, inputIds: ref.input_ids.flat(), attentionMask: ref.attention_mask.flat(), labels: ref.labels.flat() };

/** Max |a − b| and max |b|, printed per tensor so a failure says where it diverged. */
function diff(name: string, a: ArrayLike<number>, b: ArrayLike<number>): { maxDiff: number; maxRef: number } {
  expect(a.length, `${name} length`).toBe(b.length);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    maxRef = Math.max(maxRef, Math.abs(b[i]!));
  }
  return { maxDiff, maxRef };
}

let model: CausalLMModel;
beforeAll(async () => {
  const loaded = await loadModel(DIR, { intraOpThreads: 2 });
  if (loaded.kind !== 'decoder') throw new Error('gpt2-tiny should load as a decoder');
  model = loaded.model;
});
afterAll(() => model?.dispose());

describe('GPT-2 (gpt2-tiny fixture)', () => {
  it('should match the reference logits within 1e-4 × max|logit|', async () => {
    const logits = await model.forward(batch);
    const expected = (await readSafetensors(join(DIR, 'reference_logits.safetensors'))).get('logits')!;
    const { maxDiff, maxRef } = diff('logits', logits, expected.data as Float32Array);
    console.log(`gpt2 logits: max diff ${maxDiff.toExponential(2)} (max |ref| ${maxRef.toFixed(3)})`);
    expect(maxDiff).toBeLessThanOrEqual(1e-4 * maxRef);
  });

  it('should match the loss (1e-5 relative) and every gradient (1e-4 × max|grad|)', async () => {
    const { loss, grads } = await model.lossAndGrads(batch);
    expect(Math.abs(loss - ref.loss) / ref.loss).toBeLessThan(1e-5);
    const expected = await readSafetensors(join(DIR, 'reference_grads.safetensors'));
    expect([...grads.keys()].sort()).toEqual([...expected.keys()].sort());
    const report: string[] = [];
    for (const [name, g] of grads) {
      const { maxDiff, maxRef } = diff(name, g, expected.get(name)!.data as Float32Array);
      report.push(`${name}: ${maxDiff.toExponential(2)} / ${maxRef.toExponential(2)}`);
      expect(maxDiff, name).toBeLessThanOrEqual(1e-4 * maxRef);
    }
    console.log(`gpt2 loss ${loss} vs ${ref.loss}\n${report.join('\n')}`);
  });

  it('should reproduce greedy generation exactly', async () => {
    const out = await generate(model, ref.greedy_prompt, { maxNewTokens: ref.greedy_output[0].length - ref.greedy_prompt[0].length });
    expect(out.sequences).toEqual(ref.greedy_output);
  });

  it('should give the same logits through the KV cache as a full forward, with left padding', async () => {
    const ids = ref.input_ids[0].slice(0, 12) as number[];
    const short = ids.slice(0, 7);
    // Row 1 is left-padded by 5; its cached logits must equal the unpadded forward's.
    const step = await model.prefill([ids.slice(0, 10), [0, 0, 0, 0, 0, ...short.slice(0, 5)]], [new Array(10).fill(1), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]], { maxNewTokens: 1 });
    expect(step.cache.capacity).toBe(11); // the second step below has to grow the cache
    const V = model.vocabSize;
    const full0 = await model.forward({ batchSize: 1, seqLen: 12, inputIds: ids });
    const full1 = await model.forward({ batchSize: 1, seqLen: 7, inputIds: short });
    const at = (f: Float32Array, t: number) => f.subarray(t * V, (t + 1) * V);
    expect(diff('p0', step.logits.subarray(0, V), at(full0, 9)).maxDiff).toBeLessThan(1e-4);
    expect(diff('p1', step.logits.subarray(V), at(full1, 4)).maxDiff).toBeLessThan(1e-4);
    let s = await model.decodeStep([ids[10]!, short[5]!], step.cache);
    expect(diff('d0', s.logits.subarray(0, V), at(full0, 10)).maxDiff).toBeLessThan(1e-4);
    expect(diff('d1', s.logits.subarray(V), at(full1, 5)).maxDiff).toBeLessThan(1e-4);
    s = await model.decodeStep([ids[11]!, short[6]!], s.cache);
    expect(s.cache.capacity).toBeGreaterThanOrEqual(12);
    expect(diff('e0', s.logits.subarray(0, V), at(full0, 11)).maxDiff).toBeLessThan(1e-4);
    expect(diff('e1', s.logits.subarray(V), at(full1, 6)).maxDiff).toBeLessThan(1e-4);
  });
});
