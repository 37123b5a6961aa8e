/// <reference path="../../common/webassembly.d.ts" />
// The optimizer's inner loops as WebAssembly SIMD (f32x4), emitted byte by byte here so the
// project stays TypeScript with no build step for it. Why: the AdamW update is 7 memory streams
// per parameter (read p, g, m, v; write p, m, v) and a JS scalar loop runs it at ~3.5 ns per
// parameter, compute-bound; four lanes at a time it runs near memory speed (see optimizer
// numbers in docs/engine-benchmark.md).
//
// Moments (m, v) live in a WebAssembly.Memory of their own per group of tensors (an "arena");
// parameters and gradients stay ordinary Float32Arrays (onnxruntime reads and writes them) and
// are staged through a small scratch area in the same memory, a chunk at a time, so the extra
// copies stay in cache.

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => [...uleb(s.length), ...new TextEncoder().encode(s)];

// instructions
const get = (i: number): number[] => [0x20, ...uleb(i)];
const set = (i: number): number[] => [0x21, ...uleb(i)];
const tee = (i: number): number[] => [0x22, ...uleb(i)];
const simd = (op: number): number[] => [0xfd, ...uleb(op)];
const load = [...simd(0x00), 4, 0]; // v128.load align=16 offset=0
const store = [...simd(0x0b), 4, 0];
const splat = simd(0x13); // f32x4.splat
const [sqrt, add, sub, mul, div] = [0xe3, 0xe4, 0xe5, 0xe6, 0xe7].map(simd) as [number[], number[], number[], number[], number[]];
const i32add = [0x6a];
const at = (base: number, i: number): number[] => [...get(base), ...get(i), ...i32add];

/**
 * adamw(m, v, p, g, bytes, β1, 1−β1, β2, 1−β2, decay, stepSize, 1/√(1−β2ᵗ), ε, scale): for each
 * f32x4 at byte offset i < bytes (a multiple of 16), with g ← g·scale (gradient clipping):
 *   m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  p ← p·decay − stepSize·m / (√v · inv + ε)
 * torch.optim.AdamW's update in f32 as torch computes it (torch divides by √(1−β2ᵗ) and lerps
 * m, where this multiplies by precomputed constants: differences at the rounding level).
 * sumsq(g, bytes) -> f32: Σ g² over the range, in four lanes (callers sum chunks in f64).
 */
function moduleBytes(): Uint8Array<ArrayBuffer> {
  const types = section(1, vec([
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [F32], [F32], [F32], [F32], [F32], [F32], [F32], [F32], [F32]]), 0],
    [0x60, ...vec([[I32], [I32]]), ...vec([[F32]])],
  ]));
  const imports = section(2, vec([[...name('env'), ...name('mem'), 0x02, 0x00, 1]]));
  const funcs = section(3, vec([[0], [1]]));
  const exports = section(7, vec([
    [...name('adamw'), 0x00, 0],
    [...name('sumsq'), 0x00, 1],
  ]));

  // adamw: params 0..13; locals 14 = i (i32), 15..23 = the splatted scalars, 24 = g, 25 = m, 26 = v
  const [M, V, P, G, N, I] = [0, 1, 2, 3, 4, 14];
  const [B1, C1, B2, C2, D, S, INV, E, GS, g, m, v] = [15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26];
  const adamw = [
    ...vec([[1, I32], [12, V128]]),
    ...[5, 6, 7, 8, 9, 10, 11, 12, 13].flatMap((k, j) => [...get(k), ...splat, ...set(B1 + j)]),
    0x02, 0x40, // block
    ...get(N), 0x45, 0x0d, 0, // if bytes == 0: break
    0x03, 0x40, // loop
    ...at(G, I), ...load, ...get(GS), ...mul, ...set(g),
    ...get(B1), ...at(M, I), ...load, ...mul, ...get(C1), ...get(g), ...mul, ...add, ...set(m),
    ...get(B2), ...at(V, I), ...load, ...mul, ...get(C2), ...get(g), ...mul, ...get(g), ...mul, ...add, ...set(v),
    ...at(M, I), ...get(m), ...store,
    ...at(V, I), ...get(v), ...store,
    ...at(P, I),
    ...at(P, I), ...load, ...get(D), ...mul,
    ...get(S), ...get(m), ...mul,
    ...get(v), ...sqrt, ...get(INV), ...mul, ...get(E), ...add,
    ...div, ...sub, ...store,
    ...get(I), 0x41, ...uleb(16), ...i32add, ...tee(I), ...get(N), 0x49, 0x0d, 0, // i += 16; continue while i < bytes
    0x0b, // end loop
    0x0b, // end block
    0x0b, // end function
  ];
  // sumsq: params 0 = g, 1 = bytes; locals 2 = i, 3 = acc, 4 = x
  const sumsq = [
    ...vec([[1, I32], [2, V128]]),
    0x02, 0x40,
    ...get(1), 0x45, 0x0d, 0,
    0x03, 0x40,
    ...at(0, 2), ...load, ...tee(4), ...get(4), ...mul, ...get(3), ...add, ...set(3),
    ...get(2), 0x41, ...uleb(16), ...i32add, ...tee(2), ...get(1), 0x49, 0x0d, 0,
    0x0b,
    0x0b,
    // lanes 0..3 summed
    ...[0, 1, 2, 3].flatMap((lane) => [...get(3), ...simd(0x1f), lane]), // f32x4.extract_lane
    0x92, 0x92, 0x92, // f32.add ×3
    0x0b,
  ];
  const code = section(10, vec([[...uleb(adamw.length), ...adamw], [...uleb(sumsq.length), ...sumsq]]));
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imports, ...funcs, ...exports, ...code]);
}

