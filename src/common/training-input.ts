/**
 * The optimizer numbers every training input carries (trainNerModel, adaptGenerator, pretrainModel
 * and the experiment steps built from them), checked one way: BAD_USER_INPUT naming the field.
 * Before these checks a learning rate ≤ 0 (training uphill or not at all) and a negative warm-up
 * were accepted and ran.
 */
import { badInput } from './errors.js';

/** A learning rate: finite and above 0 (null: the mutation's default). */
export function checkLearningRate(field: string, value: number | null | undefined): void {
  if (value !== null && value !== undefined && !(value > 0 && Number.isFinite(value))) throw badInput(field, `must be above 0; got ${value}.`);
}

/** A probability threshold under which a machine annotation's words count as unsure: in (0, 1] (null: none). */
export function checkUnsureBelow(field: string, value: number | null): void {
  if (value !== null && !(value > 0 && value <= 1)) throw badInput(field, `must be in (0, 1] (a probability); got ${value}.`);
}

/** Warm-up given in optimizer steps: an integer ≥ 0. */
export function checkWarmupSteps(field: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) throw badInput(field, `must be a non-negative integer; got ${value}.`);
}

/** Warm-up given as a share of the run's steps: in [0, 1). */
export function checkWarmupRatio(field: string, value: number): void {
  if (!(value >= 0 && value < 1)) throw badInput(field, `must be in [0, 1); got ${value}.`);
}
