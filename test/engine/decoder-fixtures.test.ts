// GPT-2 and LLaMA against the Hugging Face fixtures: logits, loss, every gradient (the comparison
// check:device runs, src/engine/check/hf-fixtures.ts), greedy generation, and the KV cache against
// a full forward. One suite, run for each family.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFixture, formatFixtureReport } from '../../src/engine/check/hf-fixtures.js';
import { generate } from '../../src/engine/generation/index.js';
import { CausalLMModel } from '../../src/engine/models/causal-lm.js';
import { parseDecoderConfig, type LlamaConfig } from '../../src/engine/io/config.js';
import { llama } from '../../src/engine/models/llama/index.js';
import { loadModel } from '../../src/engine/models/registry.js';
import { HF_TINY } from '../support/paths.js';
import { maxDifference } from '../../src/engine/check/hf-fixtures.js';

/** Max |a − b| and max |b|, printed per tensor so a failure says where it diverged. */
function diff(name: string, a: ArrayLike<number>, b: ArrayLike<number>) {
  expect(a.length, `${name} length`).toBe(b.length);
  return maxDifference(a, b);
}

/** Loads a fixture folder once per suite; `model` is filled in by beforeAll. */
function fixture(folder: string) {
  const DIR = join(HF_TINY, folder);
  const ref = JSON.parse(readFileSync(join(DIR, 'reference.json'), 'utf8'));
  const state = {
    DIR,
    ref,
    batch: { batchSize: ref.input_ids.length as number, seqLen: ref.input_ids[0].length as number, inputIds: ref.input_ids.flat(), attentionMask: ref.attention_mask.flat(), labels: ref.labels.flat() },
    model: null as unknown as CausalLMModel,
  };
  beforeAll(async () => {
    const loaded = await loadModel(DIR, { intraOpThreads: 2 });
    if (loaded.kind !== 'decoder') throw new Error(`${folder} should load as a decoder`);
    state.model = loaded.model;
  });
  afterAll(() => state.model?.dispose());
  return state;
}

describe.each([
  ['gpt2', 'gpt2-tiny'],
  ['llama', 'llama-tiny'],
])('%s (%s fixture)', (name, folder) => {
  const f = fixture(folder);
    it('should match the reference logits and loss, and every gradient (checkFixture: 1e-4 × max|ref|, loss 1e-5 relative)', async () => {
      const r = await checkFixture(HF_TINY, folder, { intraOpThreads: 2 });
      console.log(formatFixtureReport(r));
      expect(r.problems).toEqual([]);
      expect(r.checks.map((c) => c.kind).filter((k) => k !== 'gradient')).toEqual(['logits', 'loss']);
      expect(r.checks.filter((c) => !c.pass).map((c) => c.name)).toEqual([]);
    });

    it('should reproduce greedy generation exactly', async () => {
      const out = await generate(f.model, f.ref.greedy_prompt, { maxNewTokens: f.ref.greedy_output[0].length - f.ref.greedy_prompt[0].length });
      expect(out.sequences).toEqual(f.ref.greedy_output);
    });

    it('should give the same logits through the KV cache as a full forward, with left padding', async () => {
      const ids = f.ref.input_ids[0].slice(0, 12) as number[];
      const short = ids.slice(0, 7);
      // Row 1 is left-padded by 5; its cached logits must equal the unpadded forward's.
      const step = await f.model.prefill([ids.slice(0, 10), [0, 0, 0, 0, 0, ...short.slice(0, 5)]], [new Array(10).fill(1), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]], { maxNewTokens: 1 });
      expect(step.cache.capacity).toBe(11); // the second step below has to grow the cache
      const V = f.model.vocabSize;
      const full0 = await f.model.forward({ batchSize: 1, seqLen: 12, inputIds: ids });
      const full1 = await f.model.forward({ batchSize: 1, seqLen: 7, inputIds: short });
      const at = (f: Float32Array, t: number) => f.subarray(t * V, (t + 1) * V);
      expect(diff('p0', step.logits.subarray(0, V), at(full0, 9)).maxDiff).toBeLessThan(1e-4);
      expect(diff('p1', step.logits.subarray(V), at(full1, 4)).maxDiff).toBeLessThan(1e-4);
      let s = await f.model.decodeStep([ids[10]!, short[5]!], step.cache);
      expect(diff('d0', s.logits.subarray(0, V), at(full0, 10)).maxDiff).toBeLessThan(1e-4);
      expect(diff('d1', s.logits.subarray(V), at(full1, 5)).maxDiff).toBeLessThan(1e-4);
      s = await f.model.decodeStep([ids[11]!, short[6]!], s.cache);
      expect(s.cache.capacity).toBeGreaterThanOrEqual(12);
      expect(diff('e0', s.logits.subarray(0, V), at(full0, 11)).maxDiff).toBeLessThan(1e-4);
      expect(diff('e1', s.logits.subarray(V), at(full1, 6)).maxDiff).toBeLessThan(1e-4);
    });

    it('should keep each row\'s cache when keepRows drops or reorders rows', async () => {
      const ids = f.ref.input_ids[0].slice(0, 12) as number[];
      const short = ids.slice(0, 7);
      const V = f.model.vocabSize;
      const both = await f.model.prefill([ids.slice(0, 10), [0, 0, 0, 0, 0, ...short.slice(0, 5)]], [new Array(10).fill(1), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]], { maxNewTokens: 2 });
      const batched = await f.model.decodeStep([ids[10]!, short[5]!], both.cache);
      // decodeStep grows a cache in place, so the reordered batch starts from a second prefill
      const again = await f.model.prefill([ids.slice(0, 10), [0, 0, 0, 0, 0, ...short.slice(0, 5)]], [new Array(10).fill(1), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]], { maxNewTokens: 2 });
      const swapped = await f.model.decodeStep([short[5]!, ids[10]!], f.model.keepRows(again.cache, [1, 0]));
      expect(diff('swap0', swapped.logits.subarray(0, V), batched.logits.subarray(V)).maxDiff).toBeLessThan(1e-5);
      expect(diff('swap1', swapped.logits.subarray(V), batched.logits.subarray(0, V)).maxDiff).toBeLessThan(1e-5);
      const alone = await f.model.decodeStep([short[6]!], f.model.keepRows(swapped.cache, [0]));
      expect(alone.cache.batch).toBe(1);
      const full1 = await f.model.forward({ batchSize: 1, seqLen: 7, inputIds: short });
      expect(diff('alone', alone.logits, full1.subarray(6 * V, 7 * V)).maxDiff).toBeLessThan(1e-4);
    });
});

