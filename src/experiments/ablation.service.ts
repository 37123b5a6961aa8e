/**
 * Ablations: grids of experiments over spec fields and seeds (src/experiments/ablation.ts). Every
 * cell is an experiment; steps that cells share run once, because each cell's steps reuse identical
 * jobs (the same annotator under five generator fractions is one training). Pause, resume, cancel,
 * extend (new values or seeds: only new cells) and delete act on the cells. The results table
 * aggregates the cells' scores over seeds.
 */
import type { Ablation, Experiment, Prisma, PrismaClient } from '../generated/prisma/client.js';
import { AppError, badInput, notFound } from '../common/errors.js';
import { log } from '../common/log.js';
import { paginate, type PageArgs, type SortDirection } from '../common/pagination.js';
import type { AuthUser } from '../auth/auth.types.js';
import { canWrite } from '../auth/auth.types.js';
import { FINISHED_STATES, JobStatus } from '../jobs/types.js';
import type { MetricRepository } from '../metrics/metric.repository.js';
import { Topic, type AblationEventPayload, type EventBus } from '../subscriptions/pubsub.js';
import { cellsOf, checkGrid, rowKey, specOfCell, type Axis, type AxisValue, type Cell } from './ablation.js';
import type { ExperimentService } from './experiment.service.js';
import type { ExperimentSpec } from './spec.js';
import { seriesByAxis, type VegaLiteSpec } from '../plots/charts.js';

export type AblationPlotKind = 'SCORES' | 'GAP' | 'PRIVACY';

export interface AblationPlan {
  cells: number;
  /** Distinct steps over all cells: to run, and answered by jobs that exist. */
  stepsToRun: number;
  stepsReused: number;
  /** Steps of all cells, counted per cell (what separate experiments would run). */
  stepsWithoutSharing: number;
}

/** One row of the results table: a combination of axis values, aggregated over its seeds. */
export interface AblationRow {
  values: Record<string, AxisValue>;
  seeds: number[];
  cellsDone: number;
  cells: number;
  gold: Aggregate | null;
  synthetic: Aggregate | null;
  /** gold − synthetic, per seed, aggregated. */
  gap: Aggregate | null;
  /** 5-gram overlap of the kept synthetic notes with the real training split. */
  ngramOverlap: Aggregate | null;
}

export interface Aggregate {
  n: number;
  mean: number;
  /** Sample standard deviation over seeds; null for one seed. */
  sd: number | null;
  /** Mean over seeds of each seed's bootstrap interval bounds (gold and synthetic). */
  ciLow: number | null;
  ciHigh: number | null;
  values: number[];
}

