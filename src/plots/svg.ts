/**
 * Small, dependency-free SVG charts for results people would rather look at than read: training
 * curves and per-label scores with their confidence intervals. Frontends inline the string.
 */

const WIDTH = 640;
const MARGIN = { top: 36, right: 20, bottom: 44, left: 64 };

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const fmt = (value: number) =>
  Number.isInteger(value) ? String(value) : Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 1 ? value.toFixed(2) : value.toFixed(3);

/** Up to `count` round tick values covering [min, max]. */
function ticks(min: number, max: number, count = 5): number[] {
  if (max <= min) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toFixed(12)));
  return out;
}

function frame(title: string, height: number, body: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="14">${escape(title)}</text>` +
    body +
    `</svg>`
  );
}

export interface LineSeries {
  name: string;
  points: [x: number, y: number][];
}

/** A line chart of one or more series sharing the axes (e.g. training loss by step). */
export function lineChart(options: { title: string; xLabel: string; yLabel: string; series: LineSeries[] }): string {
  const height = 320;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const all = options.series.flatMap((s) => s.points);
  if (all.length === 0) return frame(options.title, height, `<text x="${WIDTH / 2}" y="${height / 2}" text-anchor="middle">no data yet</text>`);
  const [xMin, xMax] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  const [yMin, yMax] = [Math.min(0, ...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  const x = (v: number) => MARGIN.left + (xMax === xMin ? plotW / 2 : ((v - xMin) / (xMax - xMin)) * plotW);
  const y = (v: number) => MARGIN.top + plotH - (yMax === yMin ? plotH / 2 : ((v - yMin) / (yMax - yMin)) * plotH);
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
  let body = axes(plotW, plotH, height, options.xLabel, options.yLabel);
  for (const t of ticks(yMin, yMax)) body += `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/><text x="${MARGIN.left - 6}" y="${y(t) + 4}" text-anchor="end">${fmt(t)}</text>`;
  for (const t of ticks(xMin, xMax)) body += `<text x="${x(t)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${fmt(t)}</text>`;
  options.series.forEach((series, i) => {
    const color = colors[i % colors.length];
    const path = series.points.map(([px, py], j) => `${j ? 'L' : 'M'}${x(px).toFixed(1)},${y(py).toFixed(1)}`).join('');
    body += `<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`;
    if (options.series.length > 1) body += `<text x="${MARGIN.left + plotW - 4}" y="${MARGIN.top + 14 + 14 * i}" text-anchor="end" fill="${color}">${escape(series.name)}</text>`;
  });
  return frame(options.title, height, body);
}

export interface Bar {
  label: string;
  value: number;
  /** Interval drawn as a whisker, when known. */
  low?: number | null;
  high?: number | null;
}

/** Horizontal bars on [0, 1] (scores), one row per label, with interval whiskers. */
export function scoreBars(options: { title: string; xLabel: string; bars: Bar[] }): string {
  const row = 18;
  // Room for the longest label (about 7 px a character at 11 px) and a value column on the right.
  const left = Math.min(320, 12 + Math.ceil(7 * Math.max(...options.bars.map((b) => b.label.length), 4)));
  const valueColumn = 44;
  const plotW = WIDTH - left - MARGIN.right - valueColumn;
  const height = MARGIN.top + options.bars.length * row + MARGIN.bottom;
  const x = (v: number) => left + Math.max(0, Math.min(1, v)) * plotW;
  let body = '';
  for (const t of [0, 0.2, 0.4, 0.6, 0.8, 1]) {
    body += `<line x1="${x(t)}" x2="${x(t)}" y1="${MARGIN.top}" y2="${height - MARGIN.bottom}" stroke="#eee"/><text x="${x(t)}" y="${height - MARGIN.bottom + 16}" text-anchor="middle">${fmt(t)}</text>`;
  }
  options.bars.forEach((bar, i) => {
    const top = MARGIN.top + i * row;
    body += `<text x="${left - 6}" y="${top + row / 2 + 4}" text-anchor="end">${escape(bar.label)}</text>`;
    body += `<rect x="${left}" y="${top + 3}" width="${(x(bar.value) - left).toFixed(1)}" height="${row - 6}" fill="#1f77b4"/>`;
    if (bar.low != null && bar.high != null) {
      const mid = top + row / 2;
      body += `<path d="M${x(bar.low).toFixed(1)},${mid}H${x(bar.high).toFixed(1)}M${x(bar.low).toFixed(1)},${mid - 4}v8M${x(bar.high).toFixed(1)},${mid - 4}v8" stroke="#333"/>`;
    }
    body += `<text x="${WIDTH - MARGIN.right}" y="${top + row / 2 + 4}" text-anchor="end" fill="#333">${bar.value.toFixed(3)}</text>`;
  });
  body += `<text x="${left + plotW / 2}" y="${height - 8}" text-anchor="middle">${escape(options.xLabel)}</text>`;
  return frame(options.title, height, body);
}

function axes(plotW: number, plotH: number, height: number, xLabel: string, yLabel: string): string {
  const x0 = MARGIN.left;
  const y0 = MARGIN.top + plotH;
  return (
    `<path d="M${x0},${MARGIN.top}V${y0}H${x0 + plotW}" fill="none" stroke="#333"/>` +
    `<text x="${x0 + plotW / 2}" y="${height - 8}" text-anchor="middle">${escape(xLabel)}</text>` +
    `<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)}</text>`
  );
}
