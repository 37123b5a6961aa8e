import { HF_TINY } from '../support/paths.js';
// EncoderModel behaviour beyond the fixtures: bad checkpoints and inputs, save/load round
// trip, the masked-LM head's gradients, and training-job plumbing.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gradients } from '../../src/engine/graph/index.js';
import { encodeSafetensors, readSafetensors, writeSafetensors } from '../../src/engine/io/safetensors.js';
import { EncoderModel, buildEncoderGraph, loadEncoder, parseEncoderConfig } from '../../src/engine/models/bert/index.js';
import { softmaxCrossEntropy } from '../../src/engine/ops/index.js';
import { Rng } from '../../src/engine/runtime/index.js';
import { Session } from '../../src/engine/runtime/session.js';
import { tokenClassificationBatches, trainLoop } from '../../src/engine/train/index.js';

const BERT = join(HF_TINY, 'bert-tiny-ner');
const ROBERTA = join(HF_TINY, 'roberta-tiny-ner');
const tmp = await mkdtemp(join(tmpdir(), 'engine-encoder-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

async function copyFixture(name: string): Promise<string> {
  const dir = join(tmp, `${name}-${Math.random().toString(36).slice(2)}`);
  await cp(name === 'bert' ? BERT : ROBERTA, dir, { recursive: true });
  return dir;
}

const batch = (T: number, B = 1) => ({ batchSize: B, seqLen: T, inputIds: Array.from({ length: B * T }, (_, i) => 5 + (i % 50)), labels: Array.from({ length: B * T }, (_, i) => i % 45) });

describe('EncoderModel', () => {
  it('should name a missing tensor and its expected shape', async () => {
    const dir = await copyFixture('bert');
    const t = await readSafetensors(join(dir, 'model.safetensors'));
    t.delete('bert.encoder.layer.1.output.dense.weight');
    await writeSafetensors(join(dir, 'model.safetensors'), t);
    await expect(EncoderModel.fromPretrained(dir)).rejects.toThrow(/missing tensor 'bert.encoder.layer.1.output.dense.weight' \(expected shape \[64,128\]\)/);
  });

  it('should name a misshapen tensor with both shapes', async () => {
    const dir = await copyFixture('bert');
    const t = await readSafetensors(join(dir, 'model.safetensors'));
    t.set('classifier.weight', { data: new Float32Array(44 * 64), shape: [44, 64] });
    await writeSafetensors(join(dir, 'model.safetensors'), t);
    await expect(EncoderModel.fromPretrained(dir)).rejects.toThrow(/'classifier.weight' has shape \[44,64\]; expected \[45,64\]/);
  });

  it('should list the supported architectures for an unknown one', async () => {
    const dir = await copyFixture('bert');
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...cfg, model_type: 'electra' }));
    await expect(loadEncoder(dir)).rejects.toThrow(/model_type "electra" is not supported; supported encoders: bert, roberta/);
    expect(() => parseEncoderConfig({ ...cfg, model_type: 'gpt2' })).toThrow(/model_type "gpt2" is a decoder; supported encoders: bert, roberta/);
  });

  it('should reject a sequence longer than the maximum positions', async () => {
    const bert = await EncoderModel.fromPretrained(BERT);
    await expect(bert.forward(batch(129))).rejects.toThrow(/sequence length 129 exceeds the model's maximum of 128 tokens/);
    const roberta = await EncoderModel.fromPretrained(ROBERTA);
    await expect(roberta.forward(batch(129))).rejects.toThrow(/sequence length 129 exceeds the model's maximum of 128 tokens/);
    expect((await roberta.forward(batch(128))).length).toBe(128 * 45);
  });

  it('should read transformers 4 spellings (torch_dtype, num_labels, legacy LayerNorm gamma/beta)', async () => {
    const dir = await copyFixture('bert');
    const cfg = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
    delete cfg.dtype;
    delete cfg.id2label;
    delete cfg.label2id;
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...cfg, torch_dtype: 'float32', num_labels: 45, transformers_version: '4.44.0' }));
    const t = await readSafetensors(join(dir, 'model.safetensors'));
    const renamed = new Map([...t].map(([k, v]) => [k.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta'), v]));
    await writeSafetensors(join(dir, 'model.safetensors'), renamed);
    const m = await EncoderModel.fromPretrained(dir);
    expect(m.config.numLabels).toBe(45);
    expect(m.config.id2label[3]).toBe('LABEL_3');
    const ref = await EncoderModel.fromPretrained(BERT);
    expect(Array.from(await m.forward(batch(8)))).toEqual(Array.from(await ref.forward(batch(8))));
  });

  it('should save config.json + model.safetensors that load back to the same logits', async () => {
    const m = await EncoderModel.fromPretrained(ROBERTA);
    const out = join(tmp, 'saved-roberta');
    await m.save(out);
    const cfg = JSON.parse(await readFile(join(out, 'config.json'), 'utf8'));
    expect(cfg.architectures).toEqual(['RobertaForTokenClassification']);
    expect(cfg.id2label['44']).toBe('L44');
    const back = await loadEncoder(out);
    expect(Array.from(await back.forward(batch(16, 2)))).toEqual(Array.from(await m.forward(batch(16, 2))));
  });

  it('should initialise a new classifier head when fine-tuning with new labels', async () => {
    const m = await EncoderModel.fromPretrained(BERT, { id2label: { 0: 'O', 1: 'B-NAME', 2: 'I-NAME' }, seed: 1 });
    expect(m.config.numLabels).toBe(3);
    expect(m.params.get('classifier.weight')!.length).toBe(3 * 64);
    expect((await m.forward(batch(4))).length).toBe(4 * 3);
  });

  for (const type of ['bert', 'roberta'] as const) {
    it(`should give masked-LM gradients that match finite differences (${type}, tied decoder)`, async () => {
      const cfg = parseEncoderConfig({ model_type: type, vocab_size: 40, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 24, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 });
      const m = EncoderModel.fromConfig(cfg, { head: 'masked-lm', seed: 3 });
      for (const p of m.params.values()) for (let i = 0; i < p.length; i++) p[i]! += 0.05 * Math.sin(i); // break symmetry of fresh LayerNorms/biases
      const b = { batchSize: 2, seqLen: 6, inputIds: [2, 5, 7, 9, 11, 13, 3, 4, 6, 8, 10, 12], labels: [-100, 5, -100, 9, 30, -100, 4, -100, -100, 8, -100, 39] };
      expect((await m.forward(b)).length).toBe(2 * 6 * 40);
      const { loss, grads } = await m.lossAndGrads(b);
      expect(loss).toBeGreaterThan(3);
      const wte = `${type}.embeddings.word_embeddings.weight`;
      const check = [wte, type === 'bert' ? 'cls.predictions.bias' : 'lm_head.bias', `${type}.encoder.layer.0.intermediate.dense.weight`];
      for (const name of check) {
        const p = m.params.get(name)!;
        const g = Float32Array.from(grads.get(name)!);
        for (const i of [0, 83 % p.length, 9, 30 % p.length]) {
          const x0 = p[i]!;
          p[i] = x0 + 1e-2;
          const lp = (await m.lossAndGrads(b)).loss;
          p[i] = x0 - 1e-2;
          const lm = (await m.lossAndGrads(b)).loss;
          p[i] = x0;
          expect(Math.abs((lp - lm) / 2e-2 - g[i]!), `${name}[${i}]`).toBeLessThan(2e-3 + 2e-2 * Math.abs(g[i]!));
        }
      }
    });
  }

  for (const type of ['bert', 'roberta'] as const) {
    it(`should score only the masked positions, with the loss and gradients of the head over every position (${type})`, async () => {
      const cfg = parseEncoderConfig({ model_type: type, vocab_size: 40, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 24, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 });
      const m = EncoderModel.fromConfig(cfg, { head: 'masked-lm', seed: 5 });
      for (const p of m.params.values()) for (let i = 0; i < p.length; i++) p[i]! += 0.05 * Math.sin(i);
      // the reference: the inference logits [B,T,V] of every position, cross-entropy over labels != -100
      const eg = buildEncoderGraph(cfg, 'masked-lm', { contribOps: true });
      const logits = eg.graph.outputs.find((o) => o.name === 'logits')!.tensor.producer!.outputs[0]!;
      const input = (name: string) => eg.graph.inputs.find((t) => t.name === name)!;
      const loss = softmaxCrossEntropy(logits, input('labels'));
      eg.graph.output(loss, 'ref:loss');
      gradients(loss, m.specs.map((s) => input(s.name))).forEach((g, i) => eg.graph.output(g, `ref:${m.specs[i]!.name}`));
      const names = ['ref:loss', ...m.specs.map((s) => `ref:${s.name}`)];
      const ref = await Session.create(eg.graph.toBytes(names, { keepAllInputs: false }));
      const pad = cfg.padTokenId;
      const batches = [
        { batchSize: 2, seqLen: 6, inputIds: [2, 5, 7, 9, 11, 13, 3, 4, 6, 8, pad, pad], attentionMask: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], labels: [-100, 5, -100, 9, 30, -100, 4, -100, -100, 8, -100, -100] },
        { batchSize: 1, seqLen: 4, inputIds: [2, 5, 7, 9], labels: [-100, -100, -100, -100] },
      ];
      for (const b of batches) {
        const want = await ref.run(m['feeds'](b, true), names);
        const got = await m.lossAndGrads(b);
        expect(got.loss).toBeCloseTo(Number(want['ref:loss']!.data[0]), 5);
        for (const s of m.specs) {
          const g = got.grads.get(s.name)!;
          const w = want[`ref:${s.name}`]!.data as Float32Array;
          for (let i = 0; i < g.length; i++) expect(Math.abs(g[i]! - w[i]!), `${s.name}[${i}]`).toBeLessThan(1e-5 + 1e-4 * Math.abs(w[i]!));
        }
      }
      await ref.release();
      await m.dispose();
    });
  }

  it('should apply dropout only in training, with masks from its seeded generator', async () => {
    const raw = { model_type: 'bert', vocab_size: 40, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 24, num_labels: 5 };
    const withDrop = EncoderModel.fromConfig(parseEncoderConfig({ ...raw, hidden_dropout_prob: 0.2, attention_probs_dropout_prob: 0.1 }), { seed: 4 });
    const noDrop = EncoderModel.fromConfig(parseEncoderConfig({ ...raw, hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 }), { seed: 4 });
    const b = { batchSize: 2, seqLen: 6, inputIds: [2, 5, 7, 9, 11, 13, 3, 4, 6, 8, 10, 12], labels: [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1] };
    const plain = (await noDrop.lossAndGrads(b)).loss;
    expect((await withDrop.lossAndGrads(b, { dropout: false })).loss).toBeCloseTo(plain, 6);
    expect(Array.from(await withDrop.forward(b))).toEqual(Array.from(await noDrop.forward(b)));
    const s0 = withDrop.dropoutRng.state;
    const l1 = (await withDrop.lossAndGrads(b)).loss;
    const l2 = (await withDrop.lossAndGrads(b)).loss;
    expect(l1).not.toBeCloseTo(l2, 6);
    withDrop.dropoutRng.state = s0;
    const again = await withDrop.lossAndGrads(b);
    expect(again.loss).toBe(l1);
    // the gradient is that of the loss under those same masks
    const wname = 'bert.encoder.layer.0.output.dense.weight';
    const gw = Float32Array.from(again.grads.get(wname)!);
    const p = withDrop.params.get(wname)!;
    for (const i of [3, 100, 400]) {
      const x0 = p[i]!;
      p[i] = x0 + 1e-2;
      withDrop.dropoutRng.state = s0;
      const lp = (await withDrop.lossAndGrads(b)).loss;
      p[i] = x0 - 1e-2;
      withDrop.dropoutRng.state = s0;
      const lm = (await withDrop.lossAndGrads(b)).loss;
      p[i] = x0;
      expect(Math.abs((lp - lm) / 2e-2 - gw[i]!)).toBeLessThan(2e-3 + 2e-2 * Math.abs(gw[i]!));
    }
  });

  it('should draw dropout keep-masks at the configured rate', () => {
    const keep = new Uint8Array(100_001);
    Rng.fromSeed(9).fillKeepMask(keep, 0.1);
    const kept = keep.reduce((a, b) => a + b, 0) / keep.length;
    expect(Math.abs(kept - 0.9)).toBeLessThan(0.005);
  });

  it('should fine-tune a checkpoint with a new label set and write a loadable model', async () => {
    const out = join(tmp, 'job-out');
    const data = Array.from({ length: 8 }, (_, i) => ({ inputIds: [2, 10 + i, 20 + i, 3], labels: [-100, i % 3, (i + 1) % 3, -100] }));
    const model = await EncoderModel.fromPretrained(BERT, { id2label: { 0: 'O', 1: 'B-X', 2: 'I-X' } });
    const seen: number[] = [];
    const res = await trainLoop(model, tokenClassificationBatches(model, data), { batchSize: 4, epochs: 2, lr: 1e-3 }, { onProgress: (p) => seen.push(p.percent) });
    await model.save(out);
    await model.dispose();
    expect(res.steps).toBe(4);
    expect(seen).toEqual([25, 50, 75, 100]);
    const back = await loadEncoder(out);
    expect(back.config.id2label).toEqual({ 0: 'O', 1: 'B-X', 2: 'I-X' });
    await back.dispose();
  });
});

