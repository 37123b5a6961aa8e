// Export a model to the folder layout @huggingface/transformers (transformers.js v4) loads
// from a local path: config.json, tokenizer.json, tokenizer_config.json,
// generation_config.json (decoders) and onnx/model.onnx (fp32, weights inside the file).
//
//   await exportForTransformersJs('/models/ner', '/out/ner', { task: 'token-classification' });
//   // then, in any JS runtime with transformers.js:
//   env.allowRemoteModels = false;
//   const ner = await pipeline('token-classification', '/out/ner');
//
// See docs/engine-export.md for the graph inputs/outputs and what transformers.js reads.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { toHfJson } from '../io/config.js';
import { ENCODER_ARCHITECTURES, EncoderModel, encoderConfigJson } from '../models/bert/index.js';
import { CausalLMModel } from '../models/causal-lm.js';
import { loadModel, modelTypesOf, type LoadedModel } from '../models/registry.js';
import { encodeModel, type ModelData } from '../onnx/index.js';
import { buildDecoderExportGraph } from './decoder-graph.js';
import { buildEncoderExportGraph } from './encoder-graph.js';
import { initializerBytes } from './onnx-util.js';

type Json = Record<string, unknown>;

export type TransformersJsTask = 'token-classification' | 'text-generation';
export const TRANSFORMERS_JS_TASKS: readonly TransformersJsTask[] = ['token-classification', 'text-generation'];

export interface TransformersJsExportOptions {
  task: TransformersJsTask;
  /**
   * The tokenizer to ship: a folder with tokenizer.json (+ tokenizer_config.json). Default: the
   * model folder, when exporting from a folder.
   */
  tokenizerDir?: string;
  /** Or the tokenizer's JSON objects (a loaded TextTokenizer has both fields). */
  tokenizer?: { tokenizerJson: Json; tokenizerConfig?: Json };
  /**
   * Decoders: generation_config.json to write. Default: the model folder's file, else
   * bos/eos/pad token ids from the config.
   */
  generationConfig?: Json;
}

export interface TransformersJsExport {
  dir: string;
  task: TransformersJsTask;
  modelType: string;
  /** Files written, relative to `dir`. */
  files: string[];
  /** The ONNX model's input and output names. */
  inputs: string[];
  outputs: string[];
}

/** What can be exported: a model folder (loaded with loadModel), a loadModel result, or a model. */
export type ExportSource = string | LoadedModel | EncoderModel | CausalLMModel;

/** A protobuf message (the .onnx file) cannot exceed 2 GiB; larger models need external data (not written yet). */
const MAX_ONNX_BYTES = 2 ** 31 - 64 * 2 ** 20;

