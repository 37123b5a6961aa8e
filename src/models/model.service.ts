/**
 * Models: importing Hugging Face checkpoints, training NER taggers on a corpus (a job in a
 * worker thread, resumable from checkpoints), machine annotation of a corpus with a tagger,
 * and downloads in the Hugging Face layout. No GraphQL here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { unzipSync } from 'fflate';
import type { Model, Prisma, PrismaClient } from '../generated/prisma/client.js';
import { AppError, badInput, notFound } from '../common/errors.js';
import { checkLearningRate, checkUnsureBelow, checkWarmupRatio, checkWarmupSteps } from '../common/training-input.js';
import type { AuthUser } from '../auth/auth.types.js';
import { canWrite } from '../auth/auth.types.js';
import { modelVisibleWhere } from '../auth/visibility.js';
import type { ArtifactStore } from '../storage/artifact.store.js';
import type { StepRunner } from '../steps/step.runner.js';
import type { MetricRepository } from '../metrics/metric.repository.js';
import { engineLog, untilDoneOrCancelled, type JobContext } from '../jobs/job.runner.js';
import { JobName, type AdaptGeneratorPayload, type PretrainPayload, type TrainNerPayload } from '../jobs/types.js';
import type { CorpusService } from '../corpora/corpus.service.js';
import { zipFiles } from '../corpora/archive.js';
import { crashHereInTests } from '../common/fault.js';
import { modelKind, modelTypesOf, parseConfig } from '../engine/models/registry.js';
import type { NerTrainSpec } from '../engine/ner/index.js';
import { runEngineTask } from '../engine/tasks/index.js';
import { paginate, type PageArgs, type SortDirection } from '../common/pagination.js';
import { ModelRepository } from './model.repository.js';

/** What a user asks for; the job payload adds the owner. */
export type TrainNerRequest = Omit<TrainNerPayload, 'ownerId'>;

const MODEL_FILES = { weights: 'model.safetensors', tokenizer: 'tokenizer.json', config: 'config.json', tokenizerConfig: 'tokenizer_config.json' } as const;
/** Metrics streamed while training: one loss point every this many steps (and the last). */
const LOSS_METRIC_EVERY_STEPS = 5;
/** Whether the train_loss curve has a point at `step` of a run whose last step is `lastStep`. */
const onLossCurve = (step: number, lastStep: number): boolean => step % LOSS_METRIC_EVERY_STEPS === 0 || step === lastStep;

/** A training job's progress (with the loss in its message), its train_loss curve, and the held-out perplexity (decoders) or masked-LM loss (encoders) where a step measured it. */
const reportTraining = (ctx: JobContext) => (p: { step: number; totalSteps: number; loss: number; percent: number; validation?: { perplexity: number } | { mlmLoss: number } | object }) => {
  void ctx.progress(p.percent / 100, `step ${p.step}/${p.totalSteps}, loss ${p.loss.toFixed(4)}`);
  if (onLossCurve(p.step, p.totalSteps)) void ctx.metric('train_loss', p.loss, p.step);
  if (p.validation && 'perplexity' in p.validation) void ctx.metric('val_perplexity', p.validation.perplexity, p.step);
  if (p.validation && 'mlmLoss' in p.validation) void ctx.metric('val_mlm_loss', p.validation.mlmLoss, p.step);
};

/**
 * The stored train_loss curve, from the run's loss at every step (kept in its checkpoints, so a
 * resumed run has them all): the points reportTraining streamed, without the gaps or doubles a
 * crash leaves (the training worker checkpoints ahead of the points recorded so far), and with the
 * last step the run made even when it stopped early (the stream's last is the planned one).
 */
const storeLossCurve = (ctx: JobContext, losses: number[]): Promise<void> =>
  ctx.replaceCurve('train_loss', losses.flatMap((value, i) => (onLossCurve(i + 1, losses.length) ? [{ step: i + 1, value }] : [])));

