// Fixed weights as graph constants. A model loaded `frozen` (inference only: tagging, generation,
// held-out measurement) gives its inference sessions the weights as initializers instead of
// feeding them with every run: onnxruntime folds the weights' transposes and prepacks them at
// session creation (greedy generation on the CPU 1.3–1.5× faster, docs/engine-benchmark.md), and
// a GPU receives them once instead of with every run (docs/gpu.md). Training a frozen model is an
// error: its sessions would not see the new weights.

/** A ModelProto cannot exceed 2 GiB: larger weights stay feeds. */
const MAX_CONSTANT_BYTES = 2 ** 30;

/** The weights to bake into inference sessions, or undefined (not frozen, or too large). */
export function weightConstants(frozen: boolean | undefined, params: ReadonlyMap<string, Float32Array>): ReadonlyMap<string, Float32Array> | undefined {
  if (!frozen) return undefined;
  let bytes = 0;
  for (const p of params.values()) bytes += p.byteLength;
  return bytes <= MAX_CONSTANT_BYTES ? params : undefined;
}

export function assertNotFrozen(frozen: boolean | undefined): void {
  if (frozen) throw new Error('this model was loaded frozen (inference only: its weights are constants of its sessions); load it without `frozen` to train it');
}
