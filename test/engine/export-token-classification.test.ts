import { HF_TINY } from '../support/paths.js';
// Export BERT / RoBERTa token classifiers for transformers.js and run the exported folder
// through @huggingface/transformers itself (local files only): its logits must be the
// engine's forward (and the Hugging Face reference), its pipeline the engine's predictions.
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AutoModelForTokenClassification, env, pipeline, Tensor } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportForTransformersJs } from '../../src/engine/export/index.js';
import { readSafetensors } from '../../src/engine/io/safetensors.js';
import { EncoderModel, parseEncoderConfig } from '../../src/engine/models/bert/index.js';
import { loadTokenizer } from '../../src/engine/tokenizers/index.js';
import { maxDifference } from '../../src/engine/check/hf-fixtures.js';
import { useLocalTransformersJs } from '../support/transformers-js.js';

const FIX = HF_TINY;

const local = useLocalTransformersJs('export-tjs-ner-');

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; scale: number } {
  const { maxDiff: diff, maxRef: scale } = maxDifference(a, b);
  return { diff, scale };
}

const i64 = (rows: number[][]): Tensor => new Tensor('int64', BigInt64Array.from(rows.flat(), (x) => BigInt(x)), [rows.length, rows[0]!.length]);

for (const name of ['bert-tiny-ner', 'roberta-tiny-ner']) {
  describe(`transformers.js export: ${name}`, () => {
    const dir = join(FIX, name);
    const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as { input_ids: number[][]; attention_mask: number[][] };
    let engine: EncoderModel;
    beforeAll(async () => {
      engine = await EncoderModel.fromPretrained(dir, { intraOpThreads: 2 });
      const res = await exportForTransformersJs(dir, join(local.dir(), name), { task: 'token-classification' });
      expect(res.files.sort()).toEqual(['config.json', 'onnx/model.onnx', 'tokenizer.json', 'tokenizer_config.json']);
      expect(res.inputs).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
      expect(res.outputs).toEqual(['logits']);
    });
    afterAll(() => engine?.dispose());

    it('loads with AutoModelForTokenClassification and gives the engine logits (padded batch)', async () => {
      // by model id under env.localModelPath
      const model = await AutoModelForTokenClassification.from_pretrained(name, { dtype: 'fp32', device: 'cpu' });
      const B = ref.input_ids.length;
      const T = ref.input_ids[0]!.length;
      const out = await model({ input_ids: i64(ref.input_ids), attention_mask: i64(ref.attention_mask) }); // token_type_ids: zeros, filled by the library
      expect(out.logits.dims).toEqual([B, T, engine.config.numLabels]);
      const got = out.logits.data as Float32Array;
      const mine = await engine.forward({ batchSize: B, seqLen: T, inputIds: ref.input_ids.flat(), attentionMask: ref.attention_mask.flat() });
      const vsEngine = maxDiff(got, mine);
      const hf = (await readSafetensors(join(dir, 'reference_logits.safetensors'))).get('logits')!.data as Float32Array;
      const vsHf = maxDiff(got, hf);
      console.log(`${name} transformers.js logits: max diff vs engine ${vsEngine.diff.toExponential(3)}, vs HF reference ${vsHf.diff.toExponential(3)} (max |logit| ${vsEngine.scale.toFixed(3)})`);
      expect(vsEngine.diff).toBeLessThanOrEqual(1e-4 * vsEngine.scale);
      expect(vsHf.diff).toBeLessThanOrEqual(1e-4 * vsHf.scale);
      expect((model.config as unknown as { id2label: Record<string, string> }).id2label[3]).toBe(engine.config.id2label[3]);
      await model.dispose();
    });

    it("runs as pipeline('token-classification') with the engine's predictions", async () => {
      const ner = await pipeline('token-classification', join(local.dir(), name), { dtype: 'fp32', device: 'cpu' });
      const text = 'Paciente: Juan García López, 45 años. Ingresa en el Hospital La Paz, Madrid, el 12/03/2019.';
      const ids = (ner.tokenizer(text).input_ids as Tensor).tolist()[0] as bigint[];
      const T = ids.length;
      const logits = await engine.forward({ batchSize: 1, seqLen: T, inputIds: ids.map(Number) });
      const L = engine.config.numLabels;
      const tokens = (await ner(text, { ignore_labels: [] })) as Array<{ entity: string; score: number; index: number; word: string }>;
      expect(tokens.length).toBeGreaterThan(5);
      let maxScoreDiff = 0;
      for (const t of tokens) {
        const row = logits.subarray(t.index * L, (t.index + 1) * L);
        let best = 0;
        for (let j = 1; j < L; j++) if (row[j]! > row[best]!) best = j;
        expect(t.entity).toBe(engine.config.id2label[best]);
        const z = row.reduce((a, x) => a + Math.exp(x - row[best]!), 0);
        maxScoreDiff = Math.max(maxScoreDiff, Math.abs(t.score - 1 / z));
      }
      console.log(`${name} pipeline: ${tokens.length} tokens, labels equal the engine's arg-max; max score diff ${maxScoreDiff.toExponential(2)}`);
      expect(maxScoreDiff).toBeLessThan(1e-5);
      await ner.dispose();
    });
  });
}

