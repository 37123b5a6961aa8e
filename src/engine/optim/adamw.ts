// AdamW exactly as torch.optim.AdamW (decoupled weight decay, bias correction), in place on
// the parameters' Float32Arrays: p ← p·(1 − lr·wd); m ← β1 m + (1−β1) g;
// v ← β2 v + (1−β2) g²; p ← p − (lr / (1−β1ᵗ)) · m / (√v / √(1−β2ᵗ) + ε).
// The CPU's update, on the host: one pass reads p, g, m, v and writes p, m, v, while the same
// update as ONNX ops is ~12 elementwise passes (0.89–0.97× the speed on a training step,
// bench:device-training). The loop is WebAssembly SIMD (./simd.ts, 3–4× a JS loop); the moments
// live in its memory. On a GPU the update runs in the training graph (./adamw-graph.ts), fed the
// constants of `advance`, and its moments come back here for checkpoints.
import { Arena, adamwSimd, sumSquaresSimd } from './simd.js';
import type { AdamWScalars, MomentSlot } from './simd.js';

export interface AdamWOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/** Moments by parameter name (plain Float32Arrays: checkpoints read and replace them). */
export interface AdamWState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  lr: number;
  state: AdamWState = { step: 0, m: new Map(), v: new Map() };
  /** The SIMD slot behind each moment array this optimizer placed (keyed by the m array). */
  private slots = new WeakMap<Float32Array, MomentSlot>();

  constructor(opts: AdamWOptions = {}) {
    this.lr = opts.lr ?? 1e-3;
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
  }

  /**
   * One update of every parameter that has a gradient. `lr` overrides the current rate
   * (schedules); `noDecay` names parameters excluded from weight decay; `maxGradNorm` clips the
   * gradients' global L2 norm as torch.nn.utils.clip_grad_norm_ does (scale max/(norm + 1e-6)
   * when below 1), inside the update rather than as a pass of its own; the gradients are not
   * modified. Returns that norm before clipping (NaN when not clipping).
   */
  step(
    params: Map<string, Float32Array>,
    grads: Map<string, Float32Array>,
    opts: { lr?: number; noDecay?: (name: string) => boolean; maxGradNorm?: number } = {},
  ): { gradNorm: number } {
    const names = [...params.keys()].filter((name) => grads.has(name));
    for (const name of names) {
      const n = grads.get(name)!.length;
      if (n !== params.get(name)!.length) throw new Error(`AdamW: gradient for '${name}' has ${n} values, parameter has ${params.get(name)!.length}`);
    }
    this.placeMoments(names, params);
    const clip = opts.maxGradNorm !== undefined && opts.maxGradNorm > 0;
    const gradNorm = clip ? globalNorm(names.map((name) => grads.get(name)!)) : NaN;
    const step = this.advance(opts.lr);
    const scalars = { ...step, gradScale: clip ? Math.min(1, opts.maxGradNorm! / (gradNorm + 1e-6)) : 1 };
    for (const name of names) {
      scalars.decay = opts.noDecay?.(name) ? 1 : step.decay;
      const p = params.get(name)!;
      const g = grads.get(name)!;
      const m = this.state.m.get(name)!;
      const slot = this.slots.get(m);
      if (slot) adamwSimd(slot, p, g, scalars);
      else adamwScalar(p, g, m, this.state.v.get(name)!, scalars);
    }
    return { gradNorm };
  }

  /**
   * Count one more step and give its constants: the bias corrections at the new step count and
   * the weight decay factor at learning rate `lr` (default: the current rate). `step` uses them;
   * the on-device update (./adamw-graph.ts) is fed them.
   */
  advance(lr = this.lr): Omit<AdamWScalars, 'gradScale'> {
    const t = ++this.state.step;
    return {
      b1: this.beta1,
      b2: this.beta2,
      stepSize: lr / (1 - this.beta1 ** t),
      inv: 1 / Math.sqrt(1 - this.beta2 ** t),
      eps: this.eps,
      decay: 1 - lr * this.weightDecay,
    };
  }

  /**
   * Give every parameter moments in SIMD memory: zeros for new ones, a copy of those set from
   * outside (a loaded checkpoint), which the state maps then point at.
   */
  private placeMoments(names: string[], params: Map<string, Float32Array>): void {
    const s = this.state;
    const missing = names.filter((name) => {
      const m = s.m.get(name);
      return !m || !this.slots.has(m);
    });
    if (!missing.length) return;
    const slots = Arena.allocate(missing.map((name) => params.get(name)!.length));
    missing.forEach((name, i) => {
      const n = params.get(name)!.length;
      const [m0, v0] = [s.m.get(name), s.v.get(name)];
      const slot = slots[i];
      if (!slot) {
        // too large for a wasm32 memory: plain arrays, updated in TypeScript
        if (!m0 || !v0) {
          s.m.set(name, new Float32Array(n));
          s.v.set(name, new Float32Array(n));
        }
        return;
      }
      if (m0 && v0) {
        slot.m.set(m0);
        slot.v.set(v0);
      }
      s.m.set(name, slot.m);
      s.v.set(name, slot.v);
      this.slots.set(slot.m, slot);
    });
  }
}

/** The same update in TypeScript (f64 arithmetic), for tensors that fit no wasm memory. */
export function adamwScalar(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, s: AdamWScalars): void {
  const { b1, b2, decay, stepSize, inv, eps, gradScale } = s;
  const c1 = 1 - b1;
  const c2 = 1 - b2;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]! * gradScale;
    const mi = b1 * m[i]! + c1 * gi;
    const vi = b2 * v[i]! + c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i]! * decay - (stepSize * mi) / (Math.sqrt(vi) * inv + eps);
  }
}

/** The global L2 norm of a set of gradients (what clipping compares with its maximum). */
export function globalNorm(grads: Iterable<Float32Array>): number {
  let sq = 0;
  for (const g of grads) sq += sumSquaresSimd(g);
  return Math.sqrt(sq);
}

/** Gradient accumulation: sum micro-batch gradients (weighted) into preallocated buffers. */
export class GradAccumulator {
  readonly sums = new Map<string, Float32Array>();
  count = 0;

  add(grads: Map<string, Float32Array>, weight = 1): void {
    for (const [name, g] of grads) {
      let s = this.sums.get(name);
      if (!s) {
        s = new Float32Array(g.length);
        this.sums.set(name, s);
      }
      for (let i = 0; i < g.length; i++) s[i]! += weight * g[i]!;
    }
    this.count++;
  }

  /** Multiply the sums by `factor` (e.g. 1 / micro-batches) and return them. */
  finish(factor = 1): Map<string, Float32Array> {
    if (factor !== 1) for (const s of this.sums.values()) for (let i = 0; i < s.length; i++) s[i]! *= factor;
    return this.sums;
  }

  reset(): void {
    for (const s of this.sums.values()) s.fill(0);
    this.count = 0;
  }
}
