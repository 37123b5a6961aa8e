/**
 * Experiments: the whole method as one run of content-addressed steps (src/experiments/plan.ts).
 * Creating one validates its spec and plans its steps; `advance` then queues every step whose
 * inputs are ready, reusing an identical finished job the owner may read (StepRunner), and is
 * called again whenever a job ends and when a process that runs jobs starts, so an experiment
 * survives crashes: finished steps are never rerun, and unfinished jobs resume on their own.
 * Also the reading side of ablations and synthetic datasets.
 */
import type { Experiment, Prisma, PrismaClient } from '../generated/prisma/client.js';
import { AppError, badInput, notFound } from '../common/errors.js';
import { log } from '../common/log.js';
import type { AuthUser } from '../auth/auth.types.js';
import { canWrite } from '../auth/auth.types.js';
import type { CorpusService } from '../corpora/corpus.service.js';
import type { ModelService } from '../models/model.service.js';
import type { JobService } from '../jobs/job.service.js';
import { FINISHED_STATES, JobName, JobStatus } from '../jobs/types.js';
import { plannedOutput, type StepRunner } from '../steps/step.runner.js';
import type { MetricRepository } from '../metrics/metric.repository.js';
import { modelKind, modelTypesOf } from '../engine/models/registry.js';
import { Topic, type EventBus, type ExperimentEventPayload, type GeneratedTokenPayload, type JobEventPayload } from '../subscriptions/pubsub.js';
import { paginate, type PageArgs, type SortDirection } from '../common/pagination.js';
import { ExperimentRepository, type StepWithJob } from './experiment.repository.js';
import { planSteps, type StepName, type StepOutputs } from './plan.js';
import { checkSpecNumbers, seedOf, type ExperimentSpec } from './spec.js';

type Order = { field: string; direction: SortDirection };

export interface PlannedStep {
  name: string;
  kind: string;
  /** RUN: would be computed; REUSE: an identical finished (or, yours, running) job would be taken. */
  action: 'RUN' | 'REUSE';
  /** Known when every input is: null for steps after one that would run. */
  inputHash: string | null;
  jobId: string | null;
}

export class ExperimentService {
  readonly repository: ExperimentRepository;
  /** advance() of one experiment runs one call at a time in this process. */
  private readonly advancing = new Map<string, Promise<void>>();
  private readonly finishedListeners: ((experiment: Experiment) => Promise<void>)[] = [];

  constructor(
    private readonly prisma: PrismaClient,
    private readonly corpora: CorpusService,
    private readonly models: Pick<ModelService, 'requireReadable' | 'checkPretraining'>,
    private readonly jobs: JobService,
    private readonly steps: StepRunner,
    private readonly metricRows: MetricRepository,
    private readonly bus: EventBus,
  ) {
    this.repository = new ExperimentRepository(prisma);
  }

  // ---- create ----

  /** Validates the spec and plans it; with dryRun nothing is stored or queued. */
  async create(user: AuthUser, name: string, requested: ExperimentSpec, dryRun: boolean): Promise<{ experiment: Experiment | null; plan: PlannedStep[] }> {
    if (!canWrite(user)) throw new AppError('FORBIDDEN', 'Viewers may not run experiments.');
    if (!name.trim()) throw badInput('name', 'must not be empty.');
    const spec = await this.validate(user, requested);
    if (dryRun) return { experiment: null, plan: await this.preview(user, name, spec) };
    const experiment = await this.start(user, name, spec, null);
    const plan = (await this.repository.steps(experiment.id)).map((step) => ({ name: step.name, kind: step.kind, action: step.reused ? ('REUSE' as const) : ('RUN' as const), inputHash: step.inputHash || null, jobId: step.jobId }));
    return { experiment: (await this.repository.findById(experiment.id))!, plan };
  }

  /** Stores a validated spec as an experiment (an ablation's cell when `cell` is given) and starts it. */
  async start(user: AuthUser, name: string, spec: ExperimentSpec, cell: { ablationId: string; values: Record<string, unknown>; seed: number } | null): Promise<Experiment> {
    const experiment = await this.repository.create({
      name,
      ownerId: user.id,
      config: spec as unknown as Prisma.InputJsonValue,
      ...(cell ? { ablationId: cell.ablationId, cell: cell.values as Prisma.InputJsonValue, seed: cell.seed } : {}),
    });
    log('info', 'experiment.created', { experimentId: experiment.id, ownerId: user.id });
    await this.advance(experiment.id);
    return experiment;
  }