/** A job's working folder and where its training checkpoints go; a run finding checkpoints there resumes from them. */
function trainingFolders(dataDir: string, jobId: string) {
  const workDir = path.join(dataDir, 'jobs', jobId);
  const checkpointDir = path.join(workDir, 'checkpoints');
  return { workDir, checkpointDir, resume: fs.existsSync(checkpointDir) && fs.readdirSync(checkpointDir).length > 0 };
}

/** A pre-trained encoder whose head predicts words (BertForMaskedLM, RobertaForMaskedLM), not tags. */
function isMaskedLm(model: Model): boolean {
  const architectures = (model.config as { architectures?: unknown } | null)?.architectures;
  return Array.isArray(architectures) && architectures.some((a) => typeof a === 'string' && a.endsWith('ForMaskedLM'));
}

export class ModelService {
  readonly repository: ModelRepository;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly artifacts: ArtifactStore,
    private readonly steps: StepRunner,
    private readonly metricRows: MetricRepository,
    private readonly corpora: CorpusService,
    private readonly dataDir: string,
    private readonly engineThreads: number,
  ) {
    this.repository = new ModelRepository(prisma);
  }

  /** Models a user may read (`containsPhi` is set from the lineage when a model is made). */
  visibleWhere(user: AuthUser): Prisma.ModelWhereInput {
    return modelVisibleWhere(user);
  }

  async requireReadable(user: AuthUser, id: string): Promise<Model> {
    const model = await this.prisma.model.findFirst({ where: { id, ...this.visibleWhere(user) } });
    if (!model) throw notFound('Model', id);
    return model;
  }

  list(user: AuthUser, filter: { kind: string | null }, page: PageArgs, order: { field: string; direction: SortDirection }) {
    const where: Prisma.ModelWhereInput = { AND: [this.visibleWhere(user), filter.kind ? { kind: filter.kind as never } : {}] };
    return paginate((args) => this.prisma.model.findMany(args as never), (args) => this.prisma.model.count(args as never), where, page, order);
  }

  metrics(modelId: string, name: string | null) {
    return this.metricRows.ofModel(modelId, name);
  }

  // ---- import a Hugging Face folder ----

  /** A zip of a Hugging Face model folder: config.json, model.safetensors, tokenizer.json (+ tokenizer_config.json). */
  async importModel(user: AuthUser, request: { name: string; kind: string; zip: Uint8Array; containsPhi: boolean }): Promise<Model> {
    if (!canWrite(user)) throw new AppError('FORBIDDEN', 'Viewers may not import models.');
    let files: Record<string, Uint8Array>;
    try {
      files = unzipSync(request.zip);
    } catch {
      throw badInput('contentBase64', 'is not a zip archive of a model folder.');
    }
    // Accept the files at the top level or inside one folder.
    const byName = new Map(Object.entries(files).map(([name, bytes]) => [path.posix.basename(name), bytes]));
    for (const required of [MODEL_FILES.config, MODEL_FILES.weights, MODEL_FILES.tokenizer]) {
      if (!byName.has(required)) throw badInput('contentBase64', `the archive has no ${required}; a Hugging Face model folder needs config.json, model.safetensors and tokenizer.json.`);
    }
    let config: Record<string, unknown>;
    try {
      config = JSON.parse(Buffer.from(byName.get(MODEL_FILES.config)!).toString('utf8'));
      parseConfig(config);
    } catch (error) {
      throw badInput('contentBase64', `config.json: ${(error as Error).message}`);
    }
    const architecture = String(config.model_type);
    const weights = await this.artifacts.put(byName.get(MODEL_FILES.weights)!, 'weights');
    const tokenizer = await this.artifacts.put(byName.get(MODEL_FILES.tokenizer)!, 'tokenizer');
    const tokenizerConfig = byName.has(MODEL_FILES.tokenizerConfig) ? JSON.parse(Buffer.from(byName.get(MODEL_FILES.tokenizerConfig)!).toString('utf8')) : {};
    return this.repository.create({
      name: request.name,
      kind: request.kind as never,
      architecture,
      config: config as Prisma.InputJsonValue,
      trainingConfig: { importedFrom: 'upload', tokenizerConfig } as Prisma.InputJsonValue,
      weightsArtifactId: weights.id,
      tokenizerArtifactId: tokenizer.id,
      containsPhi: request.containsPhi,
      ownerId: user.id,
    });
  }

  /**
   * The positions a generator trained here has learned: the longest training window (seqLen) of
   * its pre-training and adaptations. Null when its lineage starts from an imported model (that
   * model's own max_position_embeddings hold). Generation slides its context past this, since a
   * GPT-2 trained on 256-token windows writes noise at positions it never saw.
   */
  async trainedContext(model: Model): Promise<number | null> {
    let longest = 0;
    for (let at: Model | null = model; at; at = at.baseModelId ? await this.prisma.model.findUnique({ where: { id: at.baseModelId } }) : null) {
      const seqLen = (at.trainingConfig as { seqLen?: unknown } | null)?.seqLen;
      if (typeof seqLen !== 'number') return null;
      longest = Math.max(longest, seqLen);
    }
    return longest || null;
  }

  /** The model as a Hugging Face folder on disk (materialized once from the artifact store). */
  async folderOf(model: Model): Promise<string> {
    const dir = path.join(this.dataDir, 'models', model.id);
    if (fs.existsSync(path.join(dir, MODEL_FILES.weights))) return dir;
    const [weights, tokenizer] = await Promise.all([
      this.prisma.artifact.findUniqueOrThrow({ where: { id: model.weightsArtifactId! } }),
      this.prisma.artifact.findUniqueOrThrow({ where: { id: model.tokenizerArtifactId! } }),
    ]);
    const partial = `${dir}.${process.pid}.partial`;
    fs.mkdirSync(partial, { recursive: true });
    fs.writeFileSync(path.join(partial, MODEL_FILES.config), JSON.stringify(model.config, null, 2));
    fs.writeFileSync(path.join(partial, MODEL_FILES.tokenizerConfig), JSON.stringify((model.trainingConfig as { tokenizerConfig?: unknown }).tokenizerConfig ?? {}, null, 2));
    fs.copyFileSync(this.artifacts.pathOf(tokenizer.sha256), path.join(partial, MODEL_FILES.tokenizer));
    fs.copyFileSync(this.artifacts.pathOf(weights.sha256), path.join(partial, MODEL_FILES.weights));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(partial, dir);
    return dir;
  }

  async download(user: AuthUser, id: string): Promise<{ bytes: Uint8Array; fileName: string }> {
    const model = await this.requireReadable(user, id);
    const dir = await this.folderOf(model);
    const files = Object.values(MODEL_FILES).map((name) => ({ path: name, bytes: fs.readFileSync(path.join(dir, name)) }));
    return { bytes: zipFiles(files), fileName: `${model.name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'model'}.zip` };
  }

  // ---- train a NER tagger ----

  async startTraining(user: AuthUser, request: TrainNerRequest) {
    if (!canWrite(user)) throw new AppError('FORBIDDEN', 'Viewers may not train models.');
    await this.corpora.requireReadable(user, request.corpusId);
    if (!(request.documentFraction > 0 && request.documentFraction <= 1)) throw badInput('documentFraction', 'must be in (0, 1].');
    if (request.annotationModelId) await this.requireReadable(user, request.annotationModelId);
    if (request.baseModelId) {
      const base = await this.requireReadable(user, request.baseModelId);
      if (modelKind(base.architecture) !== 'encoder') throw badInput('baseModelId', `model ${base.id} is a ${base.architecture} decoder; a NER tagger fine-tunes an encoder (${modelTypesOf('encoder').join(', ')}).`);
    }
    for (const [field, value] of Object.entries({ epochs: request.epochs, batchSize: request.batchSize, chunkWords: request.chunkWords, earlyStoppingPatience: request.earlyStoppingPatience ?? 1 })) {
      if (!Number.isInteger(value) || value < 1) throw badInput(field, 'must be a positive integer.');
    }
    if (!((request.validationSplit ?? 0) >= 0 && (request.validationSplit ?? 0) < 1)) throw badInput('validationSplit', 'must be in [0, 1).');
    checkLearningRate('learningRate', request.learningRate);
    checkWarmupRatio('warmupRatio', request.warmupRatio);
    return this.steps.submit(user, JobName.TrainNer, { ...request, ownerId: user.id }, request.device);
  }

  async runTraining(ctx: JobContext<JobName.TrainNer>) {
    const made = await this.madeBy(ctx);
    if (made) return made;
    const request = ctx.payload;
    const corpus = await this.prisma.corpus.findUniqueOrThrow({ where: { id: request.corpusId } });
    const documents = await this.corpora.trainingDocuments(request.corpusId, request.split, request.documentFraction, request.subsetSeed, request.annotationModelId);
    if (documents.length === 0) throw badInput('split', `corpus ${corpus.id} has no documents in split "${request.split}".`);
    const base = request.baseModelId ? await this.repository.findById(request.baseModelId) : null;
    const annotator = request.annotationModelId ? await this.repository.findById(request.annotationModelId) : null;
    const { workDir, checkpointDir, resume } = trainingFolders(this.dataDir, ctx.jobId);
    const unsure = documents.reduce((n, doc) => n + (doc.ignore?.length ?? 0), 0);
    await ctx.log(`${resume ? 'Resuming' : 'Training'} on ${documents.length} documents of "${request.split}", ${corpus.labels.length} labels${unsure ? `, skipping ${unsure} ranges of words the annotator was unsure of` : ''}.`);
    const spec: NerTrainSpec = {
      documents: documents.map((doc) => ({ text: doc.text, spans: doc.spans, ...(doc.ignore ? { ignore: doc.ignore } : {}) })),
      labels: corpus.labels,
      outputDir: path.join(workDir, 'model'),
      base: base ? { modelDir: await this.folderOf(base) } : { scratch: request.scratch },
      chunkWords: request.chunkWords,
      validationSplit: request.validationSplit ?? 0,
      seed: request.seed,
      resume,
      intraOpThreads: this.engineThreads,
      device: request.device,
      train: {
        epochs: request.epochs,
        batchSize: request.batchSize,
        lr: request.learningRate ?? (base ? 5e-5 : 1e-3),
        schedule: 'linear',
        warmupRatio: request.warmupRatio,
        seed: request.seed,
        checkpointDir,
        checkpointEverySteps: 20,
        earlyStoppingPatience: request.earlyStoppingPatience ?? 2,
        ...(request.maxSteps ? { maxSteps: request.maxSteps } : {}),
      },
    };
    const started = Date.now();
    const report = reportTraining(ctx);
    const task = runEngineTask('trainNer', spec, (p) => {
      crashHereInTests(`training-step-${p.step}`);
      report(p);
      if (p.validation) {
        void ctx.metric('val_token_f1', p.validation.tokenF1, p.step);
        void ctx.metric('val_entity_f1', p.validation.entityF1, p.step);
        void ctx.log(`epoch ${p.validation.epoch}: validation token F1 ${p.validation.tokenF1.toFixed(3)}, strict entity F1 ${p.validation.entityF1.toFixed(3)}`);
      }
    }, engineLog(ctx));
    const result = await untilDoneOrCancelled(ctx, task, 'Training');
    const seconds = (Date.now() - started) / 1000;
    await storeLossCurve(ctx, result.losses);
    const model = await this.registerTrained(ctx, spec.outputDir, {
      name: request.name,
      kind: request.kind,
      baseModelId: base?.id ?? null,
      trainedOnCorpusId: corpus.id,
      containsPhi: corpus.containsPhi || Boolean(base?.containsPhi) || Boolean(annotator?.containsPhi),
      trainingConfig: {
        ...request,
        documents: documents.length,
        steps: result.steps,
        examples: result.examples,
        seconds,
        ...(result.validation ? { validationDocuments: result.validation.documents, bestStep: result.validation.bestStep, stoppedEarly: result.validation.stoppedEarly } : {}),
      },
    });
    fs.rmSync(workDir, { recursive: true, force: true });
    return { modelId: model.id, steps: result.steps, finalLoss: result.losses.at(-1) ?? null, examples: result.examples, parameters: result.parameters, seconds };
  }

  // ---- adapt a generator ----

  async startAdaptation(user: AuthUser, request: AdaptGeneratorPayload) {
    if (!canWrite(user)) throw new AppError('FORBIDDEN', 'Viewers may not train models.');
    await this.corpora.requireReadable(user, request.corpusId);
    const base = await this.requireReadable(user, request.baseModelId);
    if (modelKind(base.architecture) !== 'decoder') throw badInput('baseModelId', `model ${base.id} is a ${base.architecture} encoder; adaptation needs a causal LM (${modelTypesOf('decoder').join(', ')}).`);
    if (!(request.documentFraction > 0 && request.documentFraction <= 1)) throw badInput('documentFraction', 'must be in (0, 1].');
    for (const [field, value] of Object.entries({ seqLen: request.seqLen, batchSize: request.batchSize, epochs: request.epochs, ...(request.lora ? { loraR: request.lora.r } : {}) })) {
      if (!Number.isInteger(value) || value < 1) throw badInput(field, 'must be a positive integer.');
    }
    checkLearningRate('learningRate', request.learningRate);
    checkWarmupSteps('warmupSteps', request.warmupSteps);
    return this.steps.submit(user, JobName.AdaptGenerator, request, request.device);
  }

  /** Plain causal-LM training on the corpus text; the adapted model (LoRA merged) becomes a GENERATOR. */
  async runAdaptation(ctx: JobContext<JobName.AdaptGenerator>) {
    const made = await this.madeBy(ctx);
    if (made) return made;
    const request = ctx.payload;
    const documents = await this.corpora.trainingDocuments(request.corpusId, request.split, request.documentFraction, request.subsetSeed);
    if (documents.length === 0) throw badInput('split', `corpus ${request.corpusId} has no documents in split "${request.split}".`);
    const base = await this.prisma.model.findUniqueOrThrow({ where: { id: request.baseModelId } });
    const corpus = await this.prisma.corpus.findUniqueOrThrow({ where: { id: request.corpusId } });
    const heldOut = request.heldOutSplit ? await this.corpora.repository.loadDocuments(request.corpusId, { splits: [request.heldOutSplit] }) : [];
    const { workDir, checkpointDir, resume } = trainingFolders(this.dataDir, ctx.jobId);
    const outputDir = path.join(workDir, 'model');
    await ctx.log(`${resume ? 'Resuming: adapting' : 'Adapting'} ${base.architecture} model ${base.id} on ${documents.length} documents (${request.lora ? `LoRA r=${request.lora.r}, alpha=${request.lora.alpha}` : 'all weights'}).`);
    const started = Date.now();
    const task = runEngineTask(
      'adaptGenerator',
      {
        modelDir: await this.folderOf(base),
        texts: documents.map((doc) => doc.text),
        heldOutTexts: heldOut.map((doc) => doc.text),
        outputDir,
        lora: request.lora,
        seqLen: request.seqLen,
        batchSize: request.batchSize,
        epochs: request.epochs,
        maxSteps: request.maxSteps,
        lr: request.learningRate ?? (request.lora ? 2e-4 : 5e-5),
        warmupSteps: request.warmupSteps,
        seed: request.seed,
        checkpointDir,
        resume,
        device: request.device,
        intraOpThreads: this.engineThreads,
      },
      reportTraining(ctx),
      engineLog(ctx),
    );
    const result = await untilDoneOrCancelled(ctx, task, 'Adaptation');
    const seconds = (Date.now() - started) / 1000;
    await storeLossCurve(ctx, result.losses);
    if (result.heldOut) await ctx.metric('heldout_perplexity', result.heldOut.perplexity);
    const model = await this.registerTrained(ctx, outputDir, {
      name: request.name,
      kind: 'GENERATOR',
      baseModelId: base.id,
      trainedOnCorpusId: request.corpusId,
      containsPhi: corpus.containsPhi || base.containsPhi,
      trainingConfig: { ...request, documents: documents.length, steps: result.steps, tokens: result.tokens, trainableParameters: result.trainableParameters, seconds },
    });
    fs.rmSync(path.dirname(outputDir), { recursive: true, force: true });
    return { modelId: model.id, steps: result.steps, firstLoss: result.losses[0] ?? null, finalLoss: result.losses.at(-1) ?? null, tokens: result.tokens, heldOutPerplexity: result.heldOut?.perplexity ?? null, seconds };
  }

  // ---- pre-train a generator (causal LM) or an encoder (masked LM) from scratch ----

  async startPretraining(user: AuthUser, request: PretrainPayload) {
    if (!canWrite(user)) throw new AppError('FORBIDDEN', 'Viewers may not train models.');
    await this.checkPretraining(user, request);
    return this.steps.submit(user, JobName.Pretrain, request, request.device);
  }

  /** Checks a pre-training request (ids readable, sizes sound); throws BAD_USER_INPUT naming the field (`prefix` as the caller nests it). */
  async checkPretraining(user: AuthUser, request: Pick<PretrainPayload, 'corpusIds' | 'corpusId' | 'split' | 'heldOutFraction' | 'size' | 'seqLen' | 'batchSize' | 'epochs' | 'maxSteps' | 'maskProbability' | 'learningRate' | 'warmupSteps'>, prefix = '') {
    if (request.corpusIds.length === 0 && !request.corpusId) throw badInput(`${prefix}corpusIds`, 'give the corpora whose text to pre-train on (corpusIds, and/or corpusId with a split).');
    for (const id of request.corpusIds) await this.corpora.requireReadable(user, id);
    if (request.corpusId) await this.corpora.requireReadable(user, request.corpusId);
    if (!(request.heldOutFraction >= 0 && request.heldOutFraction <= 0.5)) throw badInput(`${prefix}heldOutFraction`, `must be in [0, 0.5]; got ${request.heldOutFraction}.`);
    const ints = { ...Object.fromEntries(Object.entries(request.size).map(([k, v]) => [`size.${k}`, v])), seqLen: request.seqLen, batchSize: request.batchSize, epochs: request.epochs, ...(request.maxSteps !== null ? { maxSteps: request.maxSteps } : {}) };
    for (const [field, value] of Object.entries(ints)) if (!Number.isInteger(value) || value < 1) throw badInput(`${prefix}${field}`, `must be a positive integer; got ${value}.`);
    if (request.size.hiddenSize % request.size.numHeads !== 0) throw badInput(`${prefix}size.numHeads`, `must divide hiddenSize (${request.size.hiddenSize}); got ${request.size.numHeads}.`);
    if (request.seqLen > request.size.maxPositions) throw badInput(`${prefix}seqLen`, `must be at most size.maxPositions (${request.size.maxPositions}); got ${request.seqLen}.`);
    checkLearningRate(`${prefix}learningRate`, request.learningRate);
    checkWarmupSteps(`${prefix}warmupSteps`, request.warmupSteps);
    const p = request.maskProbability ?? 0.15;
    if (!(p > 0 && p < 1)) throw badInput(`${prefix}maskProbability`, `must be in (0, 1) (BERT used 0.15); got ${p}.`);
  }

  /**
   * A tokenizer and a model trained from nothing on the corpora's text: a decoder (causal LM) becomes
   * a GENERATOR, an encoder (masked LM) an ENCODER_PRETRAINED. Both record their corpora the same way.
   */
  async runPretraining(ctx: JobContext<JobName.Pretrain>) {
    const made = await this.madeBy(ctx);
    if (made) return made;
    const request = ctx.payload;
    const documents = [
      ...(await Promise.all(request.corpusIds.map((id) => this.corpora.repository.loadDocuments(id)))).flat(),
      ...(request.corpusId ? await this.corpora.repository.loadDocuments(request.corpusId, { splits: request.split !== null ? [request.split] : null }) : []),
    ];
    const texts = documents.map((doc) => doc.text).filter((text) => text.trim().length > 0);
    const every = request.heldOutFraction > 0 ? Math.max(2, Math.round(1 / request.heldOutFraction)) : 0;
    const heldOut = every ? texts.filter((_, i) => i % every === every - 1) : [];
    const train = every ? texts.filter((_, i) => i % every !== every - 1) : texts;
    if (train.length === 0) throw badInput('corpusIds', 'the corpora hold no text to pre-train on.');
    const corpora = await this.prisma.corpus.findMany({ where: { id: { in: [...request.corpusIds, ...(request.corpusId ? [request.corpusId] : [])] } }, select: { id: true, containsPhi: true } });
    const { architecture } = request;
    const encoder = architecture === 'bert' || architecture === 'roberta';
    await ctx.log(
      `Pre-training a ${request.architecture} ${encoder ? 'encoder (masked LM)' : 'decoder'} (width ${request.size.hiddenSize}, ${request.size.numLayers} layers) on ${train.length} documents; ${heldOut.length} held out.`,
    );
    const { workDir, checkpointDir, resume } = trainingFolders(this.dataDir, ctx.jobId);
    const outputDir = path.join(workDir, 'model');
    const training = {
      size: request.size,
      texts: train,
      heldOutTexts: heldOut,
      outputDir,
      seqLen: request.seqLen,
      batchSize: request.batchSize,
      epochs: request.epochs,
      maxSteps: request.maxSteps,
      lr: request.learningRate,
      warmupSteps: request.warmupSteps,
      seed: request.seed,
      checkpointDir,
      resume,
      device: request.device,
      intraOpThreads: this.engineThreads,
    };
    const started = Date.now();
    // what both kinds report: the held-out measurement of the kept weights and its summary for the job result
    let outcome: { steps: number; losses: number[]; tokens: number; vocabSize: number; heldOut: Record<string, number> | null; summary: Record<string, number | null> };
    if (encoder) {
      const task = runEngineTask('pretrainEncoder', { ...training, architecture, maskProbability: request.maskProbability ?? 0.15 }, reportTraining(ctx), engineLog(ctx));
      const result = await untilDoneOrCancelled(ctx, task, 'Pre-training');
      if (result.heldOut) await ctx.metric('heldout_mlm_loss', result.heldOut.mlmLoss);
      outcome = { ...result, heldOut: result.heldOut ? { ...result.heldOut } : null, summary: { heldOutMlmLoss: result.heldOut?.mlmLoss ?? null, initialHeldOutMlmLoss: result.heldOutInitial?.mlmLoss ?? null } };
    } else {
      const task = runEngineTask('pretrainDecoder', { ...training, architecture }, reportTraining(ctx), engineLog(ctx));
      const result = await untilDoneOrCancelled(ctx, task, 'Pre-training');
      if (result.heldOut) await ctx.metric('heldout_perplexity', result.heldOut.perplexity);
      outcome = { ...result, heldOut: result.heldOut ? { ...result.heldOut } : null, summary: { heldOutPerplexity: result.heldOut?.perplexity ?? null } };
    }
    const seconds = (Date.now() - started) / 1000;
    await storeLossCurve(ctx, outcome.losses);
    const model = await this.registerTrained(ctx, outputDir, {
      name: request.name,
      kind: encoder ? 'ENCODER_PRETRAINED' : 'GENERATOR',
      baseModelId: null,
      trainedOnCorpusId: request.corpusId ?? request.corpusIds[0]!,
      containsPhi: corpora.some((c) => c.containsPhi),
      trainingConfig: { ...request, documents: train.length, heldOutDocuments: heldOut.length, steps: outcome.steps, tokens: outcome.tokens, heldOut: outcome.heldOut, seconds },
    });
    fs.rmSync(path.dirname(outputDir), { recursive: true, force: true });
    return { modelId: model.id, steps: outcome.steps, finalLoss: outcome.losses.at(-1) ?? null, tokens: outcome.tokens, vocabSize: outcome.vocabSize, ...outcome.summary, seconds };
  }

  /** The model this job registered before a crash stopped it from being marked done: then that is its result. */
  private async madeBy(ctx: JobContext): Promise<{ modelId: string; recovered: true } | null> {
    const model = await this.prisma.model.findUnique({ where: { createdByJobId: ctx.jobId } });
    if (!model) return null;
    await ctx.log('Found the model this job saved before the server stopped; not training again.');
    return { modelId: model.id, recovered: true };
  }

  /** Stores a trained model folder in the artifact store and records it, with the job's metrics. */
  private async registerTrained(
    ctx: JobContext,
    dir: string,
    what: { name: string; kind: 'NER_ANNOTATOR' | 'NER_SYNTHETIC' | 'GENERATOR' | 'ENCODER_PRETRAINED'; baseModelId: string | null; trainedOnCorpusId: string; containsPhi: boolean; trainingConfig: Record<string, unknown> },
  ): Promise<Model> {
    const weights = await this.artifacts.put(fs.readFileSync(path.join(dir, MODEL_FILES.weights)), 'weights');
    const tokenizer = await this.artifacts.put(fs.readFileSync(path.join(dir, MODEL_FILES.tokenizer)), 'tokenizer');
    const config = JSON.parse(fs.readFileSync(path.join(dir, MODEL_FILES.config), 'utf8'));
    const tokenizerConfigPath = path.join(dir, MODEL_FILES.tokenizerConfig);
    const tokenizerConfig = fs.existsSync(tokenizerConfigPath) ? JSON.parse(fs.readFileSync(tokenizerConfigPath, 'utf8')) : {};
    const model = await this.repository.create({
      name: what.name,
      kind: what.kind,
      architecture: String(config.model_type),
      config,
      trainingConfig: { ...what.trainingConfig, tokenizerConfig } as Prisma.InputJsonValue,
      weightsArtifactId: weights.id,
      tokenizerArtifactId: tokenizer.id,
      baseModelId: what.baseModelId,
      trainedOnCorpusId: what.trainedOnCorpusId,
      containsPhi: what.containsPhi,
      createdByJobId: ctx.jobId,
      ownerId: ctx.ownerId,
    });
    await this.metricRows.fileJobMetrics(ctx.jobId, { modelId: model.id });
    return model;
  }

  // ---- machine annotation ----

  async startAnnotation(user: AuthUser, modelId: string, corpusId: string, split: string | null, device: 'cpu' | 'webgpu' | 'cuda', unsureBelow: number | null = null) {
    if (!canWrite(user)) throw new AppError('FORBIDDEN', 'Viewers may not annotate corpora.');
    const model = await this.requireReadable(user, modelId);
    if (modelKind(model.architecture) !== 'encoder') throw badInput('modelId', `model ${modelId} is not a tagger (${model.architecture}).`);
    if (isMaskedLm(model)) throw badInput('modelId', `model ${modelId} is a pre-trained ${model.architecture} encoder with a masked-LM head and no labels, not a tagger; fine-tune one from it first (trainNerModel with baseModelId "${modelId}").`);
    checkUnsureBelow('unsureBelow', unsureBelow);
    await this.corpora.requireOwned(user, corpusId);
    return this.steps.submit(user, JobName.Annotate, { modelId, corpusId, split, device, ...(unsureBelow !== null ? { unsureBelow } : {}) }, device);
  }

  async runAnnotation(ctx: JobContext<JobName.Annotate>) {
    const { modelId, corpusId, split, unsureBelow } = ctx.payload;
    const model = await this.prisma.model.findUniqueOrThrow({ where: { id: modelId } });
    const documents = await this.corpora.repository.loadDocuments(corpusId, { splits: split !== null ? [split] : null });
    const chunkWords = (model.trainingConfig as { chunkWords?: number }).chunkWords ?? 128;
    const task = runEngineTask('annotateNer', { modelDir: await this.folderOf(model), documents: documents.map((d) => ({ text: d.text })), chunkWords, ...(unsureBelow ? { unsureBelow } : {}), batchSize: 16, intraOpThreads: this.engineThreads, device: ctx.payload.device }, (p) =>
      void ctx.progress((0.9 * p.done) / p.total, `tagged ${p.done}/${p.total} chunks`), engineLog(ctx),
    );
    const annotations = await untilDoneOrCancelled(ctx, task, 'Annotation');
    const stored = await this.repository.replaceMachineAnnotations(
      modelId,
      documents.map((doc, i) => ({ documentId: doc.id, ...annotations[i]! })),
    );
    return { modelId, corpusId, documents: documents.length, ...stored };
  }
}
