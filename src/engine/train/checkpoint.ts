// Training checkpoints: a folder per checkpoint holding
//   weights.safetensors     (the weights training changes: the Trainable's specs)
//   optimizer.safetensors   (AdamW moments, 'm.<param>' and 'v.<param>')
//   trainer_state.json      (step, epoch, position in the epoch's data order, the order, RNG states, losses,
//                            validations and the best one)
//   best.safetensors        (the best validation's weights, once training has moved past them)
// Written to a temporary folder and renamed into place, then `latest` is updated the same way,
// so a crash mid-write leaves the previous checkpoint intact. Only the newest checkpoint is kept.
// A checkpoint is for resuming; the finished model is saved by the task as a Hugging Face folder.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import type { NamedTensor } from '../io/safetensors.js';
import type { AdamW } from '../optim/adamw.js';
import type { RngState } from '../runtime/rng.js';

/** What a checkpoint needs of the model: its trained weights. */
interface Weights {
  readonly specs: readonly { name: string; shape: readonly number[] }[];
  readonly params: Map<string, Float32Array>;
}

export interface TrainerState {
  version: 2;
  /** Optimizer steps taken. */
  step: number;
  epoch: number;
  /** Next batch index within the epoch's order. */
  batchInEpoch: number;
  /** This epoch's example order (a permutation of the dataset). */
  order: number[];
  /** The run's generator (data order, per-batch randomness). */
  rngState: RngState;
  /** The model's dropout-mask generator; null without dropout. */
  dropoutRngState: RngState | null;
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

export async function saveCheckpoint(root: string, model: Weights, opt: AdamW, state: TrainerState, best: Map<string, Float32Array> | null = null): Promise<string> {
  await mkdir(root, { recursive: true });
  const name = `checkpoint-${state.step}`;
  const tmp = join(root, `${name}.tmp`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  const tensors = (of: (name: string) => Float32Array) => Object.fromEntries(model.specs.map((s) => [s.name, { data: of(s.name), shape: [...s.shape] }]));
  await writeSafetensors(join(tmp, 'weights.safetensors'), tensors((n) => model.params.get(n)!));
  const moments: Record<string, NamedTensor> = {};
  for (const s of model.specs) {
    const m = opt.state.m.get(s.name);
    const v = opt.state.v.get(s.name);
    if (m && v) {
      moments[`m.${s.name}`] = { data: m, shape: [...s.shape] };
      moments[`v.${s.name}`] = { data: v, shape: [...s.shape] };
    }
  }
  await writeSafetensors(join(tmp, 'optimizer.safetensors'), moments, { step: String(opt.state.step) });
  if (best) await writeSafetensors(join(tmp, 'best.safetensors'), tensors((n) => best.get(n)!));
  await writeFile(join(tmp, 'trainer_state.json'), JSON.stringify(state));
  const dir = join(root, name);
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  const prev = await latestCheckpoint(root);
  await writeFile(join(root, 'latest.tmp'), name);
  await rename(join(root, 'latest.tmp'), join(root, 'latest'));
  if (prev && prev !== dir) await rm(prev, { recursive: true, force: true });
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

/** Weights of `file` in `dir`, checked against the model's specs. */
async function readWeights(dir: string, file: string, model: Weights): Promise<Map<string, Float32Array>> {
  const tensors = await readSafetensors(join(dir, file));
  return new Map(
    model.specs.map((s) => {
      const t = tensors.get(s.name);
      if (!t || t.data.length !== s.shape.reduce((a, b) => a * b, 1)) throw new Error(`${dir}: ${file} tensor '${s.name}' is missing or not of shape [${s.shape}]`);
      return [s.name, t.data as Float32Array];
    }),
  );
}

/** Restore weights (in place), optimizer moments and step; returns the trainer state. */
export async function loadCheckpoint(dir: string, model: Weights, opt: AdamW): Promise<TrainerState> {
  const state = JSON.parse(await readFile(join(dir, 'trainer_state.json'), 'utf8')) as TrainerState;
  if (state.version !== 2) throw new Error(`${dir}: checkpoint version ${state.version} was written by an older engine; start the training again`);
  for (const [name, w] of await readWeights(dir, 'weights.safetensors', model)) model.params.get(name)!.set(w);
  const moments = await readSafetensors(join(dir, 'optimizer.safetensors'));
  opt.state = { step: state.step, m: new Map(), v: new Map() };
  for (const s of model.specs) {
    const m = moments.get(`m.${s.name}`);
    const v = moments.get(`v.${s.name}`);
    if (m && v) {
      opt.state.m.set(s.name, m.data as Float32Array);
      opt.state.v.set(s.name, v.data as Float32Array);
    }
  }
  return state;
}

/** The best validation's weights kept in a checkpoint (best.safetensors). */
export function loadBestWeights(dir: string, model: Weights): Promise<Map<string, Float32Array>> {
  return readWeights(dir, 'best.safetensors', model);
}
