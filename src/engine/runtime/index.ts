export { DEVICES, Session, deviceAvailable, toOrt } from './session.js';
export type { Device, HostTensor, SessionOptions, TypedData } from './session.js';
export { describePlacement, onPlacementReport } from './placement.js';
export type { PlacementFailure, PlacementReport } from './placement.js';
export { Rng } from './rng.js';
export type { RngState } from './rng.js';
