// Training whose weights and AdamW moments stay on the device between steps (WebGPU). The
// model's training graph carries the update (../optim/adamw-graph.ts); each step feeds the batch,
// the step's scalars and the previous step's device tensors, and fetches only the loss and the
// gradient norm. The host copies (the model's params, the optimizer's moments) are brought up to
// date by `pull`, which the training loop calls before anything reads them: validation,
// checkpoints, the end of training. Until the first step the host copies are the truth, so a
// resumed run starts from its checkpoint's weights and moments.
import { adamwCarried, adamwNames, GRAD_NORM } from '../optim/adamw-graph.js';
import type { AdamWState } from '../optim/adamw.js';
import { download } from '../runtime/session.js';
import type { DeviceTensor, HostTensor, Session } from '../runtime/session.js';
import { fixedWeightFeeds, scalarFeeds, trainableStateFeeds, writeBack, type StepScalars, type WeightSpec } from './update-state.js';

interface DeviceState {
  p: DeviceTensor;
  m: DeviceTensor;
  v: DeviceTensor;
}

/** The outputs a resident training session keeps on the device (its `deviceOutputs`). */
export function residentDeviceOutputs(names: readonly string[]): string[] {
  return names.flatMap((name) => adamwCarried(name).map((c) => c.output));
}

export class ResidentTraining<B> {
  readonly kind = 'resident';
  private state: Map<string, DeviceState> | null = null;
  private readonly outputs: string[];

  /**
   * `session` runs the model's training graph with appendAdamW's update over `trainable`,
   * created with residentDeviceOutputs(their names); `fixed` are the weights that do not train;
   * `batchFeeds` gives a step's other inputs.
   */
  constructor(
    private readonly session: Session,
    private readonly trainable: readonly WeightSpec[],
    private readonly fixed: readonly WeightSpec[],
    private readonly params: Map<string, Float32Array>,
    private readonly batchFeeds: (batch: B) => Record<string, HostTensor>,
  ) {
    this.outputs = ['loss', GRAD_NORM, ...residentDeviceOutputs(trainable.map((s) => s.name))];
  }

  /**
   * One optimizer step on `batch` with `scalars` (AdamW.advance's) and clipping at `maxGradNorm`
   * (0: none). The first step starts from the host's weights and `moments` (zeros where absent).
   * Returns the batch's loss and the gradient norm before clipping (NaN when not clipping).
   */
  async step(batch: B, scalars: StepScalars, maxGradNorm: number, moments: AdamWState): Promise<{ loss: number; gradNorm: number }> {
    const feeds: Record<string, HostTensor | DeviceTensor> = {
      ...this.batchFeeds(batch),
      ...scalarFeeds(scalars, maxGradNorm),
      ...fixedWeightFeeds(this.fixed, this.params, this.session.inputNames),
      ...(this.state ? {} : trainableStateFeeds(this.trainable, this.params, moments)),
    };
    for (const [name, held] of this.state ?? []) {
      const n = adamwNames(name);
      [feeds[name], feeds[n.m], feeds[n.v]] = [held.p, held.m, held.v];
    }
    const { host, device } = await this.session.runResident(feeds, this.outputs);
    this.release();
    this.state = new Map(
      this.trainable.map((s) => {
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
    for (const [name, held] of this.state) {
      const [p, m, v] = await download(this.session.device, [held.p, held.m, held.v]);
      writeBack(name, { p: p!, m: m!, v: v! }, this.params, moments);
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
