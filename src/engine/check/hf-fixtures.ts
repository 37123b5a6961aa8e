// The engine against the Hugging Face tiny fixtures (../shared/fixtures/hf-tiny): logits, loss and
// every gradient, with the tolerances the fixture tests use. The tests and `check:device` share
// this code, so "agrees with Hugging Face" means the same thing on every device.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '../io/safetensors.js';
import type { CausalLMModel } from '../models/causal-lm.js';
import { loadModel } from '../models/registry.js';
import type { Device } from '../runtime/session.js';

/** Every fixture folder, in the order the check runs them. */
export const HF_TINY_FIXTURES = ['bert-tiny-ner', 'roberta-tiny-ner', 'gpt2-tiny', 'llama-tiny', 'llama-tiny-lora'] as const;

/**
 * Tolerances (float32 engine against float32 PyTorch): logits and gradients within `relative` ×
 * the reference tensor's max |value|, the loss within `loss` relative. `floor`: BERT's key bias has
 * an analytically zero gradient (softmax is invariant to adding q·b_k to a whole row of scores), so
 * its reference holds only rounding noise (~1e-12).
 */
export const TOLERANCE = { relative: 1e-4, loss: 1e-5, floor: 1e-10 } as const;

/** How far a tensor is from its reference: the largest |a − b|, and the largest |b| to scale tolerances by. */
export function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): { maxDiff: number; maxRef: number } {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < a.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    maxRef = Math.max(maxRef, Math.abs(b[i]!));
  }
  return { maxDiff, maxRef };
}

/** One compared tensor (or the loss): its max error and the error allowed. */
export interface TensorCheck {
  name: string;
  kind: 'logits' | 'loss' | 'gradient';
  maxDiff: number;
  /** max |reference| (the loss: |reference loss|). */
  maxRef: number;
  allowed: number;
  pass: boolean;
}

export interface FixtureReport {
  fixture: string;
  checks: TensorCheck[];
  /** Problems that are not a tensor's error: a missing or extra gradient, a length mismatch. */
  problems: string[];
  pass: boolean;
  seconds: number;
}

/** A tensor against its reference within `relative` × max |reference| (at least `floor`). */
export function checkTensor(name: string, kind: TensorCheck['kind'], got: ArrayLike<number>, want: ArrayLike<number>, relative = TOLERANCE.relative, floor = 0): TensorCheck {
  const { maxDiff, maxRef } = maxDifference(got, want);
  const allowed = Math.max(relative * maxRef, floor);
  return { name, kind, maxDiff, maxRef, allowed, pass: maxDiff <= allowed };
}

export function checkLoss(got: number, want: number): TensorCheck {
  const maxDiff = Math.abs(got - want);
  const allowed = TOLERANCE.loss * Math.abs(want);
  return { name: 'loss', kind: 'loss', maxDiff, maxRef: Math.abs(want), allowed, pass: maxDiff <= allowed };
}

interface Reference {
  input_ids: number[][];
  attention_mask: number[][];
  labels?: number[][];
  loss?: number;
  base?: string;
}

const readJson = (file: string): Reference => JSON.parse(readFileSync(file, 'utf8')) as Reference;

/** The fixture's batch (B = 2, T = 64); an adapter folder takes its base model's labels. */
export function fixtureBatch(dir: string): { batchSize: number; seqLen: number; inputIds: number[]; attentionMask: number[]; labels: number[] } {
  const ref = readJson(join(dir, 'reference.json'));
  const labels = ref.labels ?? readJson(join(dir, ref.base ?? '../llama-tiny', 'reference.json')).labels!;
  return { batchSize: ref.input_ids.length, seqLen: ref.input_ids[0]!.length, inputIds: ref.input_ids.flat(), attentionMask: ref.attention_mask.flat(), labels: labels.flat() };
}

/**
 * Loads `root/<fixture>` on `device` and compares logits, loss and every gradient with the
 * references. The LoRA fixture has reference logits only; its adapter gradients are checked
 * against the base weight's gradient from the same run (dB = s·dW·Aᵀ, dA = s·Bᵀ·dW).
 */