function readJsonIfExists(path: string): Json | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Json;
  } catch (e) {
    throw new Error(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function resolveModel(source: ExportSource): Promise<LoadedModel> {
  if (typeof source === 'string') return loadModel(source);
  if (source instanceof EncoderModel) return { kind: 'encoder', modelType: source.config.modelType, model: source };
  if (source instanceof CausalLMModel) return { kind: 'decoder', modelType: source.config.modelType, model: source };
  return source;
}

function resolveTokenizer(source: ExportSource, opts: TransformersJsExportOptions): { json: Json; config: Json } {
  if (opts.tokenizer) return { json: opts.tokenizer.tokenizerJson, config: { ...(opts.tokenizer.tokenizerConfig ?? {}) } };
  const dir = opts.tokenizerDir ?? (typeof source === 'string' ? source : undefined);
  if (!dir) throw new Error('exportForTransformersJs: pass `tokenizerDir` (a folder with tokenizer.json) or `tokenizer` when exporting a loaded model');
  const json = readJsonIfExists(join(dir, 'tokenizer.json'));
  if (!json) {
    throw new Error(`exportForTransformersJs: no tokenizer.json in ${dir}; transformers.js needs one (a fast tokenizer). Pass \`tokenizerDir\` or \`tokenizer\``);
  }
  return { json, config: readJsonIfExists(join(dir, 'tokenizer_config.json')) ?? {} };
}

/** transformers.js options in config.json: load onnx/model.onnx (fp32) on every device, no external data. */
function withTransformersJsConfig(config: Json): Json {
  const prev = (config['transformers.js_config'] ?? {}) as Json;
  return { ...config, 'transformers.js_config': { ...prev, dtype: 'fp32', use_external_data_format: false } };
}

/**
 * Write `outDir` in the transformers.js v4 layout for `task`:
 * - token-classification (BERT, RoBERTa with a token-classification head): `AutoModelForTokenClassification`,
 *   `pipeline('token-classification')`; config.json carries id2label.
 * - text-generation (GPT-2, LLaMA; LoRA adapters are merged into the graph): `AutoModelForCausalLM`,
 *   `generate`, `pipeline('text-generation')`, with past key values.
 * Unsupported architectures, heads or task/model combinations are errors naming what is supported.
 */
export async function exportForTransformersJs(source: ExportSource, outDir: string, opts: TransformersJsExportOptions): Promise<TransformersJsExport> {
  if (!opts || !TRANSFORMERS_JS_TASKS.includes(opts.task)) {
    throw new Error(`exportForTransformersJs: unknown task ${JSON.stringify(opts?.task ?? null)}; supported: ${TRANSFORMERS_JS_TASKS.join(', ')}`);
  }
  if (typeof source === 'string' && resolve(source) === resolve(outDir)) {
    throw new Error(`exportForTransformersJs: outDir is the model folder (${outDir}); its config.json would be overwritten`);
  }
  let loaded: LoadedModel;
  try {
    loaded = await resolveModel(source);
  } catch (e) {
    throw new Error(`exportForTransformersJs: ${e instanceof Error ? e.message : String(e)}`);
  }
  const tokenizer = resolveTokenizer(source, opts);

  let onnx: ModelData;
  let config: Json;
  let generationConfig: Json | undefined;
  if (opts.task === 'token-classification') {
    if (loaded.kind !== 'encoder') {
      throw new Error(`exportForTransformersJs: task 'token-classification' needs an encoder (${modelTypesOf('encoder').join(', ')}); got ${loaded.modelType}, a decoder (export it with task 'text-generation')`);
    }
    const model = loaded.model;
    onnx = buildEncoderExportGraph(model);
    config = encoderConfigJson(model.config, ENCODER_ARCHITECTURES[model.config.modelType]['token-classification']);
    // The pipeline truncates to model_max_length: no longer than the position table allows.
    const pad = model.config.modelType === 'roberta' ? model.config.padTokenId + 1 : 0;
    const maxLen = model.config.maxPositions - pad;
    const cur = tokenizer.config.model_max_length;
    if (typeof cur !== 'number' || cur > maxLen) tokenizer.config.model_max_length = maxLen;
  } else {
    if (loaded.kind !== 'decoder') {
      throw new Error(`exportForTransformersJs: task 'text-generation' needs a causal LM (${modelTypesOf('decoder').join(', ')}); got ${loaded.modelType}, an encoder (export it with task 'token-classification')`);
    }
    const model = loaded.model;
    onnx = buildDecoderExportGraph(model);
    config = { ...toHfJson(model.config), architectures: [model.family.architecture], use_cache: true };
    const folderGen = typeof source === 'string' ? readJsonIfExists(join(source, 'generation_config.json')) : undefined;
    const eos = model.config.eosTokenIds;
    generationConfig = opts.generationConfig ??
      folderGen ?? {
        bos_token_id: model.config.bosTokenId,
        eos_token_id: eos.length === 1 ? eos[0] : eos.length ? eos : null,
        pad_token_id: model.config.padTokenId,
      };
    const maxLen = model.config.maxPositionEmbeddings;
    const cur = tokenizer.config.model_max_length;
    if (typeof cur !== 'number' || cur > maxLen) tokenizer.config.model_max_length = maxLen;
    // Batched generation needs left padding (positions come from the mask; the last column is the newest token).
    tokenizer.config.padding_side ??= 'left';
  }

  const bytes = initializerBytes(onnx);
  if (bytes > MAX_ONNX_BYTES) {
    throw new Error(`exportForTransformersJs: the weights are ${(bytes / 2 ** 30).toFixed(2)} GiB; an .onnx file holds at most 2 GiB and external data is not written yet`);
  }

  await mkdir(join(outDir, 'onnx'), { recursive: true });
  const files: string[] = [];
  const write = async (name: string, data: string | Uint8Array): Promise<void> => {
    await writeFile(join(outDir, name), data);
    files.push(name);
  };
  const json = (v: unknown): string => JSON.stringify(v, null, 2) + '\n';
  await write('config.json', json(withTransformersJsConfig(config)));
  if (generationConfig) await write('generation_config.json', json(generationConfig));
  await write('tokenizer.json', JSON.stringify(tokenizer.json));
  await write('tokenizer_config.json', json(tokenizer.config));
  await write('onnx/model.onnx', encodeModel(onnx));
  return {
    dir: outDir,
    task: opts.task,
    modelType: loaded.modelType,
    files,
    inputs: onnx.inputs.map((i) => i.name),
    outputs: onnx.outputs.map((o) => o.name),
  };
}
