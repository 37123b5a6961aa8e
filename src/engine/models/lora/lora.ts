// LoRA adapters in PEFT's format: adapter_config.json + adapter_model.safetensors with
// tensors named base_model.model.<module>.lora_A.weight [r, in] and .lora_B.weight [out, r].
// A projection with an adapter computes W x + (alpha / r) · B (A x). The adapter trains alone
// (model.trainable = 'lora': the training graph differentiates only A and B) and can be
// merged into the base weights (W += scaling · B A) for adapter-free inference.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors, type NamedTensor } from '../../io/safetensors.js';
import { Rng } from '../../runtime/rng.js';
import { readJson, type CausalLMModel, type LoraSettings, type LoraTarget } from '../causal-lm.js';

const PREFIX = 'base_model.model.';

/** Read PEFT's adapter_config.json; options this engine does not implement are refused by name. */
export function parseLoraConfig(json: Record<string, unknown>): LoraSettings {
  if (json.peft_type !== undefined && json.peft_type !== 'LORA') throw new Error(`adapter peft_type '${String(json.peft_type)}' is not supported; supported: LORA`);
  const unsupported: Array<[string, boolean]> = [
    ['use_dora', json.use_dora === true],
    ['bias', json.bias !== undefined && json.bias !== 'none'],
    ['rank_pattern', !!json.rank_pattern && Object.keys(json.rank_pattern as object).length > 0],
    ['alpha_pattern', !!json.alpha_pattern && Object.keys(json.alpha_pattern as object).length > 0],
    ['modules_to_save', Array.isArray(json.modules_to_save) && json.modules_to_save.length > 0],
    ['layers_to_transform', json.layers_to_transform !== undefined && json.layers_to_transform !== null],
  ];
  for (const [name, bad] of unsupported) if (bad) throw new Error(`adapter_config.json: ${name} = ${JSON.stringify(json[name])} is not supported`);
  const r = Number(json.r);
  const alpha = Number(json.lora_alpha ?? r);
  if (!(r > 0)) throw new Error('adapter_config.json: r must be a positive integer');
  const tm = json.target_modules;
  const targetModules = Array.isArray(tm) ? tm.map(String) : typeof tm === 'string' ? [tm] : [];
  if (!targetModules.length) throw new Error('adapter_config.json: target_modules is empty');
  return { r, alpha, targetModules, scaling: json.use_rslora === true ? alpha / Math.sqrt(r) : alpha / r };
}

/** PEFT's matching: a module matches a target if its name ends with ".<target>" (or equals it); a lone string is a regex. */
function matches(module: string, targets: string[]): boolean {
  if (targets.length === 1 && /[\\^$*+?()[\]|]/.test(targets[0]!)) return new RegExp(`^(?:${targets[0]})$`).test(module);
  return targets.some((t) => module === t || module.endsWith(`.${t}`));
}

export function loraTargets(model: CausalLMModel, settings: LoraSettings): LoraTarget[] {
  const targets = model.family
    .projections(model.config)
    .filter((p) => matches(p.name, settings.targetModules))
    .map((p) => ({
      module: p.name,
      a: { name: `${p.name}.lora_A.weight`, shape: [settings.r, p.inFeatures], init: 'normal' as const },
      b: { name: `${p.name}.lora_B.weight`, shape: [p.outFeatures, settings.r], init: 'zeros' as const },
    }));
  if (!targets.length) {
    const names = [...new Set(model.family.projections(model.config).map((p) => p.name.split('.').at(-1)))];
    throw new Error(`LoRA target_modules ${JSON.stringify(settings.targetModules)} match no projection of ${model.config.modelType}; available: ${names.join(', ')}`);
  }
  return targets;
}

/** Attach the PEFT adapter in `folder` to the model (its base). */
export async function loadLora(model: CausalLMModel, folder: string): Promise<LoraSettings> {
  const settings = parseLoraConfig(await readJson(join(folder, 'adapter_config.json')));
  const file = join(folder, 'adapter_model.safetensors');
  if (!existsSync(file)) throw new Error(`${folder}: no adapter_model.safetensors (adapter_model.bin is not supported)`);
  const tensors = await readSafetensors(file);
  const targets = loraTargets(model, settings);
  const weights = new Map<string, Float32Array>();
  for (const t of targets) {
    for (const s of [t.a, t.b]) {
      const key = PREFIX + s.name;
      const alt = key.replace(/\.weight$/, '.default.weight');
      const x: NamedTensor | undefined = tensors.get(key) ?? tensors.get(alt);
      if (!x) throw new Error(`${file}: missing '${key}'`);
      if (x.shape.join() !== s.shape.join()) throw new Error(`${file}: '${key}' has shape [${x.shape}]; expected [${s.shape}]`);
      weights.set(s.name, x.data as Float32Array);
    }
  }
  model.setLora(settings, targets, weights);
  return settings;
}

