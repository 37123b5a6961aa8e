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
export const geluGrad: GradRule = (g, { inputs: [x] }) => [
  x!.graph.apply('GeluGrad', [g, x!], [{ dtype: x!.dtype, shape: x!.shape }], {}, (gr) => {
    const dt = x!.dtype;
    const [z] = gr.emit('Mul', [x!, gr.scalar(Math.SQRT1_2, dt)]);
    const [e] = gr.emit('Erf', [z!]);
    const [z2] = gr.emit('Mul', [z!, z!]);
    const [ez2] = gr.emit('Exp', [z2!]);
    const [ratio] = gr.emit('Div', [z!, ez2!]); // z e^{-z²}
    const [term] = gr.emit('Mul', [ratio!, gr.scalar(2 / Math.sqrt(Math.PI), dt)]);
    const [s1] = gr.emit('Add', [e!, term!]);
    const [s2] = gr.emit('Add', [s1!, gr.scalar(1, dt)]);
    const [hg] = gr.emit('Mul', [g, gr.scalar(0.5, dt)]);
    return gr.emit('Mul', [s2!, hg!]);
  })[0]!,
];