  /** Opens a failed or cancelled experiment again: its unfinished steps are planned anew (finished ones stay). */
  async reopen(id: string) {
    await this.repository.deleteUnfinishedSteps(id);
    await this.repository.update(id, { status: JobStatus.queued, error: null, finishedAt: null });
    await this.advance(id);
  }

  /** Checks every id, split and number before anything runs; resolves the synthetic size to samples per prompt. */
  async validate(user: AuthUser, spec: ExperimentSpec): Promise<ExperimentSpec> {
    checkSpecNumbers(spec);
    await this.corpora.requireReadable(user, spec.corpusId);
    const counts = new Map((await this.corpora.splitsOf(spec.corpusId)).map((s) => [s.split, s.documents]));
    const known = [...counts.keys()].map((s) => `"${s}"`).join(', ') || 'none';
    for (const [role, split] of Object.entries(spec.splits)) {
      if (!counts.get(split)) throw badInput(`splits.${role}`, `corpus ${spec.corpusId} has no documents in split "${split}"; its splits are ${known}.`);
    }
    const encoder = async (field: string, id: string | null) => {
      if (!id) return;
      const model = await this.models.requireReadable(user, id);
      if (modelKind(model.architecture) !== 'encoder') throw badInput(field, `model ${id} is a ${model.architecture} decoder; a tagger fine-tunes an encoder (${modelTypesOf('encoder').join(', ')}).`);
    };
    if (spec.annotator.baseModelId !== null && spec.annotator.pretraining) {
      throw badInput('annotator.pretraining', 'give either an encoder to fine-tune (annotator.baseModelId) or pretraining settings to pre-train one from scratch, not both.');
    }
    await encoder('annotator.baseModelId', spec.annotator.baseModelId);
    await encoder('syntheticTagger.baseModelId', spec.syntheticTagger.baseModelId);
    if ((spec.generator.baseModelId === null) === (spec.generator.pretraining === null)) {
      throw badInput('generator.baseModelId', 'give either a generator to start from (baseModelId) or pretraining settings to train one from scratch.');
    }
    if (spec.generator.baseModelId) {
      const generator = await this.models.requireReadable(user, spec.generator.baseModelId);
      if (modelKind(generator.architecture) !== 'decoder') {
        throw badInput('generator.baseModelId', `model ${generator.id} is a ${generator.architecture} encoder; the generator must be a causal LM (${modelTypesOf('decoder').join(', ')}).`);
      }
    }
    for (const [prefix, pretraining] of [['annotator.pretraining.', spec.annotator.pretraining], ['generator.pretraining.', spec.generator.pretraining]] as const) {
      if (!pretraining) continue;
      await this.models.checkPretraining(user, { ...pretraining, corpusId: null, split: null }, prefix);
      // Pre-training reads every split of a corpus it is given: the experiment's own would show its models the test notes.
      if (pretraining.corpusIds.includes(spec.corpusId)) {
        throw badInput(`${prefix}corpusIds`, `corpus ${spec.corpusId} is the experiment's own corpus; pre-training on all of it would train on its test split "${spec.splits.test}". Pre-train on other text (the annotator and the adaptation already train on split "${spec.splits.train}").`);
      }
    }
    const subsets: [string, number, number][] = [['annotator.fraction', spec.annotator.fraction, seedOf(spec, spec.annotator.subsetSeed)]];
    if (spec.generator.adaptation) subsets.push(['generator.adaptation.fraction', spec.generator.adaptation.fraction, seedOf(spec, spec.generator.adaptation.subsetSeed)]);
    for (const [field, fraction, seed] of subsets) {
      if ((await this.corpora.trainingDocuments(spec.corpusId, spec.splits.train, fraction, seed)).length === 0) {
        throw badInput(field, `a fraction of ${fraction} of split "${spec.splits.train}" holds no document; use a larger fraction.`);
      }
    }
    const g = spec.generation;
    if (g.sizeMultiple === null) return spec;
    const prompts = Math.min(counts.get(spec.splits.prompt)!, g.maxPrompts ?? Infinity);
    const target = g.sizeMultiple * counts.get(spec.splits.train)!;
    return { ...spec, generation: { ...g, samplesPerPrompt: Math.max(1, Math.ceil(target / prompts)) } };
  }

