import { it } from 'vitest';
import ort from 'onnxruntime-node';
import { EncoderModel, parseEncoderConfig } from '../../src/engine/models/bert/index.js';
it('prof', async () => {
  const config = parseEncoderConfig({ model_type: 'bert', vocab_size: 30522, hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, intermediate_size: 1024, max_position_embeddings: 512, id2label: Object.fromEntries(Array.from({ length: 43 }, (_, i) => [i, `L${i}`])) });
  const model = EncoderModel.fromConfig(config, { contribOps: true, intraOpThreads: 2 });
  const bytes = model.onnxModels().training;
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2, graphOptimizationLevel: 'all' });
  const B = 16, T = 128;
  const feeds: Record<string, ort.Tensor> = {};
  const sh = [B, T];
  feeds.input_ids = new ort.Tensor('int64', BigInt64Array.from({ length: B * T }, (_, i) => BigInt((i * 7919) % 30522)), sh);
  feeds.position_ids = new ort.Tensor('int64', BigInt64Array.from({ length: B * T }, (_, i) => BigInt(i % T)), sh);
  feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(B * T), sh);
  feeds.attention_mask = new ort.Tensor('float32', new Float32Array(B * T).fill(1), sh);
  feeds.labels = new ort.Tensor('int64', BigInt64Array.from({ length: B * T }, (_, i) => BigInt(i % 43)), sh);
  for (const sp of model.specs) feeds[sp.name] = new ort.Tensor('float32', model.params.get(sp.name)!, sp.shape);
  const fed: Record<string, ort.Tensor> = {};
  for (const n of s.inputNames) fed[n] = feeds[n]!;
  for (let i = 0; i < 4; i++) { const t = performance.now(); await s.run(fed); console.log('plain run', performance.now() - t); }
  const fetches: Record<string, ort.Tensor> = {};
  for (const sp of model.specs) fetches[`grad:${sp.name}`] = new ort.Tensor('float32', new Float32Array(model.params.get(sp.name)!.length), sp.shape);
  const fetchesAll = { loss: null, ...fetches } as never;
  for (let i = 0; i < 4; i++) { const t = performance.now(); await s.run(fed, fetchesAll); console.log('prealloc run', performance.now() - t); }
  const batch = { batchSize: B, seqLen: T, inputIds: Int32Array.from({ length: B * T }, (_, i) => (i * 7919) % 30522), labels: Int32Array.from({ length: B * T }, (_, i) => i % 43) };
  for (let i = 0; i < 4; i++) { const t = performance.now(); await model.lossAndGrads(batch); console.log('model', performance.now() - t); }
  for (let i = 0; i < 3; i++) { const t = performance.now(); await model.forward(batch); console.log('fwd', performance.now() - t); }
  for (let i = 0; i < 4; i++) { const t = performance.now(); await model.lossAndGrads(batch); console.log('model after fwd', performance.now() - t); }
}, 600000);
