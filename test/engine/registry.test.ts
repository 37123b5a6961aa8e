import { HF_TINY } from '../support/paths.js';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planShards, shardFileName, writeCheckpointIndex } from '../../src/engine/io/config.js';
import { readSafetensors, writeSafetensors } from '../../src/engine/io/safetensors.js';
import { createDecoder, loadModel, MODEL_TYPES, modelKind } from '../../src/engine/models/registry.js';

const FIX = HF_TINY;

describe('model registry', () => {
  it('should map every supported model_type to its architecture kind', () => {
    expect(MODEL_TYPES).toEqual({ bert: 'encoder', roberta: 'encoder', gpt2: 'decoder', llama: 'decoder' });
    expect(() => modelKind('t5')).toThrow(/unsupported model_type "t5"; supported: bert, roberta, gpt2, llama/);
  });

  it('should load encoders and decoders through one loadModel', async () => {
    const bert = await loadModel(join(FIX, 'bert-tiny-ner'));
    expect(bert.kind).toBe('encoder');
    const llama = await loadModel(join(FIX, 'llama-tiny'));
    expect(llama.kind).toBe('decoder');
    expect(llama.modelType).toBe('llama');
  });

  it('should reject an unknown model_type listing the supported ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reg-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'mamba' }));
    await expect(loadModel(dir)).rejects.toThrow(/supported: bert, roberta, gpt2, llama/);
  });

  it('should load a sharded checkpoint (model.safetensors.index.json) like the single file', async () => {
    const src = join(FIX, 'gpt2-tiny');
    const dir = mkdtempSync(join(tmpdir(), 'shard-'));
    copyFileSync(join(src, 'config.json'), join(dir, 'config.json'));
    const tensors = await readSafetensors(join(src, 'model.safetensors'));
    const shards = planShards([...tensors].map(([n, t]) => [n, t.data.byteLength]), 200_000);
    expect(shards.length).toBeGreaterThan(1);
    for (const [i, names] of shards.entries()) {
      await writeSafetensors(join(dir, shardFileName(i, shards.length)), new Map(names.map((n) => [n, tensors.get(n)!])));
    }
    writeCheckpointIndex(dir, shards, 0);
    const ref = JSON.parse(readFileSync(join(src, 'reference.json'), 'utf8'));
    const batch = { batchSize: 1, seqLen: 16, inputIds: ref.input_ids[0].slice(0, 16) };
    const a = await loadModel(dir);
    const b = await loadModel(src);
    if (a.kind !== 'decoder' || b.kind !== 'decoder') throw new Error('expected decoders');
    expect(await a.model.forward(batch)).toEqual(await b.model.forward(batch));
  });

  it('should save a new decoder that loads back with the same outputs', async () => {
    const config = {
      model_type: 'llama', vocab_size: 50, hidden_size: 32, intermediate_size: 48, num_hidden_layers: 1,
      num_attention_heads: 4, num_key_value_heads: 1, max_position_embeddings: 64, rope_theta: 500000, eos_token_id: 2, bos_token_id: 1,
    };
    const model = createDecoder(config, { seed: 3 });
    const dir = mkdtempSync(join(tmpdir(), 'dec-'));
    await model.save(dir);
    const saved = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(saved.rope_parameters.rope_theta).toBe(500000);
    expect(saved.architectures).toEqual(['LlamaForCausalLM']);
    const back = await loadModel(dir);
    if (back.kind !== 'decoder') throw new Error('expected a decoder');
    const batch = { batchSize: 1, seqLen: 5, inputIds: [1, 5, 9, 13, 40] };
    expect(await back.model.forward(batch)).toEqual(await model.forward(batch));
    // The same weights in shards of at most 8 KB.
    const sharded = mkdtempSync(join(tmpdir(), 'dec-sharded-'));
    await model.save(sharded, { maxShardBytes: 8192 });
    const index = JSON.parse(readFileSync(join(sharded, 'model.safetensors.index.json'), 'utf8'));
    expect(new Set(Object.values(index.weight_map)).size).toBeGreaterThan(1);
    const back2 = await loadModel(sharded);
    if (back2.kind !== 'decoder') throw new Error('expected a decoder');
    expect(await back2.model.forward(batch)).toEqual(await model.forward(batch));
  });
});
