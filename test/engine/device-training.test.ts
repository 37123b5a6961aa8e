// Training with AdamW in the graph (train/device-training.ts), through the one training loop:
// - resident (WebGPU: weights and moments stay on the device) and looped (CUDA: several steps
//   per run) give the run the CPU gives with the host's AdamW, step for step;
// - validation and checkpoints see the step's weights; a killed run resumes to the same end.
// Looped training runs on any device, so it is checked here on the CPU. Resident needs WebGPU:
// without an adapter (no GPU and no Mesa lavapipe, docs/gpu.md) the device fails at once.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxDifference } from '../../src/engine/check/hf-fixtures.js';
import { EncoderModel, parseEncoderConfig } from '../../src/engine/models/bert/index.js';
import { Graph } from '../../src/engine/graph/index.js';
import { appendAdamW, adamwNames, GRAD_NORM } from '../../src/engine/optim/adamw-graph.js';
import { AdamW } from '../../src/engine/optim/adamw.js';
import { Session } from '../../src/engine/runtime/session.js';
import type { Device } from '../../src/engine/runtime/session.js';
import { adaptGenerator, type AdaptGeneratorSpec } from '../../src/engine/tasks/index.js';
import { NonFiniteLossError, latestCheckpoint, trainLoop, tokenClassificationBatches } from '../../src/engine/train/index.js';
import type { BatchSource, TokenClassificationExample, TrainConfig, TrainProgress, Trainable } from '../../src/engine/train/index.js';
import type { DeviceTraining } from '../../src/engine/train/device-training.js';
import type { Rng } from '../../src/engine/runtime/rng.js';
import type { EncoderBatch } from '../../src/engine/models/bert/index.js';
import { readSafetensors } from '../../src/engine/io/safetensors.js';
import { probeDevice } from '../../src/tools/check-device.js';
import { CausalLMModel } from '../../src/engine/models/causal-lm.js';
import { addLora } from '../../src/engine/models/lora/index.js';
import { loadModel } from '../../src/engine/models/registry.js';
import { causalWindows, decoderTrainable } from '../../src/engine/tasks/adapt.js';
import { HF_TINY } from '../support/paths.js';

const tmp = await mkdtemp(join(tmpdir(), 'engine-device-training-'));
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** Weights after a few steps from the same start agree to this (kernels round differently; Adam divides by √v). */
const WEIGHT_TOLERANCE = 2e-5;

function encoder(device: Device, head: 'token-classification' | 'masked-lm' = 'token-classification'): EncoderModel {
  const config = parseEncoderConfig({
    model_type: 'bert',
    vocab_size: 60,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    intermediate_size: 64,
    max_position_embeddings: 32,
    id2label: { 0: 'O', 1: 'B-X', 2: 'I-X' },
  });
  return EncoderModel.fromConfig(config, { seed: 2, device, head, ...(device === 'cpu' ? { intraOpThreads: 2 } : {}) });
}

const EXAMPLES: TokenClassificationExample[] = Array.from({ length: 24 }, (_, i) => {
  const n = 6 + (i % 9);
  const inputIds = Array.from({ length: n }, (_, t) => 1 + ((i * 7 + t * 3) % 59));
  return { inputIds, labels: inputIds.map((id) => (id % 5 === 0 ? 1 : id % 5 === 1 ? 2 : 0)) };
});

/** Masked-LM batches: fixed windows of 12 tokens, every third position masked (label = its token). */
function maskedWindows(): BatchSource<EncoderBatch> {
  const T = 12;
  return {
    size: EXAMPLES.length,
    batch: (indices) => {
      const inputIds = indices.flatMap((i) => Array.from({ length: T }, (_, t) => 1 + ((i * 7 + t * 3) % 59)));
      const labels = inputIds.map((id, k) => (k % 3 === 0 ? id : -100));
      return { batchSize: indices.length, seqLen: T, inputIds: inputIds.map((id, k) => (k % 3 === 0 ? 59 : id)), labels };
    },
  };
}

