import { it } from 'vitest';
import ort from 'onnxruntime-node';
import { readFileSync, rmSync } from 'node:fs';
import { EncoderModel, parseEncoderConfig } from '../../src/engine/models/bert/index.js';
it('prof', async () => {
  const config = parseEncoderConfig({ model_type: 'bert', vocab_size: 30522, hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 1024, max_position_embeddings: 512, id2label: Object.fromEntries(Array.from({ length: 43 }, (_, i) => [i, `L${i}`])) });
  const model = EncoderModel.fromConfig(config, { contribOps: true });
  const bytes = model.onnxModels().training;
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2, enableProfiling: true, profileFilePrefix: '/tmp/ortprof', graphOptimizationLevel: 'all' });
  const B = 16, T = 128, sh = [B, T];
  const feeds: Record<string, ort.Tensor> = {};
  feeds.input_ids = new ort.Tensor('int64', BigInt64Array.from({ length: B * T }, (_, i) => BigInt((i * 7919) % 30522)), sh);
  feeds.position_ids = new ort.Tensor('int64', BigInt64Array.from({ length: B * T }, (_, i) => BigInt(i % T)), sh);
  feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(B * T), sh);
  feeds.attention_mask = new ort.Tensor('float32', new Float32Array(B * T).fill(1), sh);
  feeds.labels = new ort.Tensor('int64', BigInt64Array.from({ length: B * T }, (_, i) => BigInt(i % 43)), sh);
  for (const sp of model.specs) feeds[sp.name] = new ort.Tensor('float32', model.params.get(sp.name)!, sp.shape);
  const fed: Record<string, ort.Tensor> = {};
  for (const n of s.inputNames) fed[n] = feeds[n]!;
  const fetches: Record<string, ort.Tensor | null> = { loss: null };
  for (const sp of model.specs) fetches[`grad:${sp.name}`] = new ort.Tensor('float32', new Float32Array(model.params.get(sp.name)!.length), sp.shape);
  const times = [];
  for (let i = 0; i < 6; i++) { const t = performance.now(); await s.run(fed, fetches as never); times.push(performance.now() - t); }
  console.log('runs', times.map((t) => t.toFixed(0)).join(' '));
  s.endProfiling();
}, 600000);