  /**
   * The plan of a spec without storing it: which steps an identical job would answer. A step after
   * one that would run is hashed over that step's planned output, so equal plans have equal `key`s
   * (an ablation counts shared steps once); its real inputHash is known only once its inputs exist.
   */
  async preview(user: AuthUser, name: string, spec: ExperimentSpec): Promise<(PlannedStep & { key: string })[]> {
    const outputs: StepOutputs = {};
    const plan: (PlannedStep & { key: string })[] = [];
    const planned = new Set<StepName>();
    for (const step of planSteps(spec)) {
      const payload = step.payload(spec, outputs, { experimentName: name, ownerId: user.id });
      const key = await this.steps.hash(step.kind, payload);
      const known = !step.after.some((dep) => planned.has(dep));
      const job = known ? await this.jobs.reusable(user, key) : null;
      if (job?.status === JobStatus.succeeded) outputs[step.name] = job.result as Record<string, unknown>;
      else {
        outputs[step.name] = plannedOutput(key);
        planned.add(step.name);
      }
      plan.push({ name: step.name, kind: step.kind, action: job ? 'REUSE' : 'RUN', inputHash: known ? key : null, jobId: job?.id ?? null, key });
    }
    return plan;
  }

  // ---- run ----

  /** Brings the experiment forward: records finished steps, queues the ready ones, ends it when all are done. */
  advance(experimentId: string): Promise<void> {
    const previous = this.advancing.get(experimentId) ?? Promise.resolve();
    const next = previous.then(() => this.advanceNow(experimentId)).catch((error) => {
      log('error', 'experiment.advance_failed', { experimentId, errorClass: (error as Error)?.constructor?.name });
    });
    this.advancing.set(experimentId, next);
    void next.finally(() => {
      if (this.advancing.get(experimentId) === next) this.advancing.delete(experimentId);
    });
    return next;
  }

  /** Called for every job that ends in this process. */
  async onJobFinished(jobId: string) {
    try {
      const users = await this.repository.experimentsUsingJobs([jobId]);
      for (const experimentId of new Set(users.map((row) => row.experimentId))) await this.advance(experimentId);
    } catch (error) {
      // Resumed at the next start (resumeAll) if this process cannot advance them now.
      log('error', 'experiment.on_job_finished_failed', { jobId, errorClass: (error as Error)?.constructor?.name });
    }
  }

  /** Resumes every unfinished experiment (at start-up of a process that runs jobs). */
  async resumeAll() {
    for (const id of await this.repository.unfinishedIds()) await this.advance(id);
  }

