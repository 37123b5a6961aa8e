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
import { untilDoneOrCancelled, type JobContext } from '../jobs/job.runner.js';
import { FINISHED_STATES, JobName, type GeneratePayload } from '../jobs/types.js';
import { registryEntry } from '../engine/models/registry.js';
import { runEngineTask } from '../engine/tasks/index.js';
import { Topic, type EventBus, type GeneratedTokenPayload, type JobEventPayload } from '../subscriptions/pubsub.js';

/** Rows sampled together through the KV cache. */
const GENERATION_BATCH = 16;

export class SynthesisService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly jobs: JobService,
    private readonly corpora: CorpusService,
    private readonly models: ModelService,
    private readonly bus: EventBus,
    private readonly engineThreads: number,
  ) {}

  async startGeneration(user: AuthUser, request: GeneratePayload) {
    if (!canWrite(user)) throw new AppError('FORBIDDEN', 'Viewers may not generate corpora.');
    const model = await this.models.requireReadable(user, request.generatorModelId);
    if (registryEntry(model.architecture).kind !== 'decoder') {
      throw badInput('generatorModelId', `model ${model.id} is a ${model.architecture} encoder; generation needs a causal LM (gpt2, llama).`);
    }
    await this.corpora.requireReadable(user, request.promptCorpusId);
    const positive = { promptWords: request.promptWords, samplesPerPrompt: request.samplesPerPrompt, maxNewTokens: request.maxNewTokens };
    for (const [field, value] of Object.entries(positive)) if (!Number.isInteger(value) || value < 1) throw badInput(field, 'must be a positive integer.');
    if (!(request.topP > 0 && request.topP <= 1)) throw badInput('topP', 'must be in (0, 1].');
    if (!(request.temperature > 0)) throw badInput('temperature', 'must be above 0.');
    return this.jobs.create(user, JobName.Generate, request, request.device);
  }

  async runGeneration(ctx: JobContext<JobName.Generate>) {
    const request = ctx.payload;
    // A crash between saving the notes and recording the dataset: drop that corpus and sample again (same seed, same notes).
    const leftover = await this.corpora.repository.findCreatedBy(ctx.jobId);
    if (leftover) await this.corpora.repository.delete(leftover.id);
    const source = await this.prisma.corpus.findUniqueOrThrow({ where: { id: request.promptCorpusId } });
    const documents = await this.corpora.repository.loadDocuments(source.id, { splits: request.promptSplit !== null ? [request.promptSplit] : null });
    const prompts = documents
      .map((doc) => firstWords(doc.text, request.promptWords))
      .filter((prompt) => prompt.length > 0)
      .slice(0, request.maxPrompts ?? undefined);
    if (prompts.length === 0) throw badInput('promptSplit', `corpus ${source.id} has no documents to take prompts from${request.promptSplit !== null ? ` in split "${request.promptSplit}"` : ''}.`);
    const model = await this.prisma.model.findUniqueOrThrow({ where: { id: request.generatorModelId } });
    const total = prompts.length * request.samplesPerPrompt;
    await ctx.log(`Sampling ${request.samplesPerPrompt} continuation(s) of ${prompts.length} prompts (${request.promptWords} words each), top-p ${request.topP}, temperature ${request.temperature}.`);
    const started = performance.now();
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
        seed: request.seed,
        device: request.device,
        intraOpThreads: this.engineThreads,
      },
      (p) => {
        if (p.kind === 'text') this.bus.emit(Topic.GeneratedToken, ctx.jobId, { jobId: ctx.jobId, sequenceIndex: p.index, text: storable(p.text), done: p.final });
        else void ctx.progress(p.done / p.total, `${p.done}/${p.total} notes, ${p.newTokens} new tokens`);
      },
    );
    const result = await untilDoneOrCancelled(ctx, task, 'Generation');
    const texts = result.texts.map(storable);
    const { newTokens } = result;
    const seconds = (performance.now() - started) / 1000;
    await ctx.log(`Generated ${texts.length} notes, ${newTokens} new tokens in ${seconds.toFixed(1)} s (${(newTokens / seconds).toFixed(0)} tokens/s).`);
    const width = String(total).length;
    const corpus = await this.corpora.repository.createWithDocuments(
      // Generated text can reproduce PHI its prompts or its generator saw: private if either is.
      { name: request.name, description: `Generated by model ${model.id} from ${source.id}`, kind: 'SYNTHETIC', containsPhi: source.containsPhi || model.containsPhi, ownerId: ctx.ownerId, sourceFormat: null, createdByJobId: ctx.jobId },
      texts.map((text, i) => ({ id: `synthetic-${String(i + 1).padStart(width, '0')}`, split: null, text, spans: [] })),
      source.labels,
    );
    const dataset = await this.prisma.syntheticDataset.create({
      data: {
        name: request.name,
        corpusId: corpus.id,
        generatorModelId: model.id,
        sourceCorpusId: source.id,
        prompts,
        sampling: { samplesPerPrompt: request.samplesPerPrompt, maxNewTokens: request.maxNewTokens, temperature: request.temperature, topP: request.topP, topK: request.topK, seed: request.seed, promptWords: request.promptWords, promptSplit: request.promptSplit },
      },
    });
    return { syntheticDatasetId: dataset.id, corpusId: corpus.id, documents: texts.length, newTokens, seconds, tokensPerSecond: newTokens / seconds };
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

/** The first n whitespace-separated words, with the spacing between them as written. */
export function firstWords(text: string, n: number): string {
  const match = new RegExp(`^\\s*(\\S+(?:\\s+\\S+){0,${n - 1}})`, 'u').exec(text.replace(/^\uFEFF/, ''));
  return match ? match[1]! : '';
}
