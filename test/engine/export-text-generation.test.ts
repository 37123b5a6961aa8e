import { HF_TINY } from '../support/paths.js';
// Export GPT-2 / LLaMA causal LMs for transformers.js and run the exported folder through
// @huggingface/transformers itself (local files only): forward logits (with and without a
// past), greedy generate (one prompt and a left-padded batch) and the text-generation
// pipeline must give the engine's numbers and the Hugging Face fixture's greedy output.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AutoModelForCausalLM, DynamicCache, pipeline, Tensor } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportForTransformersJs } from '../../src/engine/export/index.js';
import { generate } from '../../src/engine/generation/index.js';
import { readSafetensors } from '../../src/engine/io/safetensors.js';
import type { CausalLMModel } from '../../src/engine/models/causal-lm.js';
import { loadModel } from '../../src/engine/models/registry.js';
import { maxDifference } from '../../src/engine/check/hf-fixtures.js';
import { useLocalTransformersJs } from '../support/transformers-js.js';

const FIX = HF_TINY;

const local = useLocalTransformersJs('export-tjs-lm-');

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; scale: number } {
  const { maxDiff: diff, maxRef: scale } = maxDifference(a, b);
  return { diff, scale };
}

const i64 = (rows: number[][]): Tensor => new Tensor('int64', BigInt64Array.from(rows.flat(), (x) => BigInt(x)), [rows.length, rows[0]!.length]);
const toNumbers = (t: Tensor): number[][] => (t.tolist() as bigint[][]).map((r) => r.map(Number));

interface Reference {
  input_ids: number[][];
  attention_mask: number[][];
  greedy_prompt: number[][];
  greedy_output: number[][];
}

async function loadDecoder(dir: string): Promise<CausalLMModel> {
  const loaded = await loadModel(dir, { intraOpThreads: 2 });
  if (loaded.kind !== 'decoder') throw new Error(`${dir} should load as a decoder`);
  return loaded.model;
}

for (const name of ['gpt2-tiny', 'llama-tiny']) {
  describe(`transformers.js export: ${name}`, () => {
    const dir = join(FIX, name);
    const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as Reference;
    const out = () => join(local.dir(), name); // loaded by absolute path
    let engine: CausalLMModel;
    beforeAll(async () => {
      engine = await loadDecoder(dir);
      const res = await exportForTransformersJs(dir, out(), { task: 'text-generation' });
      expect(res.files.sort()).toEqual(['config.json', 'generation_config.json', 'onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json']);
      expect(res.inputs).toEqual(['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value']);
      expect(res.outputs).toEqual(['logits', 'present.0.key', 'present.0.value', 'present.1.key', 'present.1.value']);
    });
    afterAll(() => engine?.dispose());

    it('forward: logits equal the engine (full batch, empty past) and again with a past', async () => {
      const model = await AutoModelForCausalLM.from_pretrained(out(), { dtype: 'fp32', device: 'cpu' });
      const B = ref.input_ids.length;
      const T = ref.input_ids[0]!.length;
      const V = engine.vocabSize;
      const G = engine.family.numKvHeads(engine.config);
      const D = engine.family.headDim(engine.config);
      const mine = await engine.forward({ batchSize: B, seqLen: T, inputIds: ref.input_ids.flat(), attentionMask: ref.attention_mask.flat() });
      // The engine's forward numbers positions 0..T-1 as transformers' forward does; pass them
      // (transformers.js would derive them from the mask, which differs on right padding only).
      const positions = ref.input_ids.map((r) => r.map((_, t) => t));
      const full = await model({ input_ids: i64(ref.input_ids), attention_mask: i64(ref.attention_mask), position_ids: i64(positions) });
      expect(full.logits.dims).toEqual([B, T, V]);
      expect(full['present.1.value'].dims).toEqual([B, G, T, D]);
      const vsEngine = maxDiff(full.logits.data as Float32Array, mine);
      const hf = (await readSafetensors(join(dir, 'reference_logits.safetensors'))).get('logits')!.data as Float32Array;
      const vsHf = maxDiff(full.logits.data as Float32Array, hf);
      console.log(`${name} transformers.js logits: max diff vs engine ${vsEngine.diff.toExponential(3)}, vs HF ${vsHf.diff.toExponential(3)} (max |logit| ${vsEngine.scale.toFixed(3)})`);
      expect(vsEngine.diff).toBeLessThanOrEqual(1e-4 * vsEngine.scale);
      expect(vsHf.diff).toBeLessThanOrEqual(1e-4 * vsHf.scale);

      // Row 0 in two chunks: 40 tokens, then 24 more on top of the returned cache.
      const row = ref.input_ids[0]!;
      const P = 40;
      const first = await model({ input_ids: i64([row.slice(0, P)]), attention_mask: i64([row.slice(0, P).map(() => 1)]) });
      const past: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(first)) if (k.startsWith('present.')) past[k.replace('present.', 'past_key_values.')] = v as Tensor;
      expect(past['past_key_values.0.key']!.dims).toEqual([1, G, P, D]);
      const second = await model({
        input_ids: i64([row.slice(P)]),
        attention_mask: i64([row.map(() => 1)]),
        position_ids: i64([row.slice(P).map((_, t) => P + t)]),
        past_key_values: new DynamicCache(past),
      });
      expect(second.logits.dims).toEqual([1, T - P, V]);
      expect(second['present.0.key'].dims).toEqual([1, G, T, D]);
      const cached = maxDiff(second.logits.data as Float32Array, mine.subarray(P * V, T * V));
      console.log(`${name} transformers.js logits with a ${P}-token past: max diff vs engine ${cached.diff.toExponential(3)}`);
      expect(cached.diff).toBeLessThanOrEqual(1e-4 * cached.scale);
      await model.dispose();
    });

    it("generate (greedy) gives the engine's tokens and the Hugging Face greedy_output", async () => {
      const model = await AutoModelForCausalLM.from_pretrained(out(), { dtype: 'fp32', device: 'cpu' });
      const prompt = ref.greedy_prompt[0]!;
      const newTokens = ref.greedy_output[0]!.length - prompt.length;
      const seq = (await model.generate({ input_ids: i64([prompt]), attention_mask: i64([prompt.map(() => 1)]), max_new_tokens: newTokens, do_sample: false })) as Tensor;
      const mine = await generate(engine, [prompt], { maxNewTokens: newTokens, eosTokenIds: engine.config.eosTokenIds });
      expect(toNumbers(seq)[0]).toEqual(mine.sequences[0]);
      expect(toNumbers(seq)[0]).toEqual(ref.greedy_output[0]);

      // A left-padded batch of two prompts of different lengths.
      const short = [604, 30, 225, 333, 86];
      const pad = engine.config.padTokenId ?? 0;
      const batch = await model.generate({
        input_ids: i64([prompt, [pad, pad, pad, ...short]]),
        attention_mask: i64([prompt.map(() => 1), [0, 0, 0, ...short.map(() => 1)]]),
        max_new_tokens: 12,
        do_sample: false,
      });
      const engineBatch = await generate(engine, [prompt, short], { maxNewTokens: 12, eosTokenIds: engine.config.eosTokenIds });
      const rows = toNumbers(batch as Tensor);
      const eos = new Set(engine.config.eosTokenIds);
      engineBatch.newTokens.forEach((tokens, b) => {
        const theirs = rows[b]!.slice(8, 8 + tokens.length); // transformers.js keeps going after EOS: compare up to it
        expect(theirs, `row ${b}`).toEqual(tokens);
        if (tokens.length < 12) expect(eos.has(tokens.at(-1)!)).toBe(true);
      });
      console.log(`${name} generate: [${toNumbers(seq)[0]!.slice(prompt.length).join(' ')}] equals the engine and HF; batch rows equal the engine`);
      await model.dispose();
    });

    it("runs as pipeline('text-generation') with the engine's greedy text", async () => {
      const gen = await pipeline('text-generation', out(), { dtype: 'fp32', device: 'cpu' });
      const text = 'Paciente: Juan García López, 45 años.';
      const ids = toNumbers(gen.tokenizer(text, { add_special_tokens: false }).input_ids as Tensor)[0]!;
      const mine = await generate(engine, [ids], { maxNewTokens: 10, eosTokenIds: engine.config.eosTokenIds });
      const res = (await gen(text, { max_new_tokens: 10, do_sample: false })) as Array<{ generated_text: string }>;
      expect(res[0]!.generated_text).toBe(gen.tokenizer.decode(mine.sequences[0]!, { skip_special_tokens: true }));
      await gen.dispose();
    });
  });
}

