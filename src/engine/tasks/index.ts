export { EngineTaskError, runEngineTask } from './worker.js';
export { generateTexts } from './generate.js';
export type { GenerateTextsProgress, GenerateTextsResult, GenerateTextsSpec } from './generate.js';
