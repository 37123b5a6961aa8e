export { gpt2 } from './gpt2.js';
