// Training checkpoints: a folder per checkpoint holding
//   config.json + model.safetensors   (Hugging Face layout: loads elsewhere as-is)
//   optimizer.safetensors             (AdamW moments, 'm.<param>' and 'v.<param>')
//   trainer_state.json                (step, epoch, position in the epoch's data order, the order, RNG state, losses,
//                                      validations and the best one)
//   best.safetensors                  (the best validation's weights, once training has moved past them)
// Written to a temporary folder and renamed into place, then `latest` is updated the same way,
// so a crash mid-write leaves the previous checkpoint intact.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import type { NamedTensor } from '../io/safetensors.js';
import type { EncoderModel } from '../models/bert/model.js';
import type { AdamW } from '../optim/adamw.js';

export interface TrainerState {
  version: 1;
  /** Optimizer steps taken. */
  step: number;
  epoch: number;
  /** Next batch index within the epoch's order. */
  batchInEpoch: number;
  /** This epoch's example order (a permutation of the dataset). */
  order: number[];
  rngState: number;
  /** State of the model's dropout-mask generator. */
  dropoutRngState: number;
  losses: number[];
  /** Fingerprint of the training configuration, to refuse resuming a different run. */
  configKey: string;
  /** With validation: every score so far, the best one's step and score, validations since it, and whether early stopping ended the run. */
  validations?: { step: number; epoch: number; score: number }[];
  bestStep?: number;
  bestScore?: number;
  sinceBest?: number;
  stoppedEarly?: boolean;
}

export async function saveCheckpoint(root: string, model: EncoderModel, opt: AdamW, state: TrainerState, keep = 1, best: Map<string, Float32Array> | null = null): Promise<string> {
  await mkdir(root, { recursive: true });
  const name = `checkpoint-${state.step}`;
  const tmp = join(root, `${name}.tmp`);
  await rm(tmp, { recursive: true, force: true });
  await model.save(tmp);
  const moments: Record<string, NamedTensor> = {};
  for (const s of model.specs) {
    const m = opt.state.m.get(s.name);
    const v = opt.state.v.get(s.name);
    if (m && v) {
      moments[`m.${s.name}`] = { data: m, shape: s.shape };
      moments[`v.${s.name}`] = { data: v, shape: s.shape };
    }
  }
  await writeSafetensors(join(tmp, 'optimizer.safetensors'), moments, { step: String(opt.state.step) });
  if (best) await writeSafetensors(join(tmp, 'best.safetensors'), Object.fromEntries(model.specs.map((s) => [s.name, { data: best.get(s.name)!, shape: s.shape }])));
  await writeFile(join(tmp, 'trainer_state.json'), JSON.stringify(state));
  const dir = join(root, name);
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  const prev = await latestCheckpoint(root);
  await writeFile(join(root, 'latest.tmp'), name);
  await rename(join(root, 'latest.tmp'), join(root, 'latest'));
  if (keep <= 1 && prev && prev !== dir) await rm(prev, { recursive: true, force: true });
  return dir;
}

/** The folder of the newest complete checkpoint under `root`, or null. */
export async function latestCheckpoint(root: string): Promise<string | null> {
  try {
    return join(root, (await readFile(join(root, 'latest'), 'utf8')).trim());
  } catch {
    return null;
  }
}

/** Restore weights (in place), optimizer moments and step; returns the trainer state. */
export async function loadCheckpoint(dir: string, model: EncoderModel, opt: AdamW): Promise<TrainerState> {
  const weights = await readSafetensors(join(dir, 'model.safetensors'));
  for (const s of model.specs) {
    const t = weights.get(s.name);
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (!t || t.data.length !== n) throw new Error(`${dir}: checkpoint tensor '${s.name}' is missing or not of shape [${s.shape}]`);
    model.params.get(s.name)!.set(t.data as Float32Array);
  }
  const moments = await readSafetensors(join(dir, 'optimizer.safetensors'));
  const state = JSON.parse(await readFile(join(dir, 'trainer_state.json'), 'utf8')) as TrainerState;
  opt.state = { step: state.step, m: new Map(), v: new Map() };
  for (const s of model.specs) {
    const m = moments.get(`m.${s.name}`);
    const v = moments.get(`v.${s.name}`);
    if (m && v) {
      opt.state.m.set(s.name, m.data as Float32Array);
      opt.state.v.set(s.name, v.data as Float32Array);
    }
  }
  model.dropoutRng.state = state.dropoutRngState;
  return state;
}

/** The best validation's weights kept in a checkpoint (best.safetensors). */
export async function loadBestWeights(dir: string, model: EncoderModel): Promise<Map<string, Float32Array>> {
  const weights = await readSafetensors(join(dir, 'best.safetensors'));
  return new Map(
    model.specs.map((s) => {
      const t = weights.get(s.name);
      if (!t || t.data.length !== s.shape.reduce((a, b) => a * b, 1)) throw new Error(`${dir}: best.safetensors tensor '${s.name}' is missing or not of shape [${s.shape}]`);
      return [s.name, t.data as Float32Array];
    }),
  );
}
