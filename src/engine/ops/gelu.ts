import type { Tensor } from '../graph/graph.js';
import type { GradRule } from './util.js';
import { assertFloat } from './util.js';

/**
 * GELU, exact (erf) form: x Φ(x) = 0.5 x (1 + erf(x / √2)). HF hidden_act "gelu".
 * A fused op with its own backward, for speed: built from primitives it is five passes over
 * the [B,T,F] activations forward and about ten backward; here the forward is one ONNX Gelu
 * (opset 20) kernel. (onnxruntime's CPU provider has float32 Gelu/Erf only.)
 */
export function gelu(x: Tensor): Tensor {
  assertFloat('gelu', x);
  return x.graph.apply('Gelu', [x], [{ dtype: x.dtype, shape: x.shape }], { approximate: 'none' })[0]!;
}

// d gelu = g (Φ(x) + x φ(x)) = g · 0.5 (1 + erf(z) + (2/√π) z e^{-z²}),  z = x/√2
// Binary ops only: onnxruntime's Sum with three inputs (one a scalar) costs 2.5 Muls.
export const geluGrad: GradRule = (g, { inputs: [x] }) => [
  x!.graph.apply('GeluGrad', [g, x!], [{ dtype: x!.dtype, shape: x!.shape }], {}, (gr) => {
    const dt = x!.dtype;
    const [z] = gr.emit('Mul', [x!, gr.scalar(Math.SQRT1_2, dt)]);
    const [e] = gr.emit('Erf', [z!]);
    const [z2] = gr.emit('Mul', [z!, z!]);
    const [ez2] = gr.emit('Exp', [z2!]);
    const [zc] = gr.emit('Mul', [x!, gr.scalar(Math.SQRT1_2 * (2 / Math.sqrt(Math.PI)), dt)]); // (2/√π) z
    const [term] = gr.emit('Div', [zc!, ez2!]); // (2/√π) z e^{-z²}
    const [a] = gr.emit('Add', [e!, term!]);
    const [b] = gr.emit('Add', [a!, gr.scalar(1, dt)]);
    const [gs] = gr.emit('Mul', [b!, g]);
    return gr.emit('Mul', [gs!, gr.scalar(0.5, dt)]);
  })[0]!,
];

// tanh-GELU written with the logistic function: 0.5 x (1 + tanh(u)) = x σ(2u), and
// 2u = √(8/π) (x + 0.044715 x³) = x (A + B x²).
const GELU_A = 2 * Math.sqrt(2 / Math.PI);
const GELU_B = GELU_A * 0.044715;

/**
 * GELU, tanh approximation (HF "gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
 * 0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³))).
 * A fused op with its own backward, for speed: from primitives it was nine passes over the
 * [B,T,F] activations forward and about twenty backward (13% of a GPT-2 training step);
 * the float32 forward is one ONNX Gelu (opset 20, approximate='tanh') kernel and the backward
 * twelve elementwise passes recomputed from x. float64 (no ORT kernel) uses x·σ(x(A + Bx²)).
 */
export function geluTanh(x: Tensor): Tensor {
  assertFloat('geluTanh', x);
  return x.graph.apply('GeluTanh', [x], [{ dtype: x.dtype, shape: x.shape }], {}, (gr) => {
    if (x.dtype === 'float32') return gr.emit('Gelu', [x], 1, { approximate: 'tanh' });
    const dt = x.dtype;
    const [x2] = gr.emit('Mul', [x, x]);
    const [p1] = gr.emit('Mul', [x2!, gr.scalar(GELU_B, dt)]);
    const [p2] = gr.emit('Add', [p1!, gr.scalar(GELU_A, dt)]);
    const [z] = gr.emit('Mul', [x, p2!]);
    const [s] = gr.emit('Sigmoid', [z!]);
    return gr.emit('Mul', [x, s!]);
  })[0]!;
}

// With s = σ(z), z = x (A + B x²):  d/dx x σ(z) = s (1 + (1 − s) · x (A + 3B x²)).
// Binary ops only (a four-input Sum cost five Muls), with A + 3Bx² = 3 (A + Bx²) − 2A.
export const geluTanhGrad: GradRule = (g, { inputs: [x] }) => [
  x!.graph.apply('GeluTanhGrad', [g, x!], [{ dtype: x!.dtype, shape: x!.shape }], {}, (gr) => {
    const dt = x!.dtype;
    const [x2] = gr.emit('Mul', [x!, x!]);
    const [p1] = gr.emit('Mul', [x2!, gr.scalar(GELU_B, dt)]);
    const [p2] = gr.emit('Add', [p1!, gr.scalar(GELU_A, dt)]);
    const [z] = gr.emit('Mul', [x!, p2!]);
    const [s] = gr.emit('Sigmoid', [z!]);
    const [q1] = gr.emit('Mul', [p2!, gr.scalar(3, dt)]);
    const [q2] = gr.emit('Add', [q1!, gr.scalar(-2 * GELU_A, dt)]);
    const [r] = gr.emit('Mul', [x!, q2!]);
    const [oms] = gr.emit('Sub', [gr.scalar(1, dt), s!]);
    const [t] = gr.emit('Mul', [oms!, r!]);
    const [t1] = gr.emit('Add', [t!, gr.scalar(1, dt)]);
    const [d] = gr.emit('Mul', [s!, t1!]);
    return gr.emit('Mul', [d!, g]);
  })[0]!,
];

/**
 * SiLU / swish: x · σ(x). A fused op with its own backward: forward Sigmoid + Mul (σ kept
 * for the backward) instead of four primitives, backward g · s (1 + x (1 − s)) in five passes.
 */
export function silu(x: Tensor): Tensor {
  assertFloat('silu', x);
  const out = { dtype: x.dtype, shape: x.shape };
  return x.graph.apply('Silu', [x], [out, out], {}, (gr) => {
    let s: string | undefined;
    // float64: onnxruntime fuses x·Sigmoid(x) into com.microsoft QuickGelu, which is float32 only
    if (x.dtype === 'float32') [s] = gr.emit('Sigmoid', [x]);
    else {
      const [n] = gr.emit('Neg', [x]);
      const [e] = gr.emit('Exp', [n!]);
      const [d] = gr.emit('Add', [e!, gr.scalar(1, x.dtype)]);
      [s] = gr.emit('Reciprocal', [d!]);
    }
    const [y] = gr.emit('Mul', [x, s!]);
    return [y!, s!];
  })[0]!;
}

export const siluGrad: GradRule = (g, { inputs: [x], outputs: [, s] }) => [
  x!.graph.apply('SiluGrad', [g, x!, s!], [{ dtype: x!.dtype, shape: x!.shape }], {}, (gr) => {
    const dt = x!.dtype;
    const [oms] = gr.emit('Sub', [gr.scalar(1, dt), s!]);
    const [t] = gr.emit('Mul', [x!, oms!]);
    const [t1] = gr.emit('Add', [t!, gr.scalar(1, dt)]);
    const [d] = gr.emit('Mul', [s!, t1!]);
    return gr.emit('Mul', [d!, g]);
  })[0]!,
];
