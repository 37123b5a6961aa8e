/** How far a tensor is from its reference: shared with `check:device` (src/engine/check/hf-fixtures.ts). */
export { maxDifference } from '../../src/engine/check/hf-fixtures.js';
