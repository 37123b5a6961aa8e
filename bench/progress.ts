/**
 * Per-stage progress on stderr for the benches (stdout keeps only the results): on a terminal a
 * bar redrawn in place, otherwise one line every 10 s and at the end, so logs stay readable.
 */
const WIDTH = 24;
const LOG_EVERY_MS = 10_000;

export class StageProgress {
  private readonly started = performance.now();
  private lastLog = 0;
  private drawn = false;

  constructor(private readonly stage: string) {}

  /** `done` of `total` units (steps, batches); `note` is shown after the bar (e.g. the loss). */
  update(done: number, total: number, note = ''): void {
    const share = total > 0 ? Math.min(1, done / total) : 0;
    const elapsed = (performance.now() - this.started) / 1000;
    const eta = share > 0 ? elapsed * (1 / share - 1) : NaN;
    const filled = Math.round(share * WIDTH);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}]`;
    const line = `${this.stage} ${bar} ${(100 * share).toFixed(0).padStart(3)}% ${done}/${total} ${elapsed.toFixed(0)} s${Number.isFinite(eta) && share < 1 ? `, ~${eta.toFixed(0)} s left` : ''}${note ? ` ${note}` : ''}`;
    if (process.stderr.isTTY) {
      process.stderr.write(`\r${line}\x1b[K`);
      this.drawn = true;
    } else if (performance.now() - this.lastLog > LOG_EVERY_MS || done >= total) {
      this.lastLog = performance.now();
      process.stderr.write(`${line}\n`);
    }
  }

  /** Ends the stage's line; returns its wall seconds. */
  end(note = ''): number {
    const seconds = (performance.now() - this.started) / 1000;
    if (this.drawn) process.stderr.write('\n');
    process.stderr.write(`${this.stage}: done in ${seconds.toFixed(1)} s${note ? `, ${note}` : ''}\n`);
    return seconds;
  }
}