export interface NewLoraOptions {
  r?: number;
  alpha?: number;
  targetModules?: string[];
  seed?: number;
}

/**
 * A fresh adapter as PEFT initialises it (A: kaiming-uniform, B: zeros, so the model is
 * unchanged at first) and switches the model to training the adapter alone.
 */
export function addLora(model: CausalLMModel, opts: NewLoraOptions = {}): LoraSettings {
  const r = opts.r ?? 8;
  const alpha = opts.alpha ?? 2 * r;
  const defaults = model.config.modelType === 'gpt2' ? ['c_attn', 'c_proj'] : ['q_proj', 'v_proj'];
  const settings: LoraSettings = { r, alpha, targetModules: opts.targetModules ?? defaults, scaling: alpha / r };
  const targets = loraTargets(model, settings);
  const rng = Rng.fromSeed(opts.seed ?? 0, 'lora-init');
  const weights = new Map<string, Float32Array>();
  for (const t of targets) {
    const inF = t.a.shape[1]!;
    const bound = 1 / Math.sqrt(inF); // kaiming_uniform_(a=√5) on [r, in]
    weights.set(t.a.name, Float32Array.from({ length: r * inF }, () => (2 * rng.nextFloat() - 1) * bound));
    weights.set(t.b.name, new Float32Array(t.b.shape[0]! * r));
  }
  model.setLora(settings, targets, weights);
  model.trainable = 'lora';
  return settings;
}

/** Write adapter_config.json + adapter_model.safetensors (PEFT layout). */
export async function saveLora(model: CausalLMModel, folder: string, baseModelNameOrPath = ''): Promise<void> {
  if (!model.lora) throw new Error('the model has no LoRA adapter to save');
  const { settings, targets } = model.lora;
  await mkdir(folder, { recursive: true });
  const config = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModelNameOrPath,
    r: settings.r,
    lora_alpha: settings.alpha,
    lora_dropout: 0,
    target_modules: settings.targetModules,
    bias: 'none',
    fan_in_fan_out: model.config.modelType === 'gpt2',
    use_rslora: Math.abs(settings.scaling - settings.alpha / settings.r) > 1e-12,
    use_dora: false,
    init_lora_weights: true,
    inference_mode: true,
    modules_to_save: null,
  };
  await writeFile(join(folder, 'adapter_config.json'), JSON.stringify(config, null, 2) + '\n');
  const tensors: Record<string, NamedTensor> = {};
  for (const t of targets) for (const s of [t.a, t.b]) tensors[PREFIX + s.name] = { data: model.params.get(s.name)!, shape: s.shape };
  await writeSafetensors(join(folder, 'adapter_model.safetensors'), tensors);
}

/** Fold the adapter into the base weights (W += scaling · B A, transposed for Conv1D) and drop it. */
export function mergeLora(model: CausalLMModel): void {
  if (!model.lora) throw new Error('the model has no LoRA adapter to merge');
  const { settings, targets } = model.lora;
  const kinds = new Map(model.family.projections(model.config).map((p) => [p.name, p.kind]));
  for (const t of targets) {
    const A = model.params.get(t.a.name)!;
    const B = model.params.get(t.b.name)!;
    const [r, inF] = t.a.shape as [number, number];
    const outF = t.b.shape[0]!;
    const W = model.params.get(`${t.module}.weight`)!;
    const conv = kinds.get(t.module) === 'conv1d'; // W is [in, out]
    for (let o = 0; o < outF; o++) {
      for (let i = 0; i < inF; i++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += B[o * r + k]! * A[k * inF + i]!;
        W[conv ? i * outF + o : o * inF + i]! += settings.scaling * s;
      }
    }
  }
  model.removeLora();
}