/** A model as the training loop sees it, asking for looped training whatever its device (the CPU's own choice is the host's AdamW). */
function asLooped<B>(model: { specs: Trainable<B>['specs']; params: Map<string, Float32Array>; lossAndGrads: Trainable<B>['lossAndGrads']; dropoutRng?: Rng; deviceTraining(kind: 'looped'): Promise<DeviceTraining<B> | null> }): Trainable<B> {
  return { specs: model.specs, params: model.params, lossAndGrads: (b) => model.lossAndGrads(b), ...(model.dropoutRng ? { dropoutRng: model.dropoutRng } : {}), deviceTraining: () => model.deviceTraining('looped') };
}

const CONFIG: TrainConfig = { batchSize: 4, epochs: 2, maxSteps: 8, lr: 5e-3, warmupSteps: 2, maxGradNorm: 0.5, seed: 5 };

const tensors = async (file: string): Promise<Map<string, Float32Array>> => new Map([...(await readSafetensors(file))].map(([name, t]) => [name, t.data as Float32Array]));

function worstWeight(a: Map<string, Float32Array>, b: Map<string, Float32Array>): { name: string; diff: number } {
  let worst = { name: '', diff: 0 };
  for (const [name, x] of a) {
    const { maxDiff } = maxDifference(b.get(name)!, x);
    if (maxDiff > worst.diff) worst = { name, diff: maxDiff };
  }
  return worst;
}

