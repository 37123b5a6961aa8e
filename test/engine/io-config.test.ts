import { HF_TINY } from '../support/paths.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  planShards,
  readCheckpointIndex,
  ropeInverseFrequencies,
  saveConfig,
  writeCheckpointIndex,
  type DecoderConfig,
  type LlamaConfig,
} from '../../src/engine/io/config.js';
import { encoderConfigJson } from '../../src/engine/models/bert/index.js';
import { isEncoderConfig, loadConfig, parseConfig } from '../../src/engine/models/registry.js';

const FIX = HF_TINY;
const fixture = (name: string) => join(process.env.HF_TINY ?? FIX, name);

describe('parseConfig', () => {
  it('should read the transformers 5 fixtures for every family', () => {
    const bert = loadConfig(fixture('bert-tiny-ner'));
    expect(bert.modelType).toBe('bert');
    if (!isEncoderConfig(bert)) throw new Error('expected an encoder config');
    expect(bert.numLabels).toBe(45);
    expect(bert.id2label[10]).toBe('L10');
    expect(bert.intermediateSize).toBe(128);
    const gpt2 = loadConfig(fixture('gpt2-tiny'));
    expect(gpt2).toMatchObject({ modelType: 'gpt2', hiddenSize: 64, numLayers: 2, numHeads: 4, intermediateSize: 256, eosTokenIds: [2], tieWordEmbeddings: true });
    const llama = loadConfig(fixture('llama-tiny')) as LlamaConfig;
    expect(llama).toMatchObject({ modelType: 'llama', numKvHeads: 2, headDim: 16, intermediateSize: 176, rmsNormEps: 1e-6, tieWordEmbeddings: false, padTokenId: 1 });
    expect(llama.rope).toEqual({ theta: 10000, type: 'default', params: {} });
  });

  it('should read transformers 4 spellings (rope_theta, rope_scaling) the same way', () => {
    const v5 = JSON.parse(readFileSync(join(fixture('llama-tiny'), 'config.json'), 'utf8'));
    const v4 = { ...v5, rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 } };
    delete v4.rope_parameters;
    const a = parseConfig(v4) as LlamaConfig;
    const b = parseConfig({ ...v5, rope_parameters: { rope_theta: 500000, rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 } }) as LlamaConfig;
    expect(a.rope).toEqual(b.rope);
    expect(a.rope.theta).toBe(500000);
    const inv = ropeInverseFrequencies(a);
    const plain = ropeInverseFrequencies({ ...a, rope: { theta: 500000, type: 'default', params: {} } });
    // High frequencies are kept, the lowest ones divided by the factor.
    expect(inv[0]).toBeCloseTo(plain[0], 12);
    expect(inv[7] / plain[7]).toBeCloseTo(1 / 8, 12);
  });

  it('should reject unknown model types listing the supported ones', () => {
    expect(() => parseConfig({ model_type: 't5', vocab_size: 3 })).toThrow(/supported: bert, roberta, gpt2, llama/);
    expect(() => parseConfig({ model_type: 'llama', vocab_size: 3, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 3, num_key_value_heads: 2, intermediate_size: 4 })).toThrow(/multiple of num_key_value_heads/);
  });

  it('should save a config that parses back to the same normalized config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    for (const name of ['bert-tiny-ner', 'roberta-tiny-ner', 'gpt2-tiny', 'llama-tiny']) {
      const cfg = loadConfig(fixture(name));
      const changed = { ...cfg, vocabSize: 1234 };
      if (isEncoderConfig(changed)) writeFileSync(join(dir, 'config.json'), JSON.stringify(encoderConfigJson(changed, 'BertForTokenClassification')));
      else saveConfig(dir, changed as DecoderConfig);
      const back = loadConfig(dir);
      const { raw: _a, ...x } = back;
      const { raw: _b, ...y } = changed;
      expect(x).toEqual(y);
      expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).vocab_size).toBe(1234);
    }
  });
});

describe('checkpoint index', () => {
  it('should find a single file or the shards of an index', () => {
    expect(readCheckpointIndex(fixture('gpt2-tiny')).files).toEqual(['model.safetensors']);
    const dir = mkdtempSync(join(tmpdir(), 'shards-'));
    const shards = planShards([['a', 60], ['b', 50], ['c', 10], ['d', 100]], 100);
    expect(shards).toEqual([['a'], ['b', 'c'], ['d']]);
    writeCheckpointIndex(dir, shards, 220);
    expect(() => readCheckpointIndex(dir)).toThrow(/model-00001-of-00003.safetensors/);
    for (const f of ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']) writeFileSync(join(dir, f), '');
    const idx = readCheckpointIndex(dir);
    expect(idx.files).toHaveLength(3);
    expect(idx.weightMap.get('c')).toBe('model-00002-of-00003.safetensors');
    expect(idx.metadata).toEqual({ total_size: 220 });
  });
});