describe('transformers.js export: a model in memory', () => {
  it('exports a loaded model with a tokenizer object, byte-identical to the folder export', async () => {
    const dir = join(FIX, 'bert-tiny-ner');
    const model = await EncoderModel.fromPretrained(dir);
    await exportForTransformersJs(model, join(local.dir(), 'bert-mem'), { task: 'token-classification', tokenizer: loadTokenizer(dir) });
    await exportForTransformersJs(dir, join(local.dir(), 'bert-dir'), { task: 'token-classification' });
    const a = readFileSync(join(local.dir(), 'bert-mem', 'onnx', 'model.onnx'));
    expect(a.equals(readFileSync(join(local.dir(), 'bert-dir', 'onnx', 'model.onnx')))).toBe(true);
    expect(readFileSync(join(local.dir(), 'bert-mem', 'tokenizer.json'), 'utf8')).toBe(readFileSync(join(local.dir(), 'bert-dir', 'tokenizer.json'), 'utf8'));
  });

  it('exports a fresh RoBERTa with dropout and new labels (padding inside the batch)', async () => {
    const cfg = parseEncoderConfig({
      model_type: 'roberta', vocab_size: 1000, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 48,
      max_position_embeddings: 40, pad_token_id: 1, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, type_vocab_size: 1,
      id2label: { 0: 'O', 1: 'B-NAME', 2: 'I-NAME' },
    });
    const model = EncoderModel.fromConfig(cfg, { seed: 7 });
    await exportForTransformersJs(model, join(local.dir(), 'roberta-fresh'), { task: 'token-classification', tokenizerDir: join(FIX, 'roberta-tiny-ner') });
    const tjs = await AutoModelForTokenClassification.from_pretrained(join(local.dir(), 'roberta-fresh'), { dtype: 'fp32' });
    const ids = [
      [0, 50, 60, 70, 80, 90, 2, 1, 1],
      [0, 1, 55, 65, 1, 75, 85, 95, 2], // pad ids inside the row: positions skip them as in transformers
    ];
    const mask = ids.map((r) => r.map((x) => (x === 1 ? 0 : 1)));
    const out = await tjs({ input_ids: i64(ids), attention_mask: i64(mask) });
    const mine = await model.forward({ batchSize: 2, seqLen: 9, inputIds: ids.flat(), attentionMask: mask.flat() });
    const { diff, scale } = maxDiff(out.logits.data as Float32Array, mine);
    expect(diff).toBeLessThanOrEqual(1e-4 * scale);
    const tok = JSON.parse(readFileSync(join(local.dir(), 'roberta-fresh', 'tokenizer_config.json'), 'utf8'));
    expect(tok.model_max_length).toBe(38); // max_position_embeddings − (padding_idx + 1)
    await tjs.dispose();
    await model.dispose();
  });
});

describe('transformers.js export: errors', () => {
  it('rejects a task the architecture does not have, unknown tasks and unsupported model types', async () => {
    await expect(exportForTransformersJs(join(FIX, 'bert-tiny-ner'), join(local.dir(), 'x1'), { task: 'text-generation' })).rejects.toThrow(/needs a causal LM \(gpt2, llama\); got bert/);
    await expect(exportForTransformersJs(join(FIX, 'gpt2-tiny'), join(local.dir(), 'x2'), { task: 'token-classification' })).rejects.toThrow(/needs an encoder \(bert, roberta\); got gpt2/);
    await expect(exportForTransformersJs(join(FIX, 'bert-tiny-ner'), join(local.dir(), 'x3'), { task: 'fill-mask' as never })).rejects.toThrow(/unknown task "fill-mask"; supported: token-classification, text-generation/);
    const t5 = join(local.dir(), 't5-src');
    mkdirSync(t5, { recursive: true });
    writeFileSync(join(t5, 'config.json'), JSON.stringify({ model_type: 't5' }));
    await expect(exportForTransformersJs(t5, join(local.dir(), 'x4'), { task: 'text-generation' })).rejects.toThrow(/unsupported model_type "t5"; supported: bert, roberta, gpt2, llama/);
    const mlm = EncoderModel.fromConfig(
      (await EncoderModel.fromPretrained(join(FIX, 'bert-tiny-ner'))).config,
      { head: 'masked-lm' },
    );
    await expect(exportForTransformersJs(mlm, join(local.dir(), 'x5'), { task: 'token-classification', tokenizerDir: join(FIX, 'bert-tiny-ner') })).rejects.toThrow(/'masked-lm' head; only 'token-classification'/);
    const ner = await EncoderModel.fromPretrained(join(FIX, 'bert-tiny-ner'));
    await expect(exportForTransformersJs(ner, join(local.dir(), 'x6'), { task: 'token-classification' })).rejects.toThrow(/pass `tokenizerDir`/);
    await expect(exportForTransformersJs(join(FIX, 'bert-tiny-ner'), join(FIX, 'bert-tiny-ner', '.'), { task: 'token-classification' })).rejects.toThrow(/outDir is the model folder/);
    for (const x of ['x1', 'x2', 'x3', 'x4', 'x5', 'x6']) expect(existsSync(join(local.dir(), x, 'onnx', 'model.onnx'))).toBe(false);
  });
});
