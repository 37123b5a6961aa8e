// generate(): autoregressive decoding over any causal LM with a KV cache.
//
// The model is anything with prefill + decodeStep (GPT-2 and LLaMA graphs implement it), so
// this loop knows nothing about layers or ONNX. Batches of prompts of different lengths are
// left-padded: the model sees attention mask 0 on padding and derives positions from the mask.
//
// Letters: B = batch rows, V = vocabulary size.
import {
  LogitsProcessorList,
  MinNewTokensLogitsProcessor,
  RepetitionPenaltyLogitsProcessor,
  TemperatureLogitsWarper,
  TopKLogitsWarper,
  TopPLogitsWarper,
} from './logits-process.js';
import { Rng, type RngState } from '../runtime/rng.js';
import { GreedySampler, MultinomialSampler, type Sampler } from './sampler.js';
import { EosTokenCriteria, MaxNewTokensCriteria, StoppingCriteriaList } from './stopping-criteria.js';
import type { Streamer } from './streamers.js';

export interface StepOutput<Cache> {
  /** [B, V] scores of the next token after the last position of each row. */
  logits: Float32Array;
  cache: Cache;
}

/** What generate() needs from a decoder. */
export interface CausalLM<Cache = unknown> {
  readonly vocabSize: number;
  /**
   * Run the (left-padded) prompts [B][T] with mask [B][T]; returns the last position's logits.
   * maxNewTokens lets the model size its cache once.
   */
  prefill(inputIds: number[][], attentionMask: number[][], options?: { maxNewTokens?: number }): Promise<StepOutput<Cache>>;
  /** Feed one new token per row (mask 1); returns the next logits and the grown cache. */
  decodeStep(nextIds: number[], cache: Cache): Promise<StepOutput<Cache>>;
  /**
   * The cache of rows `rows` alone, in that order. With it, generate() stops feeding rows that
   * have finished (a batch of notes of different lengths costs what its live rows cost); without
   * it, finished rows are fed padding until the whole batch is done.
   */
  keepRows?(cache: Cache, rows: number[]): Cache;
  /** Free the cache's buffers, if the model holds any. */
  release?(cache: Cache): void;
}

export interface GenerationConfig {
  maxNewTokens: number;
  /** Sample (true) or take the argmax (false, the default). */
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  minNewTokens?: number;
  /** Stop a row when it emits one of these. */
  eosTokenIds?: number[];
  /** Fills finished rows and left padding. Default: the first EOS id, else 0. */
  padTokenId?: number;
  /** Seed of the sampling generator (ignored when an rng is passed). Default 0. */
  seed?: number;
  /**
   * The most positions a row may attend (default: no limit). A row about to pass it starts a
   * fresh cache on its latest ⌊window / 2⌋ tokens (one prefill) and goes on from there, so a model
   * trained on windows of this length writes texts longer than them without reaching positions it
   * never learned.
   */
  contextWindow?: number;
}

export interface GenerateOptions {
  streamer?: Streamer;
  /** A generator to continue from (e.g. restored with Rng.fromState). */
  rng?: Rng;
  /** Checked before every step; generation stops early (returning what it has) once it is true. */
  signal?: AbortSignal;
}

export interface GenerateResult {
  /** Each row's prompt followed by its new tokens (no padding; finished rows end at EOS). */
  sequences: number[][];
  /** Only the new tokens of each row. */
  newTokens: number[][];
  /** The sampler's state afterwards, to resume deterministically. */
  rngState: RngState | null;
}

/** Rows of different lengths as one batch: padding on the left, mask 0 there. */
function leftPad(rows: number[][], pad: number): { inputIds: number[][]; mask: number[][] } {
  const T = Math.max(...rows.map((r) => r.length));
  return {
    inputIds: rows.map((r) => [...new Array<number>(T - r.length).fill(pad), ...r]),
    mask: rows.map((r) => [...new Array<number>(T - r.length).fill(0), ...new Array<number>(r.length).fill(1)]),
  };
}

/** Read a Hugging Face generation_config.json object into a GenerationConfig. */
export function generationConfigFromHf(json: Record<string, unknown>, maxNewTokens = 20): GenerationConfig {
  const eos = json.eos_token_id;
  const n = (k: string) => (typeof json[k] === 'number' ? (json[k] as number) : undefined);
  return {
    maxNewTokens: n('max_new_tokens') ?? maxNewTokens,
    doSample: json.do_sample === true,
    temperature: n('temperature'),
    topK: n('top_k'),
    topP: n('top_p'),
    repetitionPenalty: n('repetition_penalty'),
    eosTokenIds: typeof eos === 'number' ? [eos] : Array.isArray(eos) ? (eos as number[]) : [],
    padTokenId: n('pad_token_id'),
  };
}

export function getSampler(config: GenerationConfig, rng: Rng): Sampler {
  return config.doSample ? new MultinomialSampler(rng) : new GreedySampler();
}

