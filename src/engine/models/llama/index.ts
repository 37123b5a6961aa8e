export { llama } from './llama.js';