describe('transformers.js export: LoRA', () => {
  it('exports llama-tiny with its adapter merged into the graph', async () => {
    const adapter = join(FIX, 'llama-tiny-lora');
    const engine = await loadDecoder(adapter);
    const res = await exportForTransformersJs(engine, join(local.dir(), 'llama-lora'), { task: 'text-generation', tokenizerDir: join(FIX, 'llama-tiny') });
    expect(res.files).toContain('onnx/model.onnx');
    const model = await AutoModelForCausalLM.from_pretrained(join(local.dir(), 'llama-lora'), { dtype: 'fp32', device: 'cpu' });
    const ref = JSON.parse(readFileSync(join(FIX, 'llama-tiny', 'reference.json'), 'utf8')) as Reference;
    const B = ref.input_ids.length;
    const T = ref.input_ids[0]!.length;
    const positions = ref.input_ids.map((r) => r.map((_, t) => t));
    const got = await model({ input_ids: i64(ref.input_ids), attention_mask: i64(ref.attention_mask), position_ids: i64(positions) });
    const mine = await engine.forward({ batchSize: B, seqLen: T, inputIds: ref.input_ids.flat(), attentionMask: ref.attention_mask.flat() });
    const hf = (await readSafetensors(join(adapter, 'reference_logits.safetensors'))).get('logits')!.data as Float32Array;
    const vsEngine = maxDiff(got.logits.data as Float32Array, mine);
    const vsHf = maxDiff(got.logits.data as Float32Array, hf);
    console.log(`llama-tiny-lora transformers.js logits: max diff vs engine ${vsEngine.diff.toExponential(3)}, vs HF (PEFT) ${vsHf.diff.toExponential(3)}`);
    expect(vsEngine.diff).toBeLessThanOrEqual(1e-4 * vsEngine.scale);
    expect(vsHf.diff).toBeLessThanOrEqual(1e-4 * vsHf.scale);
    await model.dispose();
    await engine.dispose();
  });
});