  private async advanceNow(experimentId: string): Promise<void> {
    let experiment = await this.repository.findById(experimentId);
    if (!experiment || FINISHED_STATES.includes(experiment.status)) return;
    const spec = experiment.config as unknown as ExperimentSpec;
    const owner = await this.repository.owner(experiment.ownerId);
    const declared = planSteps(spec);
    // A paused ablation's cells record what finishes but start nothing new.
    const paused = experiment.ablationId !== null && (await this.repository.ablationPaused(experiment.ablationId));
    for (let changed = true; changed; ) {
      changed = false;
      const rows = new Map((await this.repository.steps(experimentId)).map((row) => [row.name as StepName, row]));
      // 1. steps whose job ended
      for (const row of rows.values()) {
        if (!row.job || !FINISHED_STATES.includes(row.job.status) || row.status === row.job.status) continue;
        await this.repository.updateStep(row.id, { status: row.job.status as never, finishedAt: new Date() });
        if (row.job.status === JobStatus.succeeded && !row.reused) await this.metricRows.fileJobMetrics(row.jobId!, { experimentId, stepId: row.id });
        row.status = row.job.status as never;
        this.publishStep(experimentId, row);
        changed = true;
      }
      const failed = [...rows.values()].find((row) => row.status === JobStatus.failed || row.status === JobStatus.cancelled);
      if (failed) {
        const error = `Step ${failed.name} ${failed.status === JobStatus.failed ? `failed: ${failed.job?.error ?? 'no message'}` : 'was cancelled'}`;
        experiment = await this.finish(experimentId, JobStatus.failed, error);
        return;
      }
      if (declared.every((step) => rows.get(step.name)?.status === JobStatus.succeeded)) {
        await this.finish(experimentId, JobStatus.succeeded, null);
        return;
      }
      if (paused) return;
      // 2. steps whose inputs are ready
      const outputs: StepOutputs = {};
      for (const row of rows.values()) if (row.status === JobStatus.succeeded) outputs[row.name as StepName] = row.job?.result as Record<string, unknown>;
      for (const step of declared) {
        const row = rows.get(step.name);
        if (row?.jobId || !step.after.every((dep) => outputs[dep])) continue;
        const claimed = row ?? (await this.repository.claimStep({ experimentId, name: step.name, kind: step.kind, params: {} }));
        if (!claimed) continue;
        const payload = step.payload(spec, outputs, { experimentName: experiment.name, ownerId: owner.id });
        const { job, reused, inputHash } = await this.steps.reuseOrSubmit(owner, step.kind, payload, spec.device);
        // A job this step queued before a crash is found again by its hash: it is this step's own, not reused.
        const own = !reused || (job.ownerId === owner.id && job.createdAt >= claimed.createdAt);
        const updated = await this.repository.updateStep(claimed.id, { jobId: job.id, inputHash, reused: !own, params: payload as unknown as Prisma.InputJsonValue, status: job.status as never });
        this.publishStep(experimentId, updated);
        changed = true;
      }
      if (experiment.status === JobStatus.queued) {
        experiment = await this.repository.update(experimentId, { status: JobStatus.running });
        this.publishExperiment(experiment);
      }
    }
  }

  private async finish(experimentId: string, status: string, error: string | null) {
    const experiment = await this.repository.update(experimentId, { status: status as never, error, finishedAt: new Date() });
    log('info', 'experiment.finished', { experimentId, status });
    this.publishExperiment(experiment);
    for (const listener of this.finishedListeners) await listener(experiment);
    return experiment;
  }

  /** Called after an experiment ends (e.g. to finish its ablation). */
  onFinished(listener: (experiment: Experiment) => Promise<void>) {
    this.finishedListeners.push(listener);
  }

  /** Stops the experiment; its running jobs are cancelled unless another experiment's step waits on them. */
  async cancel(user: AuthUser, id: string): Promise<Experiment> {
    const experiment = await this.experiment(user, id);
    if (FINISHED_STATES.includes(experiment.status)) throw new AppError('INVALID_STATE', `Experiment ${id} already ended (${experiment.status}).`);
    const finished = await this.finish(id, JobStatus.cancelled, 'Cancelled by request.');
    await this.cancelOwnJobs(user, id);
    return finished;
  }

  private async cancelOwnJobs(user: AuthUser, id: string) {
    const rows = await this.repository.steps(id);
    const running = rows.filter((row) => row.jobId && !row.reused && row.job && !FINISHED_STATES.includes(row.job.status));
    const shared = new Set((await this.repository.experimentsUsingJobs(running.map((row) => row.jobId!), id)).map((row) => row.jobId));
    for (const row of running) {
      if (shared.has(row.jobId)) continue;
      await this.jobs.cancel(user, row.jobId!).catch(() => {});
      await this.repository.updateStep(row.id, { status: JobStatus.cancelled, finishedAt: new Date() });
    }
  }

  /** Deletes one experiment (see deleteMany). */
  async delete(user: AuthUser, id: string): Promise<string> {
    await this.experiment(user, id);
    await this.deleteMany(user, [id]);
    return id;
  }

