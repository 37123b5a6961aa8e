// Throughput of the benchmark decoder (hidden 384, 6 layers, 6 heads, FFN 1536, vocab 8000).
// Run with ENGINE_BENCH=1; skipped otherwise (it takes tens of seconds on 2 cores).
import { describe, expect, it } from 'vitest';
import { generate } from '../../src/engine/generation/index.js';
import { createDecoder } from '../../src/engine/models/registry.js';

const run = process.env.ENGINE_BENCH === '1';
const family = process.env.ENGINE_BENCH_FAMILY ?? 'gpt2';

function config(): Record<string, unknown> {
  return family === 'gpt2'
    ? { model_type: 'gpt2', vocab_size: 8000, n_embd: 384, n_layer: 6, n_head: 6, n_inner: 1536, n_positions: 512, eos_token_id: 2 }
    : { model_type: 'llama', vocab_size: 8000, hidden_size: 384, num_hidden_layers: 6, num_attention_heads: 6, intermediate_size: 1536, max_position_embeddings: 512, eos_token_id: 2 };
}

describe.runIf(run)(`decoder benchmark (${family})`, () => {
  it('should report a training step at 16×128 and generation tokens/s at batch 1 and 16', async () => {
    const model = createDecoder(config(), { seed: 0, intraOpThreads: Number(process.env.ENGINE_THREADS ?? 2) });
    const B = 16;
    const T = 128;
    const ids = Array.from({ length: B * T }, (_, i) => (i * 7919) % 8000);
    const batch = { batchSize: B, seqLen: T, inputIds: ids, labels: ids };
    await model.lossAndGrads(batch); // build + warm up
    const steps = 3;
    let t0 = performance.now();
    for (let i = 0; i < steps; i++) await model.lossAndGrads(batch);
    const stepMs = (performance.now() - t0) / steps;
    const results: string[] = [`train step 16×128 (loss + grads): ${stepMs.toFixed(0)} ms`];
    for (const bs of [1, 16]) {
      const prompts = Array.from({ length: bs }, (_, b) => ids.slice(b * 16, b * 16 + 16));
      await generate(model, prompts, { maxNewTokens: 4 });
      const n = 64;
      t0 = performance.now();
      await generate(model, prompts, { maxNewTokens: n, doSample: true, topK: 50, seed: 1 });
      const s = (performance.now() - t0) / 1000;
      results.push(`generate batch ${bs}: ${((bs * n) / s).toFixed(0)} new tokens/s`);
    }
    console.log(results.join('\n'));
    expect(stepMs).toBeGreaterThan(0);
    await model.dispose();
  });
});