export class AblationService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly experiments: ExperimentService,
    private readonly metricRows: MetricRepository,
    private readonly bus: EventBus,
  ) {
    experiments.onFinished((experiment) => this.onCellFinished(experiment));
  }

  // ---- create and change ----

  async create(user: AuthUser, name: string, base: ExperimentSpec, axes: Axis[], seeds: number[], dryRun: boolean): Promise<{ ablation: Ablation | null; plan: AblationPlan }> {
    if (!canWrite(user)) throw new AppError('FORBIDDEN', 'Viewers may not run ablations.');
    if (!name.trim()) throw badInput('name', 'must not be empty.');
    checkGrid(base, axes, seeds);
    const cells = cellsOf(axes, seeds);
    const specs = await this.validateCells(user, base, cells);
    const plan = await this.plan(user, name, specs);
    if (dryRun) return { ablation: null, plan };
    const ablation = await this.prisma.ablation.create({
      data: { name, ownerId: user.id, grid: axes as unknown as Prisma.InputJsonValue, seeds, baseSpec: base as unknown as Prisma.InputJsonValue, status: JobStatus.running },
    });
    log('info', 'ablation.created', { ablationId: ablation.id, cells: cells.length });
    await this.startCells(user, ablation, cells, specs);
    return { ablation: (await this.prisma.ablation.findUnique({ where: { id: ablation.id } }))!, plan };
  }

  /** Adds axis values and seeds; only the new cells are created, and they reuse every step they share. */
  async extend(user: AuthUser, id: string, more: { axes: Axis[]; seeds: number[] }): Promise<Ablation> {
    const ablation = await this.ablation(user, id);
    const axes = (ablation.grid as unknown as Axis[]).map((axis) => ({ ...axis, values: [...axis.values] }));
    more.axes.forEach((extra, i) => {
      const axis = axes.find((a) => a.field === extra.field);
      if (!axis) throw badInput(`axes[${i}].field`, `"${extra.field}" is not an axis of this ablation (its axes: ${axes.map((a) => a.field).join(', ')}).`);
      for (const value of extra.values) if (!axis.values.some((v) => JSON.stringify(v) === JSON.stringify(value))) axis.values.push(value);
    });
    const seeds = [...ablation.seeds, ...more.seeds.filter((s) => !ablation.seeds.includes(s))];
    const base = ablation.baseSpec as unknown as ExperimentSpec;
    checkGrid(base, axes, seeds);
    const existing = new Set((await this.cells(id)).map((cell) => cellKey(cell.cell as Record<string, AxisValue>, cell.seed!)));
    const added = cellsOf(axes, seeds).filter((cell) => !existing.has(cellKey(cell.values, cell.seed)));
    const specs = await this.validateCells(user, base, added);
    const updated = await this.prisma.ablation.update({
      where: { id },
      data: { grid: axes as unknown as Prisma.InputJsonValue, seeds, ...(added.length ? { status: JobStatus.running, finishedAt: null } : {}) },
    });
    await this.startCells(user, updated, added, specs);
    return updated;
  }

  async pause(user: AuthUser, id: string): Promise<Ablation> {
    const ablation = await this.ablation(user, id);
    if (FINISHED_STATES.includes(ablation.status)) throw new AppError('INVALID_STATE', `Ablation ${id} already ended (${ablation.status}).`);
    return this.prisma.ablation.update({ where: { id }, data: { paused: true } });
  }

  /** Unpauses, and runs again every cell that failed or was cancelled (their finished steps stay). */
  async resume(user: AuthUser, id: string): Promise<Ablation> {
    await this.ablation(user, id);
    const ablation = await this.prisma.ablation.update({ where: { id }, data: { paused: false, status: JobStatus.running, finishedAt: null } });
    for (const cell of await this.cells(id)) {
      if (cell.status === JobStatus.failed || cell.status === JobStatus.cancelled) await this.experiments.reopen(cell.id);
      else if (!FINISHED_STATES.includes(cell.status)) await this.experiments.advance(cell.id);
    }
    await this.finishIfDone(id);
    return (await this.prisma.ablation.findUnique({ where: { id } }))!;
  }

  async cancel(user: AuthUser, id: string): Promise<Ablation> {
    const ablation = await this.ablation(user, id);
    if (FINISHED_STATES.includes(ablation.status)) throw new AppError('INVALID_STATE', `Ablation ${id} already ended (${ablation.status}).`);
    await this.prisma.ablation.update({ where: { id }, data: { status: JobStatus.cancelled, finishedAt: new Date() } });
    for (const cell of await this.cells(id)) if (!FINISHED_STATES.includes(cell.status)) await this.experiments.cancel(user, cell.id);
    return (await this.prisma.ablation.findUnique({ where: { id } }))!;
  }

  /** Deletes the ablation and its cells (each as deleteExperiment does). */
  async delete(user: AuthUser, id: string): Promise<string> {
    await this.ablation(user, id);
    await this.prisma.ablation.update({ where: { id }, data: { paused: true } });
    await this.experiments.deleteMany(user, (await this.cells(id)).map((cell) => cell.id));
    await this.prisma.ablation.delete({ where: { id } });
    log('info', 'ablation.deleted', { ablationId: id });
    return id;
  }

  private async validateCells(user: AuthUser, base: ExperimentSpec, cells: Cell[]) {
    const specs: ExperimentSpec[] = [];
    for (const cell of cells) {
      try {
        specs.push(await this.experiments.validate(user, specOfCell(base, cell)));
      } catch (error) {
        if (error instanceof AppError) throw new AppError(error.code, `Cell ${JSON.stringify({ ...cell.values, seed: cell.seed })}: ${error.message}`, error.details);
        throw error;
      }
    }
    return specs;
  }

  private async startCells(user: AuthUser, ablation: Ablation, cells: Cell[], specs: ExperimentSpec[]) {
    for (const [i, cell] of cells.entries()) {
      const label = Object.entries(cell.values).map(([field, value]) => `${field}=${JSON.stringify(value)}`).join(', ');
      await this.experiments.start(user, `${ablation.name} [${label}; seed ${cell.seed}]`, specs[i]!, { ablationId: ablation.id, values: cell.values, seed: cell.seed });
    }
  }

  /** Distinct steps over the cells, by their (planned) hash. */
  private async plan(user: AuthUser, name: string, specs: ExperimentSpec[]): Promise<AblationPlan> {
    const run = new Set<string>();
    const reuse = new Set<string>();
    let total = 0;
    for (const spec of specs) {
      for (const step of await this.experiments.preview(user, name, spec)) {
        total++;
        (step.action === 'REUSE' ? reuse : run).add(step.key);
      }
    }
    return { cells: specs.length, stepsToRun: run.size, stepsReused: reuse.size, stepsWithoutSharing: total };
  }

  /** The table as a file: CSV (a header comment names the metric) or JSON. */
  async tableFile(user: AuthUser, id: string, metric: string, format: 'csv' | 'json') {
    const ablation = await this.ablation(user, id);
    const rows = await this.table(user, id, metric);
    const axes = (ablation.grid as unknown as Axis[]).map((axis) => axis.field);
    const stem = `${ablation.name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'ablation'}-${metric}`;
    const text = format === 'csv' ? tableCsv(axes, metric, rows) : JSON.stringify({ ablationId: id, metric, axes, seeds: ablation.seeds, rows }, null, 2);
    return { bytes: Buffer.from(text), fileName: `${stem}.${format}`, contentType: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json' };
  }

  /**
   * A chart of the table along one axis (default: the first), as a Vega-Lite spec: SCORES (gold and
   * synthetic, bands: the bootstrap intervals), GAP (gold − synthetic ± sd over seeds) or PRIVACY
   * (5-gram overlap ± sd). Other axes' values facet the chart.
   */
  async plot(user: AuthUser, id: string, kind: AblationPlotKind, metric: string, axis: string | null): Promise<VegaLiteSpec> {
    const ablation = await this.ablation(user, id);
    const fields = (ablation.grid as unknown as Axis[]).map((a) => a.field);
    const x = axis ?? fields[0]!;
    if (!fields.includes(x)) throw badInput('axis', `"${x}" is not an axis of this ablation (its axes: ${fields.join(', ')}).`);
    const rows = await this.table(user, id, metric);
    const facetOf = (values: Record<string, AxisValue>) => fields.filter((f) => f !== x).map((f) => `${f}=${JSON.stringify(values[f])}`).join(', ');
    const band = (a: Aggregate, useCi: boolean) => (useCi && a.ciLow !== null ? { low: a.ciLow, high: a.ciHigh } : a.sd !== null ? { low: a.mean - a.sd, high: a.mean + a.sd } : { low: null, high: null });
    const series: [string, (row: AblationRow) => Aggregate | null, boolean][] =
      kind === 'SCORES' ? [['gold-trained', (r) => r.gold, true], ['synthetic-trained', (r) => r.synthetic, true]] : kind === 'GAP' ? [['gold − synthetic', (r) => r.gap, false]] : [['5-gram overlap', (r) => r.ngramOverlap, false]];
    const points = rows.flatMap((row) =>
      series.flatMap(([name, pick, useCi]) => {
        const a = pick(row);
        const values = row.values as Record<string, AxisValue>;
        return a ? [{ x: values[x] as number | string, series: name, facet: facetOf(values), mean: a.mean, ...band(a, useCi) }] : [];
      }),
    );
    const yLabel = kind === 'SCORES' ? metric : kind === 'GAP' ? `${metric}: gold − synthetic` : '5-gram overlap with the training text';
    return seriesByAxis({ title: `${ablation.name}: ${yLabel} by ${x}`, xLabel: x, yLabel, points });
  }

  // ---- progress ----

  private async onCellFinished(experiment: Experiment) {
    if (!experiment.ablationId) return;
    const cells = await this.cells(experiment.ablationId);
    const done = cells.filter((cell) => FINISHED_STATES.includes(cell.status)).length;
    this.bus.emit(Topic.AblationEvent, experiment.ablationId, {
      ablationId: experiment.ablationId,
      experimentId: experiment.id,
      cell: experiment.cell as Record<string, AxisValue> | null,
      seed: experiment.seed,
      status: experiment.status,
      cellsDone: done,
      cells: cells.length,
      at: new Date().toISOString(),
    });
    await this.finishIfDone(experiment.ablationId);
  }

  private async finishIfDone(id: string) {
    const ablation = await this.prisma.ablation.findUnique({ where: { id } });
    if (!ablation || FINISHED_STATES.includes(ablation.status)) return;
    const cells = await this.cells(id);
    if (!cells.every((cell) => FINISHED_STATES.includes(cell.status))) return;
    const status = cells.every((cell) => cell.status === JobStatus.succeeded) ? JobStatus.succeeded : JobStatus.failed;
    await this.prisma.ablation.update({ where: { id }, data: { status, finishedAt: new Date() } });
    this.bus.emit(Topic.AblationEvent, id, { ablationId: id, experimentId: null, cell: null, seed: null, status, cellsDone: cells.length, cells: cells.length, at: new Date().toISOString() });
  }

  /** Cell transitions until the ablation ends, after one event with its current state. */
  async *subscribe(user: AuthUser, id: string): AsyncGenerator<AblationEventPayload> {
    const live = this.bus.subscribe(Topic.AblationEvent, id)[Symbol.asyncIterator]();
    try {
      const ablation = await this.ablation(user, id);
      const cells = await this.cells(id);
      yield { ablationId: id, experimentId: null, cell: null, seed: null, status: ablation.status, cellsDone: cells.filter((c) => FINISHED_STATES.includes(c.status)).length, cells: cells.length, at: new Date().toISOString() };
      if (FINISHED_STATES.includes(ablation.status)) return;
      while (true) {
        const next = await live.next();
        if (next.done) return;
        const event = next.value as AblationEventPayload;
        yield event;
        if (event.experimentId === null && FINISHED_STATES.includes(event.status)) return;
      }
    } finally {
      await live.return?.();
    }
  }

  // ---- read ----

  async ablation(user: AuthUser, id: string) {
    const ablation = await this.prisma.ablation.findFirst({ where: { id, ...(user.role === 'ADMIN' ? {} : { ownerId: user.id }) } });
    if (!ablation) throw notFound('Ablation', id);
    return ablation;
  }

  ablations(user: AuthUser, filter: { nameContains: string | null }, page: PageArgs, order: { field: string; direction: SortDirection }) {
    const where: Prisma.AblationWhereInput = { ...(user.role === 'ADMIN' ? {} : { ownerId: user.id }), ...(filter.nameContains ? { name: { contains: filter.nameContains, mode: 'insensitive' } } : {}) };
    return paginate((args) => this.prisma.ablation.findMany(args as never), (args) => this.prisma.ablation.count(args as never), where, page, order);
  }

  private cells(ablationId: string) {
    return this.prisma.experiment.findMany({ where: { ablationId }, orderBy: { createdAt: 'asc' } });
  }

  /**
   * The results table for one metric (a micro-averaged metric row name of the evaluations, e.g.
   * token_f1, entity_f1, span_merged_f1): per row of axis values, gold and synthetic scores over
   * seeds, their gap, and the privacy overlap.
   */
  async table(user: AuthUser, id: string, metric: string): Promise<AblationRow[]> {
    await this.ablation(user, id);
    const cells = await this.cells(id);
    const results = await Promise.all(cells.map((cell) => this.experiments.finishedJobs(cell.id)));
    const finished = results.flatMap((r) => [r.evaluate_gold?.jobId, r.evaluate_synthetic?.jobId, r.privacy_report?.jobId].filter((j): j is string => Boolean(j)));
    // Scores of jobs on data the caller may not read (an admin's view of another's ablation) stay out.
    const readable = await this.experiments.readableJobIds(user, finished);
    const jobIds = finished.filter((id) => readable.has(id));
    const rows = await this.metricRows.micro(jobIds, [metric, 'ngram5_overlap']);
    const value = (jobId: string | undefined, name: string) => rows.find((row) => row.jobId === jobId && row.name === name);
    if (jobIds.length && !rows.some((row) => row.name === metric)) {
      throw badInput('metric', `no evaluation of this ablation has a row "${metric}"; try token_f1, entity_f1, span_strict_f1 or span_merged_f1.`);
    }
    const byRow = new Map<string, AblationRow & { per: { gold?: MetricPoint; synthetic?: MetricPoint; overlap?: MetricPoint }[] }>();
    cells.forEach((cell, i) => {
      const values = cell.cell as Record<string, AxisValue>;
      const key = rowKey(values);
      const row = byRow.get(key) ?? { values, seeds: [], cellsDone: 0, cells: 0, gold: null, synthetic: null, gap: null, ngramOverlap: null, per: [] };
      byRow.set(key, row);
      row.cells++;
      row.seeds.push(cell.seed!);
      if (cell.status === JobStatus.succeeded) row.cellsDone++;
      const r = results[i]!;
      row.per.push({ gold: value(r.evaluate_gold?.jobId, metric), synthetic: value(r.evaluate_synthetic?.jobId, metric), overlap: value(r.privacy_report?.jobId, 'ngram5_overlap') });
    });
    return [...byRow.values()].map(({ per, ...row }) => ({
      ...row,
      gold: aggregate(per.map((p) => p.gold)),
      synthetic: aggregate(per.map((p) => p.synthetic)),
      gap: aggregate(per.map((p) => (p.gold && p.synthetic ? { value: p.gold.value - p.synthetic.value, ciLow: null, ciHigh: null } : undefined))),
      ngramOverlap: aggregate(per.map((p) => p.overlap)),
    }));
  }
}