  /**
   * Deletes the experiments and their steps. The corpora that jobs started by their steps made
   * (synthetic notes) go too, with their jobs and artifacts, unless an experiment that remains uses
   * the job; a job they only reused (another's, or one started by hand) keeps what it made. Models
   * stay (there is no model deletion yet). An ablation deletes its cells together, so what cells
   * shared goes with the last of them.
   */
  async deleteMany(user: AuthUser, ids: string[]) {
    const own = new Set<string>();
    for (const id of ids) {
      const experiment = await this.repository.findById(id);
      if (experiment && !FINISHED_STATES.includes(experiment.status)) {
        await this.finish(id, JobStatus.cancelled, 'Deleted.');
        await this.cancelOwnJobs(user, id);
      }
      for (const row of await this.repository.steps(id)) if (row.jobId && !row.reused) own.add(row.jobId);
    }
    for (const id of ids) await this.repository.delete(id);
    const stillUsed = new Set((await this.repository.experimentsUsingJobs([...own])).map((row) => row.jobId));
    for (const jobId of own) {
      if (stillUsed.has(jobId)) continue;
      const made = await this.corpora.repository.findCreatedBy(jobId);
      if (made) await this.corpora.delete(user, made.id).catch((error) => log('warn', 'experiment.delete_corpus_failed', { corpusId: made.id, errorClass: (error as Error)?.constructor?.name }));
    }
    log('info', 'experiment.deleted', { experiments: ids.length });
  }

  // ---- events ----

  private publishExperiment(experiment: Experiment) {
    this.bus.emit(Topic.ExperimentEvent, experiment.id, { ...blankEvent(experiment.id), kind: 'EXPERIMENT', status: experiment.status, message: experiment.error });
  }

  private publishStep(experimentId: string, row: Pick<StepWithJob, 'name' | 'kind' | 'status' | 'jobId' | 'reused'>) {
    this.bus.emit(Topic.ExperimentEvent, experimentId, { ...blankEvent(experimentId), kind: 'STEP', status: row.status, step: row.name, stepKind: row.kind, jobId: row.jobId, reused: row.reused });
  }

