export { addLora, loadLora, loraTargets, mergeLora, parseLoraConfig, saveLora } from './lora.js';
export type { NewLoraOptions } from './lora.js';
