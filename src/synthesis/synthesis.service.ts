/**
 * Synthetic notes: prompt a generator with the first words of real documents, sample several
 * continuations per prompt, stream them token by token (Topic.GeneratedToken), and keep them as a
 * SYNTHETIC corpus with a SyntheticDataset recording how they were made. Tag it with
 * annotateCorpus and train on it with trainNerModel, like any corpus.
 */
import type { PrismaClient } from '../generated/prisma/client.js';
import { AppError, badInput } from '../common/errors.js';
import type { AuthUser } from '../auth/auth.types.js';
import { canWrite } from '../auth/auth.types.js';
import type { CorpusService } from '../corpora/corpus.service.js';
import type { ModelService } from '../models/model.service.js';
import type { JobService } from '../jobs/job.service.js';
import type { StepRunner } from '../steps/step.runner.js';
import type { CpuPool } from '../jobs/cpu-pool.js';
import type { ArtifactStore } from '../storage/artifact.store.js';
import type { RngState } from '../engine/generation/index.js';
import { crashHereInTests } from '../common/fault.js';
import { checkGuardThresholds, flagNotes, type GuardReason } from './guard.js';
import { firstWords } from './prompts.js';
import { distinctN } from '../scoring/index.js';
import { engineLog, untilDoneOrCancelled, type JobContext } from '../jobs/job.runner.js';
import { FINISHED_STATES, JobName, type GeneratePayload, type PrivacyGuardPayload } from '../jobs/types.js';
import { modelKind, modelTypesOf } from '../engine/models/registry.js';
import { runEngineTask } from '../engine/tasks/index.js';
import { Topic, type EventBus, type GeneratedTokenPayload, type JobEventPayload } from '../subscriptions/pubsub.js';

/** Rows sampled together through the KV cache; also the unit a killed generation resumes after. */
const GENERATION_BATCH = 16;

/** A generation job's checkpoint: what it sampled so far (one artifact per batch) and the sampler's state. */
interface GenerationCheckpoint {
  done: number;
  rngState: RngState;
  newTokens: number;
  batches: string[];
}