  /**
   * The experiment's state (one EXPERIMENT event, one STEP event per step), then its live events:
   * step transitions, and the progress, log lines and metrics of its running steps' jobs (and, with
   * `tokens`, the generated text of its generation step), until the experiment ends.
   */
  async *subscribe(user: AuthUser, id: string, tokens: boolean): AsyncGenerator<ExperimentEventPayload> {
    const queue = new EventQueue<ExperimentEventPayload>();
    const sources: AsyncIterator<unknown>[] = [];
    const pump = (iterable: AsyncIterable<unknown>, map: (payload: unknown) => ExperimentEventPayload | null) => {
      const iterator = iterable[Symbol.asyncIterator]();
      sources.push(iterator);
      void (async () => {
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
          const event = map(next.value);
          if (event) queue.push(event);
        }
      })();
    };
    pump(this.bus.subscribe(Topic.ExperimentEvent, id), (payload) => payload as ExperimentEventPayload);
    const watched = new Set<string>();
    try {
      const experiment = await this.experiment(user, id);
      // Job messages and metrics describe the data: only for those who may read each job's contents.
      const watch = async (step: { name: string; kind: string; jobId: string | null; status: string }) => {
        if (!step.jobId || watched.has(step.jobId) || FINISHED_STATES.includes(step.status)) return;
        watched.add(step.jobId);
        const job = await this.jobs.get(user, step.jobId).catch(() => null);
        if (!job) return;
        const base = { ...blankEvent(id), step: step.name, stepKind: step.kind, jobId: step.jobId };
        pump(this.bus.subscribe(Topic.JobEvent, step.jobId), (payload) => {
          const e = payload as JobEventPayload;
          if (e.kind === 'STATUS') return null;
          const visible = !job.redacted;
          return { ...base, kind: e.kind, status: e.status, progress: e.progress, etaSeconds: e.etaSeconds, message: visible ? e.message : null, metricName: visible ? e.metricName : null, metricValue: visible ? e.metricValue : null, metricStep: visible ? e.metricStep : null };
        });
        if (tokens && step.kind === JobName.Generate && !job.redacted) {
          pump(this.bus.subscribe(Topic.GeneratedToken, step.jobId), (payload) => {
            const t = payload as GeneratedTokenPayload;
            return { ...base, kind: 'TOKEN', status: JobStatus.running, sequenceIndex: t.sequenceIndex, text: t.text, done: t.done };
          });
        }
      };
      yield { ...blankEvent(id), kind: 'EXPERIMENT', status: experiment.status, message: experiment.error };
      for (const row of await this.repository.steps(id)) {
        yield { ...blankEvent(id), kind: 'STEP', status: row.status, step: row.name, stepKind: row.kind, jobId: row.jobId, reused: row.reused, progress: row.job?.progress ?? null, etaSeconds: row.job?.etaSeconds ?? null };
        await watch(row);
      }
      if (FINISHED_STATES.includes(experiment.status)) return;
      while (true) {
        const event = await queue.next();
        yield event;
        if (event.kind === 'STEP') await watch({ name: event.step!, kind: event.stepKind!, jobId: event.jobId, status: event.status! });
        if (event.kind === 'EXPERIMENT' && FINISHED_STATES.includes(event.status!)) return;
      }
    } finally {
      for (const source of sources) await source.return?.();
    }
  }

  // ---- read ----

  // Experiments and ablations are their owner's (admins see all), like jobs.
  private ownedWhere(user: AuthUser) {
    return user.role === 'ADMIN' ? {} : { ownerId: user.id };
  }

  async experiment(user: AuthUser, id: string) {
    const experiment = await this.prisma.experiment.findFirst({ where: { id, ...this.ownedWhere(user) } });
    if (!experiment) throw notFound('Experiment', id);
    return experiment;
  }

  experiments(user: AuthUser, filter: { ablationId: string | null; status: string | null }, page: PageArgs, order: Order) {
    const where: Prisma.ExperimentWhereInput = {
      ...this.ownedWhere(user),
      ...(filter.ablationId ? { ablationId: filter.ablationId } : {}),
      ...(filter.status ? { status: filter.status as never } : {}),
    };
    return paginate((args) => this.prisma.experiment.findMany(args as never), (args) => this.prisma.experiment.count(args as never), where, page, order);
  }

  stepsOf(experimentId: string) {
    return this.repository.steps(experimentId);
  }

  /** The job of each finished step by name, for the result table. */
  /** Those of these jobs whose contents the user may read (an admin may see an experiment on data they may not read). */
  readableJobIds(user: AuthUser, jobIds: string[]) {
    return this.jobs.readableIds(user, jobIds);
  }

  async finishedJobs(experimentId: string): Promise<Partial<Record<StepName, { jobId: string; result: Record<string, unknown> }>>> {
    const out: Partial<Record<StepName, { jobId: string; result: Record<string, unknown> }>> = {};
    for (const row of await this.repository.steps(experimentId)) {
      if (row.status === JobStatus.succeeded && row.jobId) out[row.name as StepName] = { jobId: row.jobId, result: row.job?.result as Record<string, unknown> };
    }
    return out;
  }

  /** A synthetic dataset is visible to whoever may read its corpus. */
  async syntheticDataset(user: AuthUser, id: string) {
    const dataset = await this.prisma.syntheticDataset.findFirst({ where: { id, corpus: this.corpora.visibleWhere(user) } });
    if (!dataset) throw notFound('Synthetic dataset', id);
    return dataset;
  }

  syntheticDatasets(user: AuthUser, filter: { generatorModelId: string | null; annotatorModelId: string | null }, page: PageArgs, order: Order) {
    const where: Prisma.SyntheticDatasetWhereInput = {
      corpus: this.corpora.visibleWhere(user),
      ...(filter.generatorModelId ? { generatorModelId: filter.generatorModelId } : {}),
      ...(filter.annotatorModelId ? { annotatorModelId: filter.annotatorModelId } : {}),
    };
    return paginate((args) => this.prisma.syntheticDataset.findMany(args as never), (args) => this.prisma.syntheticDataset.count(args as never), where, page, order);
  }
}

function blankEvent(experimentId: string): ExperimentEventPayload {
  return {
    experimentId,
    kind: 'EXPERIMENT',
    status: null,
    step: null,
    stepKind: null,
    jobId: null,
    reused: null,
    progress: null,
    etaSeconds: null,
    message: null,
    metricName: null,
    metricValue: null,
    metricStep: null,
    sequenceIndex: null,
    text: null,
    done: null,
    at: new Date().toISOString(),
  };
}

/** Events from several sources, read in arrival order. */
class EventQueue<T> {
  private readonly items: T[] = [];
  private wake: ((item: T) => void) | null = null;

  push(item: T) {
    if (this.wake) {
      const wake = this.wake;
      this.wake = null;
      wake(item);
    } else this.items.push(item);
  }

  next(): Promise<T> {
    if (this.items.length) return Promise.resolve(this.items.shift()!);
    return new Promise((resolve) => (this.wake = resolve));
  }
}
