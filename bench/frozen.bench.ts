/**
 * Weights fed with every run vs frozen (constants of the inference session, as the tagging,
 * generation and held-out tasks load their models: src/engine/models/frozen.ts), in one process
 * with alternating calls so both see the same machine load.
 *   npm run build && node dist/bench/frozen.bench.js [--iters N] [--device cpu|webgpu|cuda]
 * Workloads: bench:engine's GPT-2 (hidden 384 × 6 layers, vocab 8,000) generating 64 new tokens
 * greedily after 32-token prompts at batch 1 and 16, and its encoder (hidden 256 × 4 layers, vocab
 * 30,522, 43 labels) tagging 16 × 128 tokens. Prints each side's median ms and tokens/s and checks
 * that both give the same tokens (generation) or logits within 1e-5 (tagging).
 */
import { maxDifference } from '../src/engine/check/hf-fixtures.js';
import { generate } from '../src/engine/generation/index.js';
import { parseDecoderConfig } from '../src/engine/io/config.js';
import { parseEncoderConfig } from '../src/engine/models/bert/config.js';
import { EncoderModel } from '../src/engine/models/bert/model.js';
import { CausalLMModel } from '../src/engine/models/causal-lm.js';
import { gpt2 } from '../src/engine/models/gpt2/index.js';
import { DEVICES, type Device } from '../src/engine/runtime/session.js';
import { NEW, PROMPT, median, randomIds } from '../src/bench/engine-workloads.js';
import { rerunWithMallocEnv } from '../src/bench/malloc-env.js';

rerunWithMallocEnv(import.meta.url);

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const iters = Number(arg('--iters') ?? 7);
const device = (arg('--device') ?? 'cpu') as Device;
if (!DEVICES.includes(device)) throw new Error(`--device must be one of ${DEVICES.join(', ')}`);
const engine = { seed: 0, intraOpThreads: 2, device };

/**
 * Alternates fed and frozen calls (1 warm-up each), then prints both medians and whether the
 * last outputs agree.
 */
async function compare<T>(name: string, tokens: number, fed: () => Promise<T>, frozen: () => Promise<T>, same: (a: T, b: T) => boolean): Promise<void> {
  const sides = [{ run: fed, ms: [] as number[], out: undefined as T | undefined }, { run: frozen, ms: [] as number[], out: undefined as T | undefined }];
  for (let i = 0; i <= iters; i++) {
    for (const side of sides) {
      const t = performance.now();
      side.out = await side.run();
      if (i > 0) side.ms.push(performance.now() - t);
    }
  }
  const [a, b] = [median(sides[0]!.ms), median(sides[1]!.ms)];
  const rate = (ms: number) => ((tokens * 1000) / ms).toFixed(0).padStart(6);
  console.log(
    `${name.padEnd(16)} fed ${a.toFixed(0).padStart(6)} ms ${rate(a)} tok/s | frozen ${b.toFixed(0).padStart(6)} ms ${rate(b)} tok/s | ${(a / b).toFixed(2)}× | same output: ${same(sides[0]!.out!, sides[1]!.out!) ? 'yes' : 'NO'}`,
  );
}

const decoderConfig = parseDecoderConfig({ model_type: 'gpt2', vocab_size: 8000, n_embd: 384, n_layer: 6, n_head: 6, n_inner: 1536, n_positions: 1024 });
const decoders = [CausalLMModel.fromConfig(gpt2, decoderConfig, engine), CausalLMModel.fromConfig(gpt2, decoderConfig, { ...engine, frozen: true })];
console.log(`weights fed vs frozen — device ${device}, 2 intra-op threads, 1 warm-up + ${iters} alternating calls each, medians`);
for (const B of [1, 16]) {
  const ids = randomIds(B * PROMPT, 8000, 4 + B);
  const prompts = Array.from({ length: B }, (_, b) => Array.from(ids.subarray(b * PROMPT, (b + 1) * PROMPT)));
  const run = (m: CausalLMModel) => async () => JSON.stringify((await generate(m, prompts, { maxNewTokens: NEW })).newTokens);
  await compare(`generate.b${B}`, B * NEW, run(decoders[0]!), run(decoders[1]!), (x, y) => x === y);
}
for (const m of decoders) await m.dispose();

const encoderConfig = parseEncoderConfig({
  model_type: 'bert', vocab_size: 30522, hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 1024, max_position_embeddings: 512,
  id2label: Object.fromEntries(Array.from({ length: 43 }, (_, i) => [i, `L${i}`])),
});
const fedEncoder = EncoderModel.fromConfig(encoderConfig, engine);
// the same weights, frozen
const frozenEncoder = new EncoderModel(encoderConfig, fedEncoder.params, { ...engine, frozen: true });
const batch = { batchSize: 16, seqLen: 128, inputIds: randomIds(16 * 128, 30522, 1) };
await compare('encoder.forward', 16 * 128, () => fedEncoder.forward(batch), () => frozenEncoder.forward(batch), (fed, frozen) => {
  const { maxDiff, maxRef } = maxDifference(frozen, fed);
  return maxDiff <= 1e-5 * maxRef;
});
await fedEncoder.dispose();
await frozenEncoder.dispose();
