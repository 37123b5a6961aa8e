/**
 * Crash points for tests of crash recovery: with DEID_CRASH_AT=<point>, the process dies (SIGKILL,
 * like a power cut) when it reaches that point. Unset, this does nothing. Never set it in production.
 */
export function crashHereInTests(point: string): void {
  if (process.env.DEID_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}
