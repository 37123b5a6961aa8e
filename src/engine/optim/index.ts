export { AdamW, GradAccumulator, globalNorm } from './adamw.js';
export type { AdamWOptions, AdamWState } from './adamw.js';
export { lrMultiplier, scheduledLr } from './schedule.js';
export type { ScheduleKind, ScheduleOptions } from './schedule.js';
