/**
 * Structured one-line JSON logs. Callers pass ids, counts and codes — never document text,
 * span text or tokens: corpora hold PHI and logs leave the machine in ordinary operations.
 */
type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold: Level = (process.env.LOG_LEVEL as Level) || 'info';

export function setLogLevel(level: Level) {
  threshold = level;
}

export function log(level: Level, event: string, fields: Record<string, string | number | boolean | null | undefined> = {}) {
  if (order[level] < order[threshold]) return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, event, ...fields });
  (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(line + '\n');
}