export async function generate<Cache>(
  model: CausalLM<Cache>,
  prompts: number[][],
  config: GenerationConfig,
  options: GenerateOptions = {},
): Promise<GenerateResult> {
  // 1. Check the request and left-pad the prompts into one batch.
  if (!prompts.length || prompts.some((p) => p.length === 0)) throw new Error('generate: every prompt needs at least one token');
  const eos = config.eosTokenIds ?? [];
  const pad = config.padTokenId ?? eos[0] ?? 0;
  const window = config.contextWindow;
  if (window !== undefined && !(Number.isInteger(window) && window >= 2)) throw new Error(`generate: contextWindow must be an integer ≥ 2, got ${window}`);
  if (window !== undefined && prompts.some((p) => p.length > window)) throw new Error(`generate: a prompt is longer than contextWindow ${window}`);
  const { inputIds, mask } = leftPad(prompts, pad);
  const sequences = prompts.map((p) => [...p]);
  const promptLengths = prompts.map((p) => p.length);

  // 2. Processors (always), warpers (sampling only), sampler and stopping criteria.
  const processors = new LogitsProcessorList();
  if (config.repetitionPenalty !== undefined && config.repetitionPenalty !== 1) processors.push(new RepetitionPenaltyLogitsProcessor(config.repetitionPenalty));
  if (config.minNewTokens && eos.length) processors.push(new MinNewTokensLogitsProcessor(config.minNewTokens, eos));
  if (config.doSample) {
    if (config.temperature !== undefined) processors.push(new TemperatureLogitsWarper(config.temperature));
    if (config.topK !== undefined && config.topK > 0) processors.push(new TopKLogitsWarper(config.topK));
    if (config.topP !== undefined && config.topP < 1) processors.push(new TopPLogitsWarper(config.topP));
  }
  const rng = options.rng ?? Rng.fromSeed(config.seed ?? 0);
  const sampler = getSampler(config, rng);
  const stopping = new StoppingCriteriaList([new MaxNewTokensCriteria(config.maxNewTokens)]);
  if (eos.length) stopping.push(new EosTokenCriteria(eos));
  const finished = prompts.map(() => config.maxNewTokens === 0);
  options.streamer?.put(prompts.map((p) => [...p]));

  // 3. Prefill: the whole prompt in one pass fills the KV cache.
  let step: StepOutput<Cache> | null = finished.every(Boolean) ? null : await model.prefill(inputIds, mask, { maxNewTokens: config.maxNewTokens });
  const V = model.vocabSize;
  /** Positions the cache holds: the widest row since the last prefill. */
  let context = inputIds[0]!.length;

  // 4. One token per step until every row is done. `active` are the rows the cache holds, in its
  // order: all of them, or (with keepRows) the unfinished ones.
  let active = prompts.map((_, b) => b);
  while (step && !finished.every(Boolean) && !options.signal?.aborted) {
    // 4a. Score, process and choose the next token of each unfinished row.
    const next = prompts.map(() => pad);
    active.forEach((b, i) => {
      if (finished[b]) return;
      const row = step!.logits.slice(i * V, (i + 1) * V);
      processors.process(sequences[b], row, promptLengths[b]);
      next[b] = sampler.sample(row);
    });
    // 4b. Append, stream, and check stopping criteria.
    const live = finished.map((f) => !f);
    next.forEach((id, b) => live[b] && sequences[b].push(id));
    options.streamer?.put(next.map((id, b) => (live[b] ? [id] : [])));
    stopping.isDone(sequences, promptLengths).forEach((d, b) => (finished[b] ||= d));
    if (finished.every(Boolean)) break;
    // 4c. Drop finished rows from the cache (when the model can), then feed the new tokens
    // (padding for finished rows still in it).
    let prev: Cache = step.cache;
    if (model.keepRows && active.some((b) => finished[b])) {
      const kept = active.flatMap((b, i) => (finished[b] ? [] : [i]));
      const cache = model.keepRows(prev, kept);
      if (model.release && cache !== prev) model.release(prev);
      prev = cache;
      active = kept.map((i) => active[i]!);
    }
    if (window !== undefined && context >= window) {
      // The next token would sit at position `window`: restart every row on its latest tokens.
      const tails = leftPad(active.map((b) => sequences[b]!.slice(-Math.floor(window / 2))), pad);
      const made = Math.max(...active.map((b) => sequences[b]!.length - promptLengths[b]!));
      step = await model.prefill(tails.inputIds, tails.mask, { maxNewTokens: Math.max(1, config.maxNewTokens - made) });
      context = tails.inputIds[0]!.length;
    } else {
      step = await model.decodeStep(active.map((b) => next[b]!), prev);
      context++;
    }
    if (model.release && step.cache !== prev) model.release(prev);
  }
  if (step && model.release) model.release(step.cache);

  // 5. Close the stream and return the sequences.
  options.streamer?.end();
  return {
    sequences,
    newTokens: sequences.map((s, b) => s.slice(promptLengths[b])),
    rngState: config.doSample ? rng.state : null,
  };
}
