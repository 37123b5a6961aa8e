/**
 * The host's AdamW vs AdamW in the graph (src/engine/train/device-training.ts), in one process,
 * passes of K steps alternating so every way sees the same machine load:
 *   npm run build && node dist/bench/device-training.bench.js [--device cpu|webgpu|cuda] [--rounds N] [--sections encoder,decoder,bert-base]
 * Ways: `host` — loss and gradients from the device, AdamW on the host (the CPU's way, and every
 * device's with gradient accumulation); `looped` — K steps per run, the weights and moments
 * crossing once per run (CUDA's way); on webgpu also `resident` — the weights and moments stay
 * on the device (WebGPU's way). K = LOOPED_STEPS. Workloads: bench:engine's encoder (hidden 256 ×
 * 4 layers, token classification, 16 × 128), decoder (GPT-2 384 × 6, 16 × 128) and, when asked
 * for, BERT-base (8 × 128); dropout 0. Prints each way's median ms per step over the rounds after
 * the first (a warm-up), its tokens/s and speed against host, and how far its weights are from
 * host's after the same steps from the same start (the largest difference over the largest weight).
 */
import { maxDifference } from '../src/engine/check/hf-fixtures.js';
import { parseDecoderConfig } from '../src/engine/io/config.js';
import { parseEncoderConfig } from '../src/engine/models/bert/config.js';
import { EncoderModel } from '../src/engine/models/bert/model.js';
import { CausalLMModel } from '../src/engine/models/causal-lm.js';
import { gpt2 } from '../src/engine/models/gpt2/index.js';
import { AdamW } from '../src/engine/optim/adamw.js';
import { DEVICES, type Device } from '../src/engine/runtime/session.js';
import { LOOPED_STEPS, type DeviceTraining, type DeviceTrainingKind } from '../src/engine/train/device-training.js';
import type { Trainable } from '../src/engine/train/loop.js';
import { flag, numberFlag } from '../src/bench/args.js';
import { median, randomIds } from '../src/bench/engine-workloads.js';
import { rerunWithMallocEnv } from '../src/bench/malloc-env.js';

rerunWithMallocEnv(import.meta.url);

const device = (flag('device') ?? 'cpu') as Device;
if (!DEVICES.includes(device)) throw new Error(`--device must be one of ${DEVICES.join(', ')}`);
const rounds = numberFlag('rounds', 3);
const sections = (flag('sections') ?? 'encoder,decoder').split(',');
const engine = { seed: 0, intraOpThreads: 2, device };
const K = LOOPED_STEPS;

type Model<B> = Trainable<B> & { deviceTraining(kind: DeviceTrainingKind): Promise<DeviceTraining<B> | null>; dispose(): Promise<void> };

/** One way of training `model`: K steps on `batch` per pass. */
interface Way {
  name: string;
  pass: () => Promise<void>;
  /** The weights after the passes so far, on the host. */
  weights: () => Promise<Map<string, Float32Array>>;
  release: () => Promise<void>;
  ms: number[];
}

async function ways<B>(make: () => Model<B>, batch: B): Promise<Way[]> {
  const host = make();
  const hostOpt = new AdamW({ lr: 1e-4 });
  const out: Way[] = [
    {
      name: 'host',
      ms: [],
      pass: async () => {
        for (let k = 0; k < K; k++) hostOpt.step(host.params, (await host.lossAndGrads(batch)).grads);
      },
      weights: async () => host.params,
      release: () => host.dispose(),
    },
  ];
  for (const kind of ['looped', ...(device === 'webgpu' ? ['resident'] : [])] as DeviceTrainingKind[]) {
    const model = make();
    const opt = new AdamW({ lr: 1e-4 });
    const training = (await model.deviceTraining(kind))!;
    out.push({
      name: kind,
      ms: [],
      pass: async () => {
        if (training.kind === 'looped') await training.steps(new Array<B>(K).fill(batch), Array.from({ length: K }, () => opt.advance()), 0, opt.state);
        else for (let k = 0; k < K; k++) await training.step(batch, opt.advance(), 0, opt.state);
      },
      weights: async () => {
        if (training.kind === 'resident') await training.pull(opt.state);
        return model.params;
      },
      release: async () => {
        await training.dispose();
        await model.dispose();
      },
    });
  }
  return out;
}

async function compare<B>(name: string, tokensPerStep: number, make: () => Model<B>, batch: B): Promise<void> {
  const all = await ways(make, batch);
  for (let r = 0; r <= rounds; r++) {
    for (const way of all) {
      const t = performance.now();
      await way.pass();
      if (r > 0) way.ms.push((performance.now() - t) / K);
    }
  }
  const reference = await all[0]!.weights();
  const hostMs = median(all[0]!.ms);
  for (const way of all) {
    const ms = median(way.ms);
    let worst = 0;
    let largest = 0;
    for (const [param, w] of await way.weights()) {
      const { maxDiff, maxRef } = maxDifference(w, reference.get(param)!);
      worst = Math.max(worst, maxDiff);
      largest = Math.max(largest, maxRef);
    }
    const agreement = way === all[0] ? '' : ` | weights after ${(rounds + 1) * K} steps within ${(worst / largest).toExponential(1)} of host's`;
    console.log(`${name.padEnd(16)} ${way.name.padEnd(8)} ${ms.toFixed(0).padStart(6)} ms/step ${((tokensPerStep * 1000) / ms).toFixed(0).padStart(7)} tok/s | ${(hostMs / ms).toFixed(2)}× host${agreement}`);
  }
  for (const way of all) await way.release();
}

const encoderConfig = (C: number, L: number, H: number) =>
  parseEncoderConfig({
    model_type: 'bert', vocab_size: 30522, hidden_size: C, num_hidden_layers: L, num_attention_heads: H, intermediate_size: 4 * C, max_position_embeddings: 512,
    hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, id2label: Object.fromEntries(Array.from({ length: 43 }, (_, i) => [i, `L${i}`])),
  });
const encoderBatch = (B: number) => ({ batchSize: B, seqLen: 128, inputIds: randomIds(B * 128, 30522, 1), labels: randomIds(B * 128, 43, 2) });

console.log(`host AdamW vs AdamW in the graph — device ${device}, 2 intra-op threads, passes of ${K} steps, 1 warm-up + ${rounds} rounds, medians`);
for (const section of sections) {
  if (section === 'encoder') await compare('encoder.train', 16 * 128, () => EncoderModel.fromConfig(encoderConfig(256, 4, 4), engine), encoderBatch(16));
  else if (section === 'bert-base') await compare('bert-base.train', 8 * 128, () => EncoderModel.fromConfig(encoderConfig(768, 12, 12), engine), encoderBatch(8));
  else if (section === 'decoder') {
    const config = parseDecoderConfig({ model_type: 'gpt2', vocab_size: 8000, n_embd: 384, n_layer: 6, n_head: 6, n_inner: 1536, n_positions: 1024, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 });
    const ids = randomIds(16 * 128, 8000, 3);
    await compare('decoder.train', 16 * 128, () => CausalLMModel.fromConfig(gpt2, config, engine), { batchSize: 16, seqLen: 128, inputIds: ids, labels: ids });
  } else throw new Error(`unknown section ${section}; sections: encoder, decoder, bert-base`);
}
