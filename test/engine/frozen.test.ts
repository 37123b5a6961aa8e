import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { maxDifference } from '../../src/engine/check/hf-fixtures.js';
import { generate } from '../../src/engine/generation/index.js';
import { Graph } from '../../src/engine/graph/index.js';
import { EncoderModel } from '../../src/engine/models/bert/model.js';
import type { CausalLMModel } from '../../src/engine/models/causal-lm.js';
import { loadModel } from '../../src/engine/models/registry.js';
import * as op from '../../src/engine/ops/index.js';
import { HF_TINY } from '../support/paths.js';

const close = (got: Float32Array, want: Float32Array, what: string) => {
  const { maxDiff, maxRef } = maxDifference(got, want);
  expect(maxDiff, what).toBeLessThanOrEqual(1e-5 * maxRef);
};

describe('frozen models (weights as constants of the inference sessions)', () => {
  it('should hold the given inputs as initializers, and refuse values that do not fit', () => {
    const g = new Graph('c');
    const x = g.input('x', 'float32', ['N', 2]);
    const w = g.input('w', 'float32', [2, 3]);
    g.output(op.matmul(x, w), 'y');
    const m = g.toModel(['y'], { constants: new Map([['w', new Float32Array(6)]]) });
    expect(m.inputs.map((i) => i.name)).toEqual(['x']);
    expect(m.initializers.map((i) => [i.name, i.dims])).toEqual([['w', [2, 3]]]);
    expect(() => g.toModel(['y'], { constants: new Map([['w', new Float32Array(5)]]) })).toThrow(/constant input 'w': 5 float32 values for a float32 input of shape \[2,3\]/);
  });

  it('should tag with the logits of the same encoder fed its weights, and refuse to train', async () => {
    const dir = join(HF_TINY, 'bert-tiny-ner');
    const [fed, frozen] = [await EncoderModel.fromPretrained(dir), await EncoderModel.fromPretrained(dir, { frozen: true })];
    const batch = { batchSize: 2, seqLen: 5, inputIds: [101, 7, 8, 9, 102, 101, 10, 11, 102, 0], attentionMask: [1, 1, 1, 1, 1, 1, 1, 1, 1, 0], labels: [-100, 1, 0, 0, -100, -100, 2, 0, -100, -100] };
    close(await frozen.forward(batch), await fed.forward(batch), 'encoder logits');
    await expect(frozen.lossAndGrads(batch)).rejects.toThrow(/loaded frozen .* load it without `frozen` to train it/);
    await fed.dispose();
    await frozen.dispose();
  });

  // llama-tiny-lora: a PEFT adapter folder, so the adapter's weights are constants too
  for (const name of ['gpt2-tiny', 'llama-tiny', 'llama-tiny-lora']) {
    it(`should generate as the same decoder fed its weights (${name}), and refuse to train`, async () => {
      const dir = join(HF_TINY, name);
      const [fed, frozen] = [(await loadModel(dir)).model as CausalLMModel, (await loadModel(dir, { frozen: true })).model as CausalLMModel];
      const batch = { batchSize: 1, seqLen: 6, inputIds: [3, 4, 5, 6, 7, 8], labels: [3, 4, 5, 6, 7, 8] };
      close(await frozen.forward(batch), await fed.forward(batch), `${name} logits`);
      const prompts = [[5, 6, 7, 8], [9, 10, 11]];
      const [a, b] = [await generate(fed, prompts, { maxNewTokens: 6 }), await generate(frozen, prompts, { maxNewTokens: 6 })];
      expect(b.newTokens).toEqual(a.newTokens);
      await expect(frozen.lossAndGrads(batch)).rejects.toThrow(/loaded frozen/);
      await fed.dispose();
      await frozen.dispose();
    });
  }
});
