// The gradient-rule table: one entry per recorded op type. Each rule lives beside its
// op's forward in that op's module; this table only collects them. The autodiff driver
// (src/engine/graph/autodiff.ts) throws, naming the op, when an entry is missing.
import { addGrad } from './add.js';
import { castGrad } from './cast.js';
import { concatGrad, splitGrad } from './concat.js';
import { softmaxCrossEntropyGrad } from './cross_entropy.js';
import { divGrad } from './div.js';
import { erfGrad } from './erf.js';
import { expGrad } from './exp.js';
import { expandGrad } from './expand.js';
import { gatherGrad } from './gather.js';
import { geluGrad, geluTanhGrad, siluGrad } from './gelu.js';
import { layerNormGrad } from './layernorm.js';
import { linearGrad } from './linear.js';
import { logGrad } from './log.js';
import { matmulGrad } from './matmul.js';
import { mulGrad } from './mul.js';
import { negGrad } from './neg.js';
import { powGrad } from './pow.js';
import { reciprocalGrad } from './reciprocal.js';
import { reduceMaxGrad, reduceMeanGrad, reduceSumGrad } from './reduce.js';
import { reshapeGrad, reshapeLikeGrad, squeezeGrad, unsqueezeGrad } from './reshape.js';
import { padGrad, sliceGrad } from './slice.js';
import { softmaxGrad } from './softmax.js';
import { sqrtGrad } from './sqrt.js';
import { stopGradientGrad } from './stop_gradient.js';
import { subGrad } from './sub.js';
import { tanhGrad } from './tanh.js';
import { transposeGrad } from './transpose.js';
import type { GradRule } from './util.js';
import { noGrad } from './util.js';
import { whereGrad } from './where.js';

export const GRAD_RULES: Readonly<Record<string, GradRule>> = {
  // unary
  Neg: negGrad,
  Exp: expGrad,
  Log: logGrad,
  Sqrt: sqrtGrad,
  Tanh: tanhGrad,
  Erf: erfGrad,
  Reciprocal: reciprocalGrad,
  Cast: castGrad,
  StopGradient: stopGradientGrad,
  // binary
  Add: addGrad,
  Sub: subGrad,
  Mul: mulGrad,
  Div: divGrad,
  Pow: powGrad,
  MatMul: matmulGrad,
  Where: whereGrad,
  // reduce
  ReduceSum: reduceSumGrad,
  ReduceMean: reduceMeanGrad,
  ReduceMax: reduceMaxGrad,
  // movement
  Reshape: reshapeGrad,
  ReshapeLike: reshapeLikeGrad,
  Unsqueeze: unsqueezeGrad,
  Squeeze: squeezeGrad,
  Transpose: transposeGrad,
  Expand: expandGrad,
  Slice: sliceGrad,
  Pad: padGrad,
  Concat: concatGrad,
  Split: splitGrad,
  Gather: gatherGrad,
  // fused composites (own backward for stability or memory; see their modules)
  Softmax: softmaxGrad,
  Gelu: geluGrad,
  GeluTanh: geluTanhGrad,
  Silu: siluGrad,
  LayerNorm: layerNormGrad,
  Linear: linearGrad,
  SoftmaxCrossEntropy: softmaxCrossEntropyGrad,
  // no gradient
  Shape: noGrad,
  ConstantOfShape: noGrad,
  Equal: noGrad,
  Less: noGrad,
  Greater: noGrad,
  Not: noGrad,
  ScatterND: noGrad,
};
