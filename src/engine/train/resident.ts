// Training whose weights and AdamW moments stay on the device between steps (WebGPU). The
// model's training graph carries the update (../optim/adamw-graph.ts); each step feeds the batch,
// the step's scalars and the previous step's device tensors, and fetches only the loss and the
// gradient norm. The host copies (the model's params, the optimizer's moments) are brought up to
// date by `pull`, which the training loop calls before anything reads them: validation,
// checkpoints, the end of training. Until the first step the host copies are the truth, so a
// resumed run starts from its checkpoint's weights and moments.
import { ADAMW_SCALARS, adamwNames, adamwScalarInput, GRAD_NORM } from '../optim/adamw-graph.js';
import type { AdamWScalarName } from '../optim/adamw-graph.js';
import type { AdamWState } from '../optim/adamw.js';
import type { AdamWScalars } from '../optim/simd.js';
import { download } from '../runtime/session.js';
import type { DeviceTensor, HostTensor, Session } from '../runtime/session.js';

interface DeviceState {
  p: DeviceTensor;
  m: DeviceTensor;
  v: DeviceTensor;
}

/** The outputs a resident training session keeps on the device (its `deviceOutputs`). */
export function residentDeviceOutputs(names: readonly string[]): string[] {
  return names.flatMap((name) => {
    const n = adamwNames(name);
    return [n.nextParam, n.nextM, n.nextV];
  });
}

export class ResidentTraining<B> {
  private state: Map<string, DeviceState> | null = null;
  private readonly outputs: string[];

  /**
   * `session` runs the model's training graph with appendAdamW's update over `specs`, created
   * with residentDeviceOutputs(specs' names); `batchFeeds` gives every other input of a step.
   */
  constructor(
    private readonly session: Session,
    private readonly specs: readonly { name: string; shape: readonly number[] }[],
    private readonly params: Map<string, Float32Array>,
    private readonly batchFeeds: (batch: B) => Record<string, HostTensor>,
  ) {
    this.outputs = ['loss', GRAD_NORM, ...residentDeviceOutputs(specs.map((s) => s.name))];
  }

  /**
   * One optimizer step on `batch` with `scalars` (AdamW.advance's) and clipping at `maxGradNorm`
   * (0: none). The first step starts from the host's weights and `moments` (zeros where absent).
   * Returns the batch's loss and the gradient norm before clipping (NaN when not clipping).
   */
  async step(batch: B, scalars: Omit<AdamWScalars, 'gradScale'>, maxGradNorm: number, moments: AdamWState): Promise<{ loss: number; gradNorm: number }> {
    const scalar = (x: number): HostTensor => ({ data: Float32Array.of(x), shape: [] });
    const values: Record<AdamWScalarName, number> = {
      b1: scalars.b1,
      c1: 1 - scalars.b1,
      b2: scalars.b2,
      c2: 1 - scalars.b2,
      eps: scalars.eps,
      step_size: scalars.stepSize,
      inv: scalars.inv,
      decay: scalars.decay,
      max_norm: maxGradNorm > 0 ? maxGradNorm : Infinity,
    };
    const feeds: Record<string, HostTensor | DeviceTensor> = this.batchFeeds(batch);
    for (const k of ADAMW_SCALARS) feeds[adamwScalarInput(k)] = scalar(values[k]);
    for (const s of this.specs) {
      const n = adamwNames(s.name);
      const shape = [...s.shape];
      const held = this.state?.get(s.name);
      const size = this.params.get(s.name)!.length;
      feeds[s.name] = held?.p ?? { data: this.params.get(s.name)!, shape };
      feeds[n.m] = held?.m ?? { data: moments.m.get(s.name) ?? new Float32Array(size), shape };
      feeds[n.v] = held?.v ?? { data: moments.v.get(s.name) ?? new Float32Array(size), shape };
    }
    const { host, device } = await this.session.runResident(feeds, this.outputs);
    this.release();
    this.state = new Map(
      this.specs.map((s) => {
        const n = adamwNames(s.name);
        return [s.name, { p: device[n.nextParam]!, m: device[n.nextM]!, v: device[n.nextV]! }];
      }),
    );
    const norm = (host[GRAD_NORM]!.data as Float32Array)[0]!;
    return { loss: (host.loss!.data as Float32Array)[0]!, gradNorm: maxGradNorm > 0 ? norm : NaN };
  }

  /** Copy the device's weights into the model's params and its moments into `moments`. */
  async pull(moments: AdamWState): Promise<void> {
    if (!this.state) return;
    for (const s of this.specs) {
      const held = this.state.get(s.name)!;
      const [p, m, v] = await download(this.session.device, [held.p, held.m, held.v]);
      this.params.get(s.name)!.set(p!);
      for (const [map, values] of [[moments.m, m!], [moments.v, v!]] as const) {
        const host = map.get(s.name);
        if (host?.length === values.length) host.set(values);
        else map.set(s.name, values);
      }
    }
  }

  private release(): void {
    for (const held of this.state?.values() ?? []) for (const t of [held.p, held.m, held.v]) t.dispose();
    this.state = null;
  }

  /** Free the device's copies and the session (the host copies stay as the last pull left them). */
  async dispose(): Promise<void> {
    this.release();
    await this.session.release();
  }
}