describe('training with AdamW in the graph', () => {
  let adapter = false;
  beforeAll(async () => {
    try {
      await probeDevice('webgpu', 1);
      adapter = true;
    } catch (e) {
      expect((e as Error).message).toMatch(/device 'webgpu' is unavailable/);
    }
  });

  it('should update as the host AdamW does, clipping included', { timeout: 60_000 }, async () => {
    // the update alone, on the CPU (the session is the same ops on every device)
    const g = new Graph('adamw');
    const p = g.input('p', 'float32', [3, 4]);
    const grad = g.input('grad', 'float32', [3, 4]);
    const outputs = appendAdamW(g, [{ name: p.name, shape: [3, 4], grad: grad.name }]);
    const session = await Session.create(g.toBytes(outputs), { name: 'adamw' });
    const host = new AdamW({ lr: 0.01, weightDecay: 0.1 });
    const device = new AdamW({ lr: 0.01, weightDecay: 0.1 });
    const params = new Map([['p', Float32Array.from({ length: 12 }, (_, i) => Math.sin(i))]]);
    let [pd, md, vd] = [params.get('p')!.slice(), new Float32Array(12), new Float32Array(12)];
    for (let step = 0; step < 3; step++) {
      const gr = Float32Array.from({ length: 12 }, (_, i) => Math.cos(i * (step + 1)) * 2);
      const { gradNorm } = host.step(params, new Map([['p', gr]]), { maxGradNorm: 1 });
      const k = device.advance();
      const s = (x: number) => ({ data: Float32Array.of(x), shape: [] });
      const n = adamwNames('p');
      const out = await session.run({
        p: { data: pd, shape: [3, 4] }, grad: { data: gr, shape: [3, 4] }, [n.m]: { data: md, shape: [3, 4] }, [n.v]: { data: vd, shape: [3, 4] },
        'adamw.b1': s(k.b1), 'adamw.c1': s(1 - k.b1), 'adamw.b2': s(k.b2), 'adamw.c2': s(1 - k.b2), 'adamw.eps': s(k.eps),
        'adamw.step_size': s(k.stepSize), 'adamw.inv': s(k.inv), 'adamw.decay': s(k.decay), 'adamw.max_norm': s(1),
      });
      [pd, md, vd] = [n.nextParam, n.nextM, n.nextV].map((x) => out[x]!.data as Float32Array) as [Float32Array, Float32Array, Float32Array];
      expect((out[GRAD_NORM]!.data as Float32Array)[0]).toBeCloseTo(gradNorm, 5);
      expect(maxDifference(pd, params.get('p')!).maxDiff).toBeLessThan(1e-6);
      expect(maxDifference(md, host.state.m.get('p')!).maxDiff).toBeLessThan(1e-6);
      expect(maxDifference(vd, host.state.v.get('p')!).maxDiff).toBeLessThan(1e-6);
    }
    await session.release();
  });

  it('should refuse device outputs on a device other than webgpu', async () => {
    const g = new Graph('id');
    const x = g.input('x', 'float32', [2]);
    g.output(x, 'x');
    await expect(Session.create(g.toBytes(['x']), { deviceOutputs: ['x'] })).rejects.toThrow(/only on 'webgpu'/);
  });

  it.each([
    ['resident', 'token-classification'],
    ['resident', 'masked-lm'],
    ['looped', 'token-classification'],
    ['looped', 'masked-lm'],
  ] as const)('should train an encoder %s (%s) as the CPU does with the host AdamW', { timeout: 120_000 }, async (kind, head) => {
    const cpu = encoder('cpu', head);
    const other = encoder(kind === 'resident' ? 'webgpu' : 'cpu', head);
    if (kind === 'resident' && !adapter) {
      await expect(other.deviceTraining()).rejects.toThrow(/device 'webgpu' is unavailable/);
      return;
    }
    // the CPU's own choice is the host's AdamW; looped training is asked for
    expect(await cpu.deviceTraining()).toBeNull();
    const trainable = kind === 'resident' ? other : asLooped(other);
    const batches = (model: EncoderModel): BatchSource<EncoderBatch> => (head === 'masked-lm' ? maskedWindows() : tokenClassificationBatches(model, EXAMPLES));
    // validation and checkpoints read the weights on the host: they must be those of that step
    // (looped runs end at each of them: steps 1–3, 4, 5–6 (the epoch's end), 7–8)
    const probe = { batchSize: 1, seqLen: 6, inputIds: [3, 14, 15, 9, 26, 5] };
    const validate = (model: EncoderModel) => async () => (await model.forward(probe)).reduce((x, y) => x + y, 0);
    const config = (run: string): TrainConfig => ({ ...CONFIG, validateEverySteps: 3, checkpointDir: join(tmp, `${kind}-${head}-${run}`), checkpointEverySteps: 4 });
    const a = await trainLoop(cpu, batches(cpu), config('host'), { validate: validate(cpu) });
    const b = await trainLoop(trainable, batches(other), config(kind), { validate: validate(other) });
    expect(b.steps).toBe(8);
    expect(b.validations.map((v) => v.step)).toEqual([3, 6, 8]);
    expect(b.validations.map((v) => v.step)).toEqual(a.validations.map((v) => v.step));
    for (const [i, v] of a.validations.entries()) expect(Math.abs(b.validations[i]!.score - v.score), `validation at step ${v.step}`).toBeLessThan(1e-4 * Math.abs(v.score) + 1e-5);
    expect(b.bestStep).toBe(a.bestStep);
    for (let i = 0; i < a.losses.length; i++) expect(Math.abs(b.losses[i]! - a.losses[i]!), `loss ${i}`).toBeLessThan(1e-3 * Math.abs(a.losses[i]!));
    let worst = worstWeight(cpu.params, other.params);
    expect(worst.diff, worst.name).toBeLessThan(WEIGHT_TOLERANCE);
    // the weights changed: a run that never brought them back to the host would hold the initial ones
    expect(worstWeight(encoder('cpu', head).params, other.params).diff).toBeGreaterThan(1e-3);
    // the last checkpoint holds the last step's weights and moments
    for (const file of ['weights.safetensors', 'optimizer.safetensors']) {
      const [x, y] = await Promise.all(['host', kind].map(async (run) => tensors(join((await latestCheckpoint(join(tmp, `${kind}-${head}-${run}`)))!, file))));
      expect([...y!.keys()].sort()).toEqual([...x!.keys()].sort());
      worst = worstWeight(x!, y!);
      expect(worst.diff, `${file}: ${worst.name}`).toBeLessThan(WEIGHT_TOLERANCE);
    }
    await cpu.dispose();
    await other.dispose();
  });

  const TEXTS = Array.from({ length: 24 }, (_, i) => `Paciente de ${30 + i} años con dolor abdominal; alta el día ${1 + (i % 28)} sin complicaciones.`);
  const adaptSpec = (name: string, device: Device, lora: AdaptGeneratorSpec['lora'], extra: Partial<AdaptGeneratorSpec> = {}): AdaptGeneratorSpec => ({
    modelDir: join(HF_TINY, lora ? 'llama-tiny' : 'gpt2-tiny'),
    texts: TEXTS,
    outputDir: join(tmp, name, 'model'),
    lora,
    seqLen: 16,
    batchSize: 4,
    epochs: 3,
    maxSteps: 9,
    lr: 3e-3,
    warmupSteps: 2,
    seed: 4,
    device,
    ...extra,
  });
  const saved = (dir: string) => tensors(join(dir, 'model.safetensors'));

  it.each([
    ['gpt2-tiny, all weights', null],
    ['llama-tiny, LoRA', { r: 4, alpha: 8, targetModules: null }],
  ] as const)('should adapt a decoder (%s) resident on webgpu as the CPU does, and resume a killed run to the same weights', { timeout: 180_000 }, async (what, lora) => {
    if (!adapter) {
      await expect(adaptGenerator(adaptSpec('no-adapter', 'webgpu', lora))).rejects.toThrow(/device 'webgpu' is unavailable/);
      return;
    }
    const key = what.replace(/[^a-z0-9]+/g, '-');
    const [onCpu, onGpu] = [adaptSpec(`${key}-cpu`, 'cpu', lora), adaptSpec(`${key}-gpu`, 'webgpu', lora)];
    const cpu = await adaptGenerator(onCpu);
    const gpu = await adaptGenerator(onGpu);
    expect(gpu.steps).toBe(9);
    for (let i = 0; i < cpu.losses.length; i++) expect(Math.abs(gpu.losses[i]! - cpu.losses[i]!), `loss ${i}`).toBeLessThan(1e-3 * cpu.losses[i]!);
    const [a, b] = [await saved(onCpu.outputDir), await saved(onGpu.outputDir)];
    let worst = worstWeight(a, b);
    expect(worst.diff, worst.name).toBeLessThan(WEIGHT_TOLERANCE);

    // killed after step 6, resumed from the checkpoint of step 4 (weights and moments pulled from the device)
    const checkpointDir = join(tmp, `${key}-ckpt`);
    const crashing = adaptSpec(`${key}-resumed`, 'webgpu', lora, { checkpointDir, checkpointEverySteps: 2 });
    await expect(adaptGenerator(crashing, (p) => { if (p.step === 6) throw new Error('simulated crash'); })).rejects.toThrow('simulated crash');
    expect(await latestCheckpoint(checkpointDir)).toBe(join(checkpointDir, 'checkpoint-4'));
    const resumed = await adaptGenerator({ ...crashing, resume: true });
    expect(resumed.losses).toEqual(gpu.losses);
    worst = worstWeight(b, await saved(crashing.outputDir));
    expect(worst.diff, worst.name).toBe(0);
  });

  it.each([
    ['gpt2-tiny, all weights', null],
    ['llama-tiny, LoRA', { r: 4, alpha: 8 }],
  ] as const)('should adapt a decoder (%s) looped as the host AdamW does, and resume a killed run to the same weights', { timeout: 120_000 }, async (what, lora) => {
    const load = async (): Promise<CausalLMModel> => {
      const loaded = await loadModel(join(HF_TINY, lora ? 'llama-tiny' : 'gpt2-tiny'), { intraOpThreads: 2 });
      const model = loaded.model as CausalLMModel;
      if (lora) addLora(model, { ...lora, seed: 4 });
      return model;
    };
    const stream = Array.from({ length: 24 * 16 }, (_, i) => 5 + ((i * 37) % 900));
    const key = what.replace(/[^a-z0-9]+/g, '-');
    const config = (run: string): TrainConfig => ({ batchSize: 4, epochs: 3, maxSteps: 9, lr: 3e-3, warmupSteps: 2, seed: 4, checkpointDir: join(tmp, `${key}-${run}`), checkpointEverySteps: 2 });
    const [host, looped] = [await load(), await load()];
    const a = await trainLoop(decoderTrainable(host), causalWindows(stream, 16), config('host'));
    const b = await trainLoop(asLooped({ ...decoderTrainable(looped), deviceTraining: (kind: 'looped') => looped.deviceTraining(kind) }), causalWindows(stream, 16), config('looped'));
    for (let i = 0; i < a.losses.length; i++) expect(Math.abs(b.losses[i]! - a.losses[i]!), `loss ${i}`).toBeLessThan(1e-3 * a.losses[i]!);
    let worst = worstWeight(host.params, looped.params);
    expect(worst.diff, worst.name).toBeLessThan(WEIGHT_TOLERANCE);

    // killed after step 6 (progress comes before that step's checkpoint), resumed from step 4's
    const resumedModel = await load();
    const trainable = () => asLooped({ ...decoderTrainable(resumedModel), deviceTraining: (kind: 'looped') => resumedModel.deviceTraining(kind) });
    await expect(trainLoop(trainable(), causalWindows(stream, 16), config('resumed'), { onProgress: (p) => { if (p.step === 6) throw new Error('simulated crash'); } })).rejects.toThrow('simulated crash');
    expect(await latestCheckpoint(join(tmp, `${key}-resumed`))).toBe(join(tmp, `${key}-resumed`, 'checkpoint-4'));
    const resumed = await trainLoop(trainable(), causalWindows(stream, 16), config('resumed'), { resume: true });
    expect(resumed.losses).toEqual(b.losses);
    worst = worstWeight(looped.params, resumedModel.params);
    expect(worst.diff, worst.name).toBe(0);
    for (const m of [host, looped, resumedModel]) await m.dispose();
  });

  it('should stop a looped run on a NaN loss naming the step and keep the last good checkpoint', async () => {
    const model = encoder('cpu');
    const dir = join(tmp, 'looped-nan');
    const poison = (p: TrainProgress): void => {
      if (p.step === 2) model.params.get('bert.embeddings.LayerNorm.weight')!.fill(NaN);
    };
    const err = await trainLoop(asLooped(model), tokenClassificationBatches(model, EXAMPLES), { ...CONFIG, checkpointDir: dir, checkpointEverySteps: 2 }, { onProgress: poison }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as NonFiniteLossError).step).toBe(3);
    expect(await latestCheckpoint(dir)).toBe(join(dir, 'checkpoint-2'));
  });

  it('should accumulate micro-batches on the host on webgpu too, as the CPU does', { timeout: 120_000 }, async () => {
    if (!adapter) return;
    const [cpu, gpu] = [encoder('cpu'), encoder('webgpu')];
    const config = { ...CONFIG, gradAccumSteps: 2, maxSteps: 4 };
    const a = await trainLoop(cpu, tokenClassificationBatches(cpu, EXAMPLES), config);
    const b = await trainLoop(gpu, tokenClassificationBatches(gpu, EXAMPLES), config);
    expect(b.steps).toBe(4);
    for (let i = 0; i < a.losses.length; i++) expect(Math.abs(b.losses[i]! - a.losses[i]!), `loss ${i}`).toBeLessThan(1e-3 * a.losses[i]!);
    const worst = worstWeight(cpu.params, gpu.params);
    expect(worst.diff, worst.name).toBeLessThan(WEIGHT_TOLERANCE);
    await cpu.dispose();
    await gpu.dispose();
  });
});
