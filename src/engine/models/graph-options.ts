// The graph a model builds depends on the device that runs it: which kernels that device has.
import type { GraphOptions } from '../graph/graph.js';
import type { Device } from '../runtime/session.js';

/**
 * The graph options for a model on `device`: com.microsoft contrib ops on the CPU only (unless
 * `contribOps` says otherwise); cross-entropy's log-softmax without the LogSoftmax kernel on
 * WebGPU, which has none (see GraphOptions).
 */
export function graphOptionsFor(device: Device, contribOps?: boolean): GraphOptions {
  return { contribOps: contribOps ?? device === 'cpu', logSoftmaxKernel: device !== 'webgpu' };
}
