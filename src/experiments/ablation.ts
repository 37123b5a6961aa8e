/**
 * An ablation's grid: axes over experiment spec fields, crossed with seeds. Each cell is one
 * experiment: the base spec with the cell's axis values and seed. Pure functions, no database.
 */
import { badInput } from '../common/errors.js';
import type { ExperimentSpec } from './spec.js';

export type AxisValue = number | string | boolean | null;

export interface Axis {
  /** A spec path (`annotator.fraction`, `generation.sizeMultiple`, …) or `fraction`: the same fraction for annotator and generator. */
  field: string;
  values: AxisValue[];
}

/** One cell: a value per axis (by field) and a seed. */
export interface Cell {
  values: Record<string, AxisValue>;
  seed: number;
}

/**
 * `generator.adaptation.fraction` 0 (and `fraction` 0 for the generator) means no adaptation: the
 * paper's 0% generator fraction samples the base model.
 */
const NO_ADAPTATION = 0;

/** Checks axes and seeds against the base spec; throws BAD_USER_INPUT naming the field. */
export function checkGrid(base: ExperimentSpec, axes: Axis[], seeds: number[]): void {
  if (axes.length === 0) throw badInput('axes', 'give at least one axis (a spec field and its values).');
  if (seeds.length === 0) throw badInput('seeds', 'give at least one seed.');
  if (new Set(seeds).size !== seeds.length || seeds.some((s) => !Number.isInteger(s))) throw badInput('seeds', 'must be distinct integers.');
  const fields = new Set<string>();
  axes.forEach((axis, i) => {
    if (fields.has(axis.field)) throw badInput(`axes[${i}].field`, `"${axis.field}" is already an axis.`);
    fields.add(axis.field);
    if (axis.values.length === 0) throw badInput(`axes[${i}].values`, 'give at least one value.');
    if (new Set(axis.values.map((v) => JSON.stringify(v))).size !== axis.values.length) throw badInput(`axes[${i}].values`, 'values must be distinct.');
    if (axis.field === 'fraction') return;
    const current = readPath(base, axis.field);
    if (current === undefined) throw badInput(`axes[${i}].field`, `"${axis.field}" is not a field of the experiment spec (see the experiment's config for the names).`);
    for (const value of axis.values) {
      const fits = (current === null || typeof current === typeof value || value === null) && (current === null || typeof current !== 'object');
      if (!fits) throw badInput(`axes[${i}].values`, `${JSON.stringify(value)} does not fit "${axis.field}" (now ${JSON.stringify(current)}).`);
    }
  });
}

/** Every cell, row by row (a row: one combination of axis values, all its seeds), so rows complete early. */
export function cellsOf(axes: Axis[], seeds: number[]): Cell[] {
  let rows: Record<string, AxisValue>[] = [{}];
  for (const axis of axes) rows = rows.flatMap((row) => axis.values.map((value) => ({ ...row, [axis.field]: value })));
  return rows.flatMap((values) => seeds.map((seed) => ({ values, seed })));
}

/** The cell's experiment spec: the base with the cell's values and seed. */
export function specOfCell(base: ExperimentSpec, cell: Cell): ExperimentSpec {
  const spec = structuredClone(base);
  spec.seed = cell.seed;
  for (const [field, value] of Object.entries(cell.values)) {
    if (field === 'fraction') {
      spec.annotator.fraction = value as number;
      setAdaptationFraction(spec, value as number);
    } else if (field === 'generator.adaptation.fraction') setAdaptationFraction(spec, value as number);
    else writePath(spec, field, value);
  }
  return spec;
}

/** A stable key of a cell's values (not its seed): cells of one row share it. */
export const rowKey = (values: Record<string, AxisValue>) => JSON.stringify(Object.entries(values).sort(([a], [b]) => (a < b ? -1 : 1)));

function setAdaptationFraction(spec: ExperimentSpec, fraction: number) {
  if (fraction === NO_ADAPTATION) spec.generator.adaptation = null;
  else if (spec.generator.adaptation) spec.generator.adaptation.fraction = fraction;
  else throw badInput('axes', 'a generator fraction above 0 needs generator.adaptation settings in the base spec.');
}

function readPath(spec: unknown, path: string): unknown {
  let node: unknown = spec;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || !(key in (node as object))) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function writePath(spec: unknown, path: string, value: AxisValue) {
  const keys = path.split('.');
  let node = spec as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[keys.at(-1)!] = value;
}