describe('LLaMA generation (llama-tiny fixture)', () => {
  const f = fixture('llama-tiny');
  it('should generate a left-padded batch exactly as each prompt alone', async () => {
    const p1 = f.ref.input_ids[0].slice(0, 9) as number[];
    const p2 = f.ref.input_ids[0].slice(20, 24) as number[];
    const cfg = { maxNewTokens: 10, eosTokenIds: [2], padTokenId: 1 };
    const both = await generate(f.model, [p1, p2], cfg);
    const one = await generate(f.model, [p1], cfg);
    const two = await generate(f.model, [p2], cfg);
    expect(both.sequences).toEqual([one.sequences[0], two.sequences[0]]);
  });

  it('should generate the same when a row finishes early and leaves the batch', async () => {
    const p1 = f.ref.input_ids[0].slice(0, 9) as number[];
    const p2 = f.ref.input_ids[0].slice(20, 24) as number[];
    // the third token p1 writes ends it, so it leaves the cache while p2 goes on
    const eos = (await generate(f.model, [p1], { maxNewTokens: 3 })).newTokens[0]![2]!;
    const cfg = { maxNewTokens: 10, eosTokenIds: [eos], padTokenId: 1 };
    const both = await generate(f.model, [p1, p2], cfg);
    expect(both.newTokens[0]!.length).toBeLessThanOrEqual(3);
    expect(both.newTokens[1]!.length).toBeGreaterThan(both.newTokens[0]!.length);
    expect(both.sequences).toEqual([(await generate(f.model, [p1], cfg)).sequences[0], (await generate(f.model, [p2], cfg)).sequences[0]]);
  });

  it('should sample reproducibly from a seed and differently from greedy', async () => {
    const cfg = { maxNewTokens: 16, doSample: true, temperature: 1.2, topK: 50, topP: 0.95, seed: 11 };
    const a = await generate(f.model, f.ref.greedy_prompt, cfg);
    const b = await generate(f.model, f.ref.greedy_prompt, cfg);
    expect(a.sequences).toEqual(b.sequences);
    expect(a.sequences[0]).not.toEqual(f.ref.greedy_output[0].slice(0, 8 + 16));
  });
});

describe('LLaMA without grouped-query attention (llama-tiny fixture, K/V heads repeated)', () => {
  const f = fixture('llama-tiny');
  it('should give the grouped model\'s logits, cached and full, through the plain [B,H,T,D] attention path', async () => {
    // num_key_value_heads 2 → 4: each KV head's rows of k_proj/v_proj repeated for the two query
    // heads it serves (transformers' repeat_kv order) is the same function, computed ungrouped.
    const grouped = f.model as CausalLMModel<LlamaConfig>;
    const { H, G, D } = { H: grouped.config.numHeads, G: grouped.config.numKvHeads, D: grouped.config.headDim };
    const config = parseDecoderConfig({ ...grouped.config.raw, num_key_value_heads: H }) as LlamaConfig;
    const params = new Map(grouped.params);
    for (const [name, w] of grouped.params) {
      if (!/\.(k_proj|v_proj)\.weight$/.test(name)) continue;
      const C = w.length / (G * D);
      const out = new Float32Array(H * D * C);
      for (let h = 0; h < H; h++) out.set(w.subarray(Math.floor(h / (H / G)) * D * C, (Math.floor(h / (H / G)) + 1) * D * C), h * D * C);
      params.set(name, out);
    }
    const plain = new CausalLMModel(llama, config, params, { intraOpThreads: 2 });
    try {
      const a = await grouped.forward(f.batch);
      const b = await plain.forward(f.batch);
      expect(diff('logits', b, a).maxDiff).toBeLessThan(1e-5);
      const prompt = f.ref.greedy_prompt;
      const n = f.ref.greedy_output[0].length - prompt[0].length;
      expect((await generate(plain, prompt, { maxNewTokens: n })).sequences).toEqual(f.ref.greedy_output);
    } finally {
      plain.dispose();
    }
  });
});
