// Masked language modelling (BERT pre-training) as a batch source for the training loop: texts
// packed into windows of T tokens, each opened and closed by the tokenizer's special tokens
// ([CLS] … [SEP] for BERT, <s> … </s> for RoBERTa), and a fresh mask drawn for every batch.
//
// Masking as BERT: each non-special token is chosen with maskProbability (at least one per
// window); of the chosen, 80% become the mask token, 10% a random non-special token and 10% stay
// as they are. Labels are the original ids at the chosen positions and -100 (ignored) elsewhere.
// Every random draw comes from the `rng` the loop passes in, so a resumed run masks exactly as an
// uninterrupted one.
//
// Letters: B windows per batch, T tokens per window.
import type { EncoderBatch } from '../models/bert/model.js';
import type { Rng } from '../runtime/rng.js';
import type { BatchSource } from './loop.js';

export interface MaskedLmTokens {
  /** Opens every window ([CLS] / <s>). */
  first: number;
  /** Closes every window and separates texts within one ([SEP] / </s>). */
  last: number;
  mask: number;
  pad: number;
  vocabSize: number;
  /** Ids never masked nor drawn as random replacements (first, last, mask and pad are always). */
  special: readonly number[];
}

export interface MaskedLmOptions {
  /** Share of the non-special tokens chosen for prediction (default 0.15, as BERT). */
  maskProbability?: number;
}

/**
 * One stream of every text, texts separated by `last`, cut into windows of T tokens:
 * `first`, T − 2 tokens, `last`. The final partial window is kept, padded to T.
 */
export function packWindows(texts: readonly (readonly number[])[], T: number, tokens: Pick<MaskedLmTokens, 'first' | 'last' | 'pad'>): number[][] {
  if (T < 3) throw new Error(`seqLen must be at least 3 (two special tokens and one to predict), got ${T}`);
  const stream: number[] = [];
  for (const ids of texts) {
    if (stream.length && ids.length) stream.push(tokens.last);
    for (const id of ids) stream.push(id);
  }
  const body = T - 2;
  const windows: number[][] = [];
  for (let at = 0; at < stream.length; at += body) {
    const part = stream.slice(at, at + body);
    // a window that only holds a separator teaches nothing
    if (part.every((id) => id === tokens.last)) continue;
    const w = [tokens.first, ...part, tokens.last];
    while (w.length < T) w.push(tokens.pad);
    windows.push(w);
  }
  return windows;
}

/** Unmasked batch of windows: padding gets attention 0. */
function collateWindows(windows: readonly (readonly number[])[], pad: number): { batch: EncoderBatch & { inputIds: Int32Array; labels: Int32Array }; original: Int32Array } {
  const B = windows.length;
  const T = windows[0]!.length;
  const original = new Int32Array(B * T);
  const attentionMask = new Int32Array(B * T);
  windows.forEach((w, b) => {
    for (let t = 0; t < T; t++) {
      original[b * T + t] = w[t]!;
      attentionMask[b * T + t] = w[t] === pad ? 0 : 1;
    }
  });
  return { batch: { batchSize: B, seqLen: T, inputIds: original.slice(), attentionMask, labels: new Int32Array(B * T).fill(-100) }, original };
}

/** The ids masking skips (special tokens) and the ids a random replacement is drawn from (all others). */
function maskingSets(tokens: MaskedLmTokens): { special: Set<number>; replacements: number[] } {
  const special = new Set([tokens.first, tokens.last, tokens.mask, tokens.pad, ...tokens.special]);
  const replacements: number[] = [];
  for (let id = 0; id < tokens.vocabSize; id++) if (!special.has(id)) replacements.push(id);
  return { special, replacements };
}

/**
 * Mask `batch` in place (inputIds and labels) from its `original` ids, BERT's way, drawing from `rng`.
 * Per window: one draw per maskable token (chosen?), one per chosen token (how it is corrupted),
 * one more for a random replacement; a window with none chosen gets one chosen uniformly.
 */
function applyMask(
  batch: EncoderBatch & { inputIds: Int32Array; labels: Int32Array },
  original: Int32Array,
  sets: { special: Set<number>; replacements: number[] },
  mask: number,
  p: number,
  rng: Rng,
): void {
  const { special, replacements } = sets;
  const { batchSize: B, seqLen: T } = batch;
  const corrupt = (i: number): void => {
    batch.labels[i] = original[i]!;
    const r = rng.nextFloat();
    if (r < 0.8) batch.inputIds[i] = mask;
    else if (r < 0.9 && replacements.length) batch.inputIds[i] = replacements[rng.nextInt(replacements.length)]!;
  };
  for (let b = 0; b < B; b++) {
    const candidates: number[] = [];
    for (let t = 0; t < T; t++) if (!special.has(original[b * T + t]!)) candidates.push(b * T + t);
    let chosen = 0;
    for (const i of candidates) {
      if (rng.nextFloat() < p) {
        corrupt(i);
        chosen++;
      }
    }
    if (!chosen && candidates.length) corrupt(candidates[rng.nextInt(candidates.length)]!);
  }
}

/** Windows of the texts, masked afresh in every batch (so every epoch sees new masks). */
export class MaskedLmBatches implements BatchSource<EncoderBatch> {
  readonly size: number;
  readonly maskProbability: number;
  private readonly sets: { special: Set<number>; replacements: number[] };

  constructor(
    readonly windows: readonly (readonly number[])[],
    readonly tokens: MaskedLmTokens,
    opts: MaskedLmOptions = {},
  ) {
    this.maskProbability = opts.maskProbability ?? 0.15;
    if (!(this.maskProbability > 0 && this.maskProbability < 1)) throw new Error(`maskProbability must be in (0, 1), got ${this.maskProbability}`);
    this.size = windows.length;
    this.sets = maskingSets(tokens);
  }

  batch(indices: readonly number[], rng: Rng): EncoderBatch {
    return this.masked(indices.map((i) => this.windows[i]!), rng);
  }

  /** These windows masked with draws from `rng`. */
  masked(windows: readonly (readonly number[])[], rng: Rng): EncoderBatch {
    const { batch, original } = collateWindows(windows, this.tokens.pad);
    applyMask(batch, original, this.sets, this.tokens.mask, this.maskProbability, rng);
    return batch;
  }

  /** All windows in order, batchSize at a time, masked once from `rng` (held-out text: every validation scores the same positions). */
  fixedBatches(batchSize: number, rng: Rng): EncoderBatch[] {
    const out: EncoderBatch[] = [];
    for (let at = 0; at < this.windows.length; at += batchSize) out.push(this.masked(this.windows.slice(at, at + batchSize), rng));
    return out;
  }
}
