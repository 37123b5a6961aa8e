/**
 * Charts for results people would rather look at than read. Each chart is a Vega-Lite spec (JSON a
 * frontend renders interactively); the server renders the same spec to SVG (vega) and PNG (resvg),
 * so every picture has one source. Training curves, per-label scores with their intervals, and an
 * ablation's scores, gaps and privacy overlap against an axis.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { Resvg } from '@resvg/resvg-js';

export type VegaLiteSpec = TopLevelSpec;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const WIDTH = 560;

export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export async function renderPng(spec: VegaLiteSpec, width = 2 * WIDTH): Promise<Uint8Array> {
  return new Resvg(await renderSvg(spec), { fitTo: { mode: 'width', value: width }, background: 'white' }).render().asPng();
}

export interface LineSeries {
  name: string;
  points: [x: number, y: number][];
}

/** One or more series sharing the axes (e.g. training loss by step). */
export function lineChart(options: { title: string; xLabel: string; yLabel: string; series: LineSeries[] }): VegaLiteSpec {
  return {
    $schema: SCHEMA,
    title: options.title,
    width: WIDTH,
    height: 260,
    background: 'white',
    data: { values: options.series.flatMap((s) => s.points.map(([x, y]) => ({ series: s.name, x, y }))) },
    mark: { type: 'line', point: options.series.every((s) => s.points.length < 30) },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: options.xLabel },
      y: { field: 'y', type: 'quantitative', title: options.yLabel },
      color: { field: 'series', type: 'nominal', title: null, legend: options.series.length > 1 ? {} : null },
    },
  };
}

export interface Bar {
  label: string;
  value: number;
  /** Interval drawn as a whisker, when known. */
  low?: number | null;
  high?: number | null;
}

/** Horizontal bars on [0, 1] (scores), one row per label in the given order, with interval whiskers. */
export function scoreBars(options: { title: string; xLabel: string; bars: Bar[] }): VegaLiteSpec {
  const values = options.bars.map((bar, order) => ({ ...bar, order, low: bar.low ?? null, high: bar.high ?? null }));
  const y = { field: 'label', type: 'nominal' as const, title: null, sort: { field: 'order', op: 'min' as const }, axis: { labelLimit: 400 } };
  return {
    $schema: SCHEMA,
    title: options.title,
    width: WIDTH - 160,
    background: 'white',
    data: { values },
    encoding: { y },
    layer: [
      { mark: 'bar', encoding: { x: { field: 'value', type: 'quantitative', title: options.xLabel, scale: { domain: [0, 1] } } } },
      { transform: [{ filter: 'datum.low != null' }], mark: { type: 'rule', color: '#333' }, encoding: { x: { field: 'low', type: 'quantitative' }, x2: { field: 'high' } } },
      { mark: { type: 'text', align: 'left', dx: 4 }, encoding: { x: { value: WIDTH - 160 }, text: { field: 'value', type: 'quantitative', format: '.3f' } } },
    ],
  } as VegaLiteSpec;
}

/** An ablation's numbers along one axis (x), one line per series (gold, synthetic, …), with interval bands. */
export function seriesByAxis(options: { title: string; xLabel: string; yLabel: string; points: { x: number | string; series: string; facet: string; mean: number; low: number | null; high: number | null }[] }): VegaLiteSpec {
  const numeric = options.points.every((p) => typeof p.x === 'number');
  const x = { field: 'x', type: numeric ? ('quantitative' as const) : ('ordinal' as const), title: options.xLabel };
  const color = { field: 'series', type: 'nominal' as const, title: null };
  const facets = new Set(options.points.map((p) => p.facet));
  const layers = {
    layer: [
      { transform: [{ filter: 'datum.low != null' }], mark: { type: 'area', opacity: 0.2 }, encoding: { x, y: { field: 'low', type: 'quantitative', title: options.yLabel }, y2: { field: 'high' }, color } },
      { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'mean', type: 'quantitative', title: options.yLabel }, color } },
    ],
  };
  const base = { $schema: SCHEMA, title: options.title, background: 'white', data: { values: options.points } };
  if (facets.size <= 1) return { ...base, width: WIDTH, height: 280, ...layers } as VegaLiteSpec;
  return { ...base, facet: { field: 'facet', type: 'nominal', title: null }, columns: 2, spec: { width: WIDTH / 2, height: 200, ...layers } } as VegaLiteSpec;
}
