export { DEVICES, Session, deviceAvailable, toOrt } from './session.js';
export type { Device, HostTensor, SessionOptions, TypedData } from './session.js';
export { Rng, fillKeepMask } from './rng.js';
