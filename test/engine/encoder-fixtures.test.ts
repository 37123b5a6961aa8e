import { HF_TINY } from '../support/paths.js';
// Whole-model checks against the Hugging Face fixtures (transformers 5.17, float32):
// logits, loss, every gradient and one AdamW step. Prints the max difference per tensor
// (llm.c style) so a failure says where the computation diverged.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/engine/io/safetensors.js';
import { EncoderModel } from '../../src/engine/models/bert/index.js';
import { AdamW } from '../../src/engine/optim/index.js';
import { maxDifference } from '../support/compare.js';

const FIXTURES = HF_TINY;

interface Reference {
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
  loss: number;
  adamw: { lr: number; betas: [number, number]; eps: number; weight_decay: number };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; scale: number } {
  const { maxDiff: diff, maxRef: scale } = maxDifference(a, b);
  return { diff, scale };
}

async function loadCase(name: string) {
  const dir = join(FIXTURES, name);
  const ref = JSON.parse(await readFile(join(dir, 'reference.json'), 'utf8')) as Reference;
  const model = await EncoderModel.fromPretrained(dir, { intraOpThreads: 2 });
  const B = ref.input_ids.length;
  const T = ref.input_ids[0]!.length;
  const batch = { batchSize: B, seqLen: T, inputIds: ref.input_ids.flat(), attentionMask: ref.attention_mask.flat(), labels: ref.labels.flat() };
  return { dir, ref, model, batch };
}

for (const name of ['bert-tiny-ner', 'roberta-tiny-ner']) {
  describe(name, () => {
    it('matches the reference logits', async () => {
      const { dir, model, batch } = await loadCase(name);
      const want = (await readSafetensors(join(dir, 'reference_logits.safetensors'))).get('logits')!;
      const got = await model.forward(batch);
      expect(got.length).toBe(want.data.length);
      const { diff, scale } = maxDiff(got, want.data as Float32Array);
      console.log(`${name} logits: max diff ${diff.toExponential(3)} (max |ref| ${scale.toFixed(3)})`);
      expect(diff).toBeLessThanOrEqual(1e-4 * scale);
    });

    it('matches the reference loss, every gradient and one AdamW step', async () => {
      const { dir, ref, model, batch } = await loadCase(name);
      const { loss, grads } = await model.lossAndGrads(batch);
      console.log(`${name} loss: ${loss} vs ${ref.loss} (rel ${(Math.abs(loss - ref.loss) / ref.loss).toExponential(2)})`);
      expect(Math.abs(loss - ref.loss)).toBeLessThanOrEqual(1e-5 * Math.abs(ref.loss));

      const refGrads = await readSafetensors(join(dir, 'reference_grads.safetensors'));
      const lines: string[] = [];
      const bad: string[] = [];
      for (const s of model.specs) {
        const want = refGrads.get(s.name);
        expect(want, `reference gradient for ${s.name}`).toBeDefined();
        const { diff, scale } = maxDiff(grads.get(s.name)!, want!.data as Float32Array);
        lines.push(`  ${s.name.padEnd(60)} max diff ${diff.toExponential(2)}  max |ref| ${scale.toExponential(2)}`);
        // The key bias has an analytically zero gradient (softmax is invariant to adding q·b_k to a
        // whole row of scores), so its reference holds only rounding noise (~1e-12): a floor of 1e-10.
        if (diff > Math.max(1e-4 * scale, 1e-10)) bad.push(s.name);
      }
      console.log(`${name} gradients:\n${lines.join('\n')}`);
      expect(bad).toEqual([]);

      // AdamW from the reference gradients must reproduce torch's step to 1e-6. From our own
      // gradients the step is checked more loosely: for elements whose gradient is near eps
      // (1e-8), the update lr·g/(|g|+eps) amplifies 1e-10 gradient differences.
      const { lr, betas, eps, weight_decay } = ref.adamw;
      const after = await readSafetensors(join(dir, 'reference_after_adamw_step.safetensors'));
      const initial = await readSafetensors(join(dir, 'model.safetensors'));
      for (const [gradsFrom, tol] of [['reference', 1e-6], ['engine', 1e-5]] as const) {
        const params = new Map(model.specs.map((s) => [s.name, Float32Array.from(initial.get(s.name)!.data as Float32Array)]));
        const g = gradsFrom === 'reference' ? new Map(model.specs.map((s) => [s.name, refGrads.get(s.name)!.data as Float32Array])) : grads;
        new AdamW({ lr, betas, eps, weightDecay: weight_decay }).step(params, g);
        let worst = 0;
        let where = '';
        for (const s of model.specs) {
          const { diff } = maxDiff(params.get(s.name)!, after.get(s.name)!.data as Float32Array);
          if (diff > worst) [worst, where] = [diff, s.name];
        }
        console.log(`${name} after AdamW from ${gradsFrom} gradients: max diff ${worst.toExponential(2)} (in ${where})`);
        expect(worst).toBeLessThanOrEqual(tol);
      }
    });
  });
}