interface Kernels {
  adamw(m: number, v: number, p: number, g: number, bytes: number, b1: number, c1: number, b2: number, c2: number, decay: number, stepSize: number, inv: number, eps: number, scale: number): void;
  sumsq(g: number, bytes: number): number;
}

let compiled: WebAssembly.Module | undefined;
function kernelModule(): WebAssembly.Module {
  return (compiled ??= new WebAssembly.Module(moduleBytes()));
}

/** Floats staged per kernel call (64 KiB per stream: parameter and gradient chunks stay in L2). */
export const CHUNK = 16384;
/** Every arena starts with the parameter and gradient scratch chunks, at these byte offsets. */
const P_SCRATCH = 0;
const G_SCRATCH = CHUNK * 4;
const SCRATCH_BYTES = 2 * CHUNK * 4;
const PAGE = 65536;
/** Largest arena: 4 GiB is wasm32's limit; leave headroom. */
const MAX_ARENA_BYTES = 2 ** 31;

const pad4 = (n: number): number => (n + 3) & ~3;

/** AdamW moments of one parameter tensor, in an arena. */
export interface MomentSlot {
  arena: Arena;
  /** Byte offsets of m and v in the arena's memory. */
  mOffset: number;
  vOffset: number;
  m: Float32Array;
  v: Float32Array;
}

/** One WebAssembly memory holding the staging scratch, then the moments of several tensors. */
export class Arena {
  readonly kernels: Kernels;
  readonly heap: Float32Array;

  private constructor(bytes: number) {
    const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / PAGE) });
    this.kernels = new WebAssembly.Instance(kernelModule(), { env: { mem: memory } }).exports as unknown as Kernels;
    this.heap = new Float32Array(memory.buffer);
  }

  private static shared?: Arena;
  /** A scratch-only arena for kernels that keep no state (gradient norms). */
  static scratch(): Arena {
    return (Arena.shared ??= new Arena(SCRATCH_BYTES));
  }

  /**
   * Moment slots for tensors of the given lengths, packed into as few arenas as fit. A tensor too
   * large for any arena gets no slot (undefined): the caller updates it in plain TypeScript.
   */
  static allocate(lengths: number[]): (MomentSlot | undefined)[] {
    const need = lengths.map((n) => 2 * pad4(n) * 4);
    const slots: (MomentSlot | undefined)[] = new Array(lengths.length);
    let i = 0;
    while (i < lengths.length) {
      if (SCRATCH_BYTES + need[i]! > MAX_ARENA_BYTES) {
        i++;
        continue;
      }
      let j = i;
      let bytes = SCRATCH_BYTES;
      while (j < lengths.length && bytes + need[j]! <= MAX_ARENA_BYTES) bytes += need[j++]!;
      const arena = new Arena(bytes);
      let off = SCRATCH_BYTES;
      for (let k = i; k < j; k++) {
        const n = lengths[k]!;
        const mOffset = off;
        const vOffset = off + pad4(n) * 4;
        off = vOffset + pad4(n) * 4;
        slots[k] = { arena, mOffset, vOffset, m: new Float32Array(arena.heap.buffer, mOffset, n), v: new Float32Array(arena.heap.buffer, vOffset, n) };
      }
      i = j;
    }
    return slots;
  }
}

export interface AdamWScalars {
  b1: number;
  b2: number;
  decay: number;
  stepSize: number;
  inv: number;
  eps: number;
  /** Gradient multiplier (clipping; 1 = none). */
  gradScale: number;
}

/** One AdamW update of parameter `p` with gradient `g`, moments in `slot`. */
export function adamwSimd(slot: MomentSlot, p: Float32Array, g: Float32Array, s: AdamWScalars): void {
  const { heap, kernels } = slot.arena;
  const p0 = P_SCRATCH >> 2;
  const g0 = G_SCRATCH >> 2;
  const n = p.length;
  for (let i = 0; i < n; i += CHUNK) {
    const c = Math.min(CHUNK, n - i);
    heap.set(p.subarray(i, i + c), p0);
    heap.set(g.subarray(i, i + c), g0);
    // chunks are CHUNK floats (a multiple of 4) but the last; its lanes past n read stale scratch
    // and write only this tensor's pad4 slack of m and v, which nothing reads
    kernels.adamw(slot.mOffset + i * 4, slot.vOffset + i * 4, P_SCRATCH, G_SCRATCH, pad4(c) * 4, s.b1, 1 - s.b1, s.b2, 1 - s.b2, s.decay, s.stepSize, s.inv, s.eps, s.gradScale);
    p.set(heap.subarray(p0, p0 + c), i);
  }
}

/** Σ g², f32x4 sums of CHUNK-long pieces added in f64. */
export function sumSquaresSimd(g: Float32Array): number {
  const { heap, kernels } = Arena.scratch();
  const g0 = G_SCRATCH >> 2;
  const n = g.length;
  let total = 0;
  for (let i = 0; i < n; i += CHUNK) {
    const c = Math.min(CHUNK, n - i);
    heap.set(g.subarray(i, i + c), g0);
    if (c & 3) heap.fill(0, g0 + c, g0 + pad4(c));
    total += kernels.sumsq(G_SCRATCH, pad4(c) * 4);
  }
  return total;
}
