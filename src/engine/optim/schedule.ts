// Learning-rate schedules with linear warm-up, as transformers' get_linear_schedule_with_warmup
// and get_cosine_schedule_with_warmup (multiplier of the base rate at optimizer step `step`, 0-based).

export type ScheduleKind = 'constant' | 'linear' | 'cosine';

export interface ScheduleOptions {
  kind: ScheduleKind;
  warmupSteps: number;
  totalSteps: number;
  /** Cosine cycles (default 0.5: decay to 0 once). */
  numCycles?: number;
}

export function lrMultiplier(step: number, o: ScheduleOptions): number {
  if (step < o.warmupSteps) return step / Math.max(1, o.warmupSteps);
  if (o.kind === 'constant') return 1;
  const progress = (step - o.warmupSteps) / Math.max(1, o.totalSteps - o.warmupSteps);
  if (o.kind === 'linear') return Math.max(0, (o.totalSteps - step) / Math.max(1, o.totalSteps - o.warmupSteps));
  return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * (o.numCycles ?? 0.5) * 2 * progress)));
}

export function scheduledLr(baseLr: number, step: number, o: ScheduleOptions): number {
  return baseLr * lrMultiplier(step, o);
}
