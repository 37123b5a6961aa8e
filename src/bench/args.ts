// Command-line flags of the benchmark scripts: `--name value` pairs and bare `--name` switches.
const argv = process.argv.slice(2);

/** The value after `--name`, or undefined. */
export function flag(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** `--name` as a number, or `fallback` when absent; a value that is not a number is an error. */
export function numberFlag(name: string, fallback: number): number {
  const v = flag(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${v}`);
  return n;
}

/** Whether the bare switch `--name` was given. */
export function hasFlag(name: string): boolean {
  return argv.includes(`--${name}`);
}