export async function checkFixture(root: string, fixture: string, opts: { device?: Device; intraOpThreads?: number } = {}): Promise<FixtureReport> {
  const started = performance.now();
  const dir = join(root, fixture);
  const batch = fixtureBatch(dir);
  const ref = readJson(join(dir, 'reference.json'));
  const loaded = await loadModel(dir, opts);
  const model = loaded.model;
  const checks: TensorCheck[] = [];
  const problems: string[] = [];
  try {
    const wantLogits = (await readSafetensors(join(dir, 'reference_logits.safetensors'))).get('logits')!.data as Float32Array;
    const logits = await model.forward(batch);
    if (logits.length !== wantLogits.length) problems.push(`logits: ${logits.length} values, reference ${wantLogits.length}`);
    else checks.push(checkTensor('logits', 'logits', logits, wantLogits));

    if (loaded.kind === 'decoder' && loaded.model.lora) {
      checks.push(...(await checkLoraGradients(loaded.model, batch)));
    } else {
      const { loss, grads } = await model.lossAndGrads(batch);
      checks.push(checkLoss(loss, ref.loss!));
      const want = await readSafetensors(join(dir, 'reference_grads.safetensors'));
      for (const name of want.keys()) if (!grads.has(name)) problems.push(`no gradient for ${name}`);
      for (const [name, g] of grads) {
        const w = want.get(name);
        if (!w) problems.push(`gradient ${name} has no reference`);
        else if (w.data.length !== g.length) problems.push(`gradient ${name}: ${g.length} values, reference ${w.data.length}`);
        else checks.push(checkTensor(name, 'gradient', g, w.data as Float32Array, TOLERANCE.relative, TOLERANCE.floor));
      }
    }
  } finally {
    await model.dispose();
  }
  return { fixture, checks, problems, pass: !problems.length && checks.every((c) => c.pass), seconds: (performance.now() - started) / 1000 };
}

async function checkLoraGradients(model: CausalLMModel, batch: ReturnType<typeof fixtureBatch>): Promise<TensorCheck[]> {
  const lora = model.lora!;
  const before = model.trainable;
  model.trainable = 'all';
  const { grads } = await model.lossAndGrads(batch);
  model.trainable = before;
  const s = lora.settings.scaling;
  const checks: TensorCheck[] = [];
  for (const t of lora.targets) {
    const dW = grads.get(`${t.module}.weight`)!;
    const A = model.params.get(t.a.name)!;
    const Bm = model.params.get(t.b.name)!;
    const [r, inF] = t.a.shape as [number, number];
    const outF = t.b.shape[0]!;
    const dB = new Float64Array(outF * r);
    const dA = new Float64Array(r * inF);
    for (let o = 0; o < outF; o++)
      for (let i = 0; i < inF; i++) {
        const g = dW[o * inF + i]!;
        for (let k = 0; k < r; k++) {
          dB[o * r + k] += s * g * A[k * inF + i]!;
          dA[k * inF + i] += s * g * Bm[o * r + k]!;
        }
      }
    checks.push(checkTensor(t.b.name, 'gradient', grads.get(t.b.name)!, dB, TOLERANCE.relative, 1e-9));
    checks.push(checkTensor(t.a.name, 'gradient', grads.get(t.a.name)!, dA, TOLERANCE.relative, 1e-9));
  }
  return checks;
}

/** One line per fixture (llm.c style): PASS/FAIL, the logits' and loss's error, the worst gradient. */
export function formatFixtureReport(r: FixtureReport): string {
  const e = (x: number): string => x.toExponential(1);
  const parts: string[] = [];
  const logits = r.checks.find((c) => c.kind === 'logits');
  if (logits) parts.push(`logits ${e(logits.maxDiff)} (≤ ${e(logits.allowed)})`);
  const loss = r.checks.find((c) => c.kind === 'loss');
  if (loss) parts.push(`loss ${e(loss.maxDiff / loss.maxRef)} rel (≤ ${e(TOLERANCE.loss)})`);
  const grads = r.checks.filter((c) => c.kind === 'gradient');
  if (grads.length) {
    // the gradient closest to (or furthest past) its tolerance
    const worst = grads.reduce((a, b) => (b.maxDiff / b.allowed > a.maxDiff / a.allowed ? b : a));
    const failed = grads.filter((c) => !c.pass).length;
    parts.push(`${grads.length} gradients${r.fixture.endsWith('-lora') ? ' (adapter, against s·dW)' : ''}, worst ${e(worst.maxDiff)} (≤ ${e(worst.allowed)}, ${worst.name})${failed ? `, ${failed} over tolerance` : ''}`);
  }
  const head = `${r.pass ? 'PASS' : 'FAIL'} ${r.fixture.padEnd(17)}`;
  return [`${head} ${parts.join(' | ')}  [${r.seconds.toFixed(1)} s]`, ...r.problems.map((p) => `       ${p}`), ...r.checks.filter((c) => !c.pass).map((c) => `       ${c.name}: max diff ${e(c.maxDiff)} > ${e(c.allowed)}`)].join('\n');
}