export class SynthesisService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly jobs: JobService,
    private readonly steps: StepRunner,
    private readonly corpora: CorpusService,
    private readonly models: ModelService,
    private readonly bus: EventBus,
    private readonly cpu: CpuPool,
    private readonly artifacts: ArtifactStore,
    private readonly engineThreads: number,
  ) {}

  async startGeneration(user: AuthUser, request: GeneratePayload) {
    if (!canWrite(user)) throw new AppError('FORBIDDEN', 'Viewers may not generate corpora.');
    const model = await this.models.requireReadable(user, request.generatorModelId);
    if (modelKind(model.architecture) !== 'decoder') {
      throw badInput('generatorModelId', `model ${model.id} is a ${model.architecture} encoder; generation needs a causal LM (${modelTypesOf('decoder').join(', ')}).`);
    }
    await this.corpora.requireReadable(user, request.promptCorpusId);
    const positive = { promptWords: request.promptWords, samplesPerPrompt: request.samplesPerPrompt, maxNewTokens: request.maxNewTokens };
    for (const [field, value] of Object.entries(positive)) if (!Number.isInteger(value) || value < 1) throw badInput(field, 'must be a positive integer.');
    if (!(request.topP > 0 && request.topP <= 1)) throw badInput('topP', 'must be in (0, 1].');
    if (!(request.temperature > 0)) throw badInput('temperature', 'must be above 0.');
    return this.steps.submit(user, JobName.Generate, request, request.device);
  }

  /**
   * Samples the notes in batches. Each finished batch goes to the artifact store and the job's
   * checkpoint (with the sampler's state), so a run killed midway resumes after its last saved batch
   * on any worker and ends with exactly the notes of an uninterrupted run.
   */
  async runGeneration(ctx: JobContext<JobName.Generate>) {
    const request = ctx.payload;
    const source = await this.prisma.corpus.findUniqueOrThrow({ where: { id: request.promptCorpusId } });
    const documents = await this.corpora.repository.loadDocuments(source.id, { splits: request.promptSplit !== null ? [request.promptSplit] : null });
    const prompts = documents
      .map((doc) => firstWords(doc.text, request.promptWords))
      .filter((prompt) => prompt.length > 0)
      .slice(0, request.maxPrompts ?? undefined);
    if (prompts.length === 0) throw badInput('promptSplit', `corpus ${source.id} has no documents to take prompts from${request.promptSplit !== null ? ` in split "${request.promptSplit}"` : ''}.`);
    const model = await this.prisma.model.findUniqueOrThrow({ where: { id: request.generatorModelId } });
    const dataset = (corpusId: string) => ({
      name: request.name,
      corpusId,
      generatorModelId: model.id,
      sourceCorpusId: source.id,
      prompts,
      sampling: { samplesPerPrompt: request.samplesPerPrompt, maxNewTokens: request.maxNewTokens, temperature: request.temperature, topP: request.topP, topK: request.topK, seed: request.seed, promptWords: request.promptWords, promptSplit: request.promptSplit },
    });
    // A crash after the notes were saved: they are complete (a half-saved corpus is deleted); finish the record.
    const saved = await this.corpora.repository.findSavedBy(ctx.jobId);
    if (saved) {
      const existing = await this.prisma.syntheticDataset.findUnique({ where: { corpusId: saved.id } });
      const record = existing ?? (await this.prisma.syntheticDataset.create({ data: dataset(saved.id) }));
      await ctx.log('Found the notes this job saved before the server stopped; not sampling again.');
      return { syntheticDatasetId: record.id, corpusId: saved.id, documents: await this.corpora.repository.countDocuments(saved.id), recovered: true };
    }

    const total = prompts.length * request.samplesPerPrompt;
    const checkpoint = ctx.checkpoint as GenerationCheckpoint | null;
    const batches = [...(checkpoint?.batches ?? [])];
    const earlier = batches.flatMap((sha) => JSON.parse(Buffer.from(this.artifacts.read(sha)).toString('utf8')) as string[]);
    await ctx.log(
      checkpoint
        ? `Resuming after ${checkpoint.done} of ${total} notes.`
        : `Sampling ${request.samplesPerPrompt} continuation(s) of ${prompts.length} prompts (${request.promptWords} words each), top-p ${request.topP}, temperature ${request.temperature}.`,
    );
    const contextWindow = await this.models.trainedContext(model);
    if (contextWindow) await ctx.log(`Each note attends at most its latest ${contextWindow} tokens (the generator's training windows), going on from its latest half past that.`);
    const started = performance.now();
    let saving: Promise<void> = Promise.resolve();
    const task = runEngineTask(
      'generateTexts',
      {
        modelDir: await this.models.folderOf(model),
        prompts,
        samplesPerPrompt: request.samplesPerPrompt,
        batchSize: GENERATION_BATCH,
        maxNewTokens: request.maxNewTokens,
        temperature: request.temperature,
        topP: request.topP,
        topK: request.topK,
        contextWindow,
        seed: request.seed,
        device: request.device,
        intraOpThreads: this.engineThreads,
        ...(checkpoint ? { resume: { done: checkpoint.done, rngState: checkpoint.rngState, newTokens: checkpoint.newTokens } } : {}),
      },
      (p) => {
        if (p.kind === 'text') this.bus.emit(Topic.GeneratedToken, ctx.jobId, { jobId: ctx.jobId, sequenceIndex: p.index, text: storable(p.text), done: p.final });
        else if (p.kind === 'batch') {
          saving = saving.then(async () => {
            const artifact = await this.artifacts.put(Buffer.from(JSON.stringify(p.texts.map(storable))), 'generation-batch');
            batches.push(artifact.sha256);
            await ctx.saveCheckpoint({ ...p.resume, batches: [...batches] } satisfies GenerationCheckpoint);
            crashHereInTests(`generation-batch-${batches.length}`);
          });
        } else void ctx.progress(p.done / p.total, `${p.done}/${p.total} notes, ${p.newTokens} new tokens`);
      },
      engineLog(ctx),
    );
    const result = await untilDoneOrCancelled(ctx, task, 'Generation');
    await saving;
    const texts = [...earlier, ...result.texts.map(storable)];
    const { newTokens } = result;
    const seconds = (performance.now() - started) / 1000;
    await ctx.log(`Generated ${texts.length - earlier.length} notes in this run, ${newTokens} new tokens in all, in ${seconds.toFixed(1)} s.`);
    const width = String(total).length;
    const corpus = await this.corpora.repository.createWithDocuments(
      // Generated text can reproduce PHI its prompts or its generator saw: private if either is.
      { name: request.name, description: `Generated by model ${model.id} from ${source.id}`, kind: 'SYNTHETIC', containsPhi: source.containsPhi || model.containsPhi, ownerId: ctx.ownerId, sourceFormat: null, createdByJobId: ctx.jobId },
      texts.map((text, i) => ({ id: `synthetic-${String(i + 1).padStart(width, '0')}`, split: null, text, spans: [] })),
      source.labels,
    );
    const record = await this.prisma.syntheticDataset.create({ data: dataset(corpus.id) });
    // The batches were partial outputs; the corpus holds them now.
    await this.artifacts.release(batches);
    const resumedFrom = checkpoint?.done ?? 0;
    // Diversity of what was sampled (the prompts left out): word salad is high, a copying generator low.
    const continuations = texts.map((text, i) => text.slice(prompts[Math.floor(i / request.samplesPerPrompt)]!.length));
    const distinct = { 1: distinctN(continuations, 1), 2: distinctN(continuations, 2), 3: distinctN(continuations, 3) };
    for (const [n, value] of Object.entries(distinct)) await ctx.metric(`distinct_${n}`, value);
    return { syntheticDatasetId: record.id, corpusId: corpus.id, documents: texts.length, newTokens, seconds, tokensPerSecond: (newTokens - (checkpoint?.newTokens ?? 0)) / seconds, resumedFrom, distinct };
  }

  async startGuard(user: AuthUser, request: PrivacyGuardPayload) {
    if (!canWrite(user)) throw new AppError('FORBIDDEN', 'Viewers may not run the privacy guard.');
    if ((request.action as string) === 'OFF') throw badInput('action', 'must be DROP or FLAG for a guard run on its own.');
    await this.corpora.requireReadable(user, request.syntheticCorpusId);
    await this.corpora.requireReadable(user, request.realCorpusId);
    checkGuardThresholds(request);
    if (!(request.realFraction > 0 && request.realFraction <= 1)) throw badInput('realFraction', `must be in (0, 1]; got ${request.realFraction}.`);
    return this.steps.submit(user, JobName.PrivacyGuard, request);
  }

  /**
   * The privacy guard: compares each synthetic note with the generator's training text (n-gram
   * overlap, longest copied passage, verbatim real PHI strings) and, with DROP, keeps the notes under
   * every threshold in a new SYNTHETIC corpus. The result names each removed or flagged note with its
   * numbers and reasons, never its text.
   */
  async runGuard(ctx: JobContext<JobName.PrivacyGuard>) {
    const p = ctx.payload;
    const leftover = await this.corpora.repository.findCreatedBy(ctx.jobId);
    if (leftover) await this.corpora.repository.delete(leftover.id);
    const source = await this.prisma.corpus.findUniqueOrThrow({ where: { id: p.syntheticCorpusId } });
    const synthetic = await this.corpora.repository.loadDocuments(p.syntheticCorpusId);
    const real = await this.corpora.trainingDocuments(p.realCorpusId, p.realSplit, p.realFraction, p.realSubsetSeed);
    if (real.length === 0) throw badInput('realSplit', `corpus ${p.realCorpusId} has no documents in split "${p.realSplit}".`);
    await ctx.progress(0.1, `Comparing ${synthetic.length} synthetic notes with ${real.length} training documents (${p.n}-grams).`);
    const report = await this.cpu.run('privacyReport', {
      synthetic: synthetic.map((d) => ({ id: d.id, text: d.text })),
      real: real.map((d) => ({ id: d.id, text: d.text, spans: d.spans })),
      options: { n: p.n, maxPhiExamples: 0, phiMinLength: p.phiMinLength },
    });
    ctx.throwIfCancelled();
    const flagged = flagNotes(report.perDocument, p).map(({ index, ...note }) => ({ id: synthetic[index]!.externalId, ...note }));
    const count = (reason: GuardReason) => flagged.filter((f) => f.reasons.includes(reason)).length;
    const summary = {
      action: p.action,
      checked: synthetic.length,
      flagged: flagged.length,
      reasons: { ngramOverlap: count('NGRAM_OVERLAP'), copiedPassage: count('COPIED_PASSAGE'), phiStrings: count('PHI_STRINGS') },
      notes: flagged,
    };
    await ctx.log(`${flagged.length} of ${synthetic.length} notes over a threshold (overlap ${summary.reasons.ngramOverlap}, copied passage ${summary.reasons.copiedPassage}, PHI strings ${summary.reasons.phiStrings}).`);
    if (p.action === 'FLAG') return { ...summary, corpusId: source.id, kept: synthetic.length, removed: 0 };

    await ctx.progress(0.8, 'Saving the notes that passed.');
    const removed = new Set(flagged.map((f) => f.id));
    const kept = synthetic.filter((d) => !removed.has(d.externalId));
    const corpus = await this.corpora.repository.createWithDocuments(
      { name: p.name, description: `Notes of corpus ${source.id} that passed the privacy guard`, kind: 'SYNTHETIC', containsPhi: source.containsPhi, ownerId: ctx.ownerId, sourceFormat: null, createdByJobId: ctx.jobId },
      kept.map((d) => ({ id: d.externalId, split: null, text: d.text, spans: [] })),
      source.labels,
    );
    const dataset = await this.prisma.syntheticDataset.findUnique({ where: { corpusId: source.id } });
    if (dataset) {
      await this.prisma.syntheticDataset.create({
        data: { name: p.name, corpusId: corpus.id, generatorModelId: dataset.generatorModelId, sourceCorpusId: dataset.sourceCorpusId, prompts: dataset.prompts ?? [], sampling: dataset.sampling ?? {} },
      });
    }
    return { ...summary, corpusId: corpus.id, sourceCorpusId: source.id, kept: kept.length, removed: removed.size };
  }

  /** Generated text as it is sampled, until the job ends; for the job's owner (and admins who may read its corpus and model). */
  async *subscribeTokens(user: AuthUser, jobId: string): AsyncGenerator<GeneratedTokenPayload> {
    // Subscribe before checking the job, so nothing published in between is lost.
    const tokens = this.bus.subscribe(Topic.GeneratedToken, jobId)[Symbol.asyncIterator]();
    const events = this.bus.subscribe(Topic.JobEvent, jobId)[Symbol.asyncIterator]();
    try {
      const job = await this.jobs.getReadable(user, jobId);
      if (job.type !== JobName.Generate) throw badInput('jobId', `job ${jobId} is a ${job.type} job; tokens stream from GENERATE jobs.`);
      if (FINISHED_STATES.includes(job.status)) return;
      const finished = (async () => {
        while (true) {
          const next = await events.next();
          if (next.done) return;
          const event = next.value as JobEventPayload;
          if (event.kind === 'STATUS' && FINISHED_STATES.includes(event.status)) return;
        }
      })();
      while (true) {
        const next = await Promise.race([tokens.next(), finished.then(() => null)]);
        if (next === null || next.done) return;
        yield next.value as GeneratedTokenPayload;
      }
    } finally {
      await tokens.return?.();
      await events.return?.();
    }
  }
}

/** PostgreSQL text cannot hold U+0000, which a byte-level model can sample: it becomes U+FFFD, in the stream and in storage alike. */
const storable = (text: string) => text.replaceAll('\u0000', '\uFFFD');