type MetricPoint = { value: number; ciLow: number | null; ciHigh: number | null };

/** The table as CSV: one line per row, axis fields first, then mean, sd and interval of each number. */
export function tableCsv(axes: string[], metric: string, rows: AblationRow[]): string {
  const parts = ['gold', 'synthetic', 'gap', 'ngramOverlap'] as const;
  const header = [...axes, 'seeds', 'cells', 'cells_done', ...parts.flatMap((p) => [`${p}_mean`, `${p}_sd`, `${p}_ci_low`, `${p}_ci_high`])];
  const cell = (value: unknown) => {
    const text = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
    return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const lines = rows.map((row) => [
    ...axes.map((field) => (row.values as Record<string, unknown>)[field]),
    row.seeds.join(' '),
    row.cells,
    row.cellsDone,
    ...parts.flatMap((p) => [row[p]?.mean, row[p]?.sd, row[p]?.ciLow, row[p]?.ciHigh]),
  ].map(cell).join(','));
  return `# metric: ${metric}\n${header.join(',')}\n${lines.join('\n')}\n`;
}

const cellKey = (values: Record<string, AxisValue>, seed: number) => `${rowKey(values)}#${seed}`;

function aggregate(points: (MetricPoint | undefined)[]): Aggregate | null {
  const present = points.filter((p): p is MetricPoint => p !== undefined);
  if (present.length === 0) return null;
  const values = present.map((p) => p.value);
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : null;
  const bounds = (key: 'ciLow' | 'ciHigh') => (present.every((p) => p[key] !== null) ? present.reduce((a, p) => a + p[key]!, 0) / n : null);
  return { n, mean, sd, ciLow: bounds('ciLow'), ciHigh: bounds('ciHigh'), values };
}
