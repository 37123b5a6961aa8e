export { Rng } from '../runtime/rng.js';
