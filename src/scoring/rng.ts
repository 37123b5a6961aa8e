/**
 * The scorers' seeded random numbers (bootstrap resampling, synthetic test data): the engine's
 * one generator (xoshiro128**, src/engine/runtime/rng.ts), under the narrow interface they use.
 */
import { Rng as EngineRng } from '../engine/runtime/rng.js';

export type Rng = Pick<EngineRng, 'nextUint32' | 'nextInt' | 'nextFloat'>;

export function createRng(seed: number): Rng {
  return EngineRng.fromSeed(seed | 0);
}