describe('safetensors', () => {
  it('should read F16 and BF16 as Float32 and round-trip F32/I64', async () => {
    const f16 = new Uint16Array([0x3c00, 0xc000, 0x3555]); // 1, -2, ~0.3333
    const bf16 = new Uint16Array([0x3f80, 0xc040]); // 1, -3
    const header = JSON.stringify({ a: { dtype: 'F16', shape: [3], data_offsets: [0, 6] }, b: { dtype: 'BF16', shape: [2], data_offsets: [6, 10] } });
    const buf = new Uint8Array(8 + header.length + 10);
    new DataView(buf.buffer).setBigUint64(0, BigInt(header.length), true);
    buf.set(new TextEncoder().encode(header), 8);
    buf.set(new Uint8Array(f16.buffer), 8 + header.length);
    buf.set(new Uint8Array(bf16.buffer), 8 + header.length + 6);
    const file = join(tmp, 'half.safetensors');
    await writeFile(file, buf);
    const t = await readSafetensors(file);
    expect(Array.from(t.get('a')!.data as Float32Array).map((v) => +v.toFixed(4))).toEqual([1, -2, 0.3333]);
    expect(Array.from(t.get('b')!.data as Float32Array)).toEqual([1, -3]);
    const rt = join(tmp, 'rt.safetensors');
    await writeFile(rt, encodeSafetensors({ x: { data: Float32Array.from([1.5, -2]), shape: [2, 1] }, i: { data: BigInt64Array.from([7n]), shape: [1] } }));
    const back = await readSafetensors(rt);
    expect(back.get('x')).toEqual({ data: Float32Array.from([1.5, -2]), shape: [2, 1] });
    expect(back.get('i')!.data).toEqual(BigInt64Array.from([7n]));
  });
});
