/**
 * Builds every service once per process from the configuration and the database: the one place
 * that knows how the parts fit together (immich's module wiring, without a DI framework).
 */
import type { AppConfig } from '../config.js';
import { openDatabase, type Database } from '../db/database.js';
import { AuthService } from '../auth/auth.service.js';
import { CorpusService } from '../corpora/corpus.service.js';
import { ModelService } from '../models/model.service.js';
import { ExperimentService } from '../experiments/experiment.service.js';
import { AblationService } from '../experiments/ablation.service.js';
import { SynthesisService } from '../synthesis/synthesis.service.js';
import { EvaluationService } from '../evaluation/evaluation.service.js';
import { JobQueue } from '../jobs/queue.js';
import { CpuPool } from '../jobs/cpu-pool.js';
import { JobService } from '../jobs/job.service.js';
import { JobRunner, type JobHandlers } from '../jobs/job.runner.js';
import { JobName } from '../jobs/types.js';
import { StepRunner } from '../steps/step.runner.js';
import { ModelRepository } from '../models/model.repository.js';
import { MetricRepository } from '../metrics/metric.repository.js';
import { ArtifactStore } from '../storage/artifact.store.js';
import { EventBus } from '../subscriptions/pubsub.js';

export interface Services {
  config: AppConfig;
  database: Database;
  prisma: Database['prisma'];
  bus: EventBus;
  queue: JobQueue;
  artifacts: ArtifactStore;
  auth: AuthService;
  jobs: JobService;
  corpora: CorpusService;
  models: ModelService;
  experiments: ExperimentService;
  ablations: AblationService;
  synthesis: SynthesisService;
  evaluation: EvaluationService;
  runner: JobRunner;
  close(): Promise<void>;
}

export async function createServices(config: AppConfig, options: { runJobs: boolean }): Promise<Services> {
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const { prisma } = database;
  const bus = database.pool ? await EventBus.postgres(database.pool) : EventBus.inProcess();
  const queue = await JobQueue.start(database, config.jobHeartbeatSeconds);
  const artifacts = new ArtifactStore(config.dataDir, prisma);
  const auth = new AuthService(prisma);
  const jobs = new JobService(prisma, queue, bus);
  const cpu = new CpuPool();
  const corpora = new CorpusService(prisma, database, artifacts, jobs, cpu, { maxUploadBytes: config.maxUploadBytes, maxFileBytes: config.maxFileBytes });
  const steps = new StepRunner(jobs, corpora.repository, new ModelRepository(prisma));
  const metricRows = new MetricRepository(prisma);

  const models = new ModelService(prisma, artifacts, steps, metricRows, corpora, config.dataDir, config.engineThreads);
  const evaluation = new EvaluationService(prisma, corpora, models, artifacts, jobs, steps, metricRows, cpu, { maxUploadBytes: config.maxUploadBytes, maxFileBytes: config.maxFileBytes });

  const synthesis = new SynthesisService(prisma, jobs, steps, corpora, models, bus, cpu, artifacts, config.engineThreads);

  const handlers: JobHandlers = {
    [JobName.Generate]: (ctx) => synthesis.runGeneration(ctx),
    [JobName.AdaptGenerator]: (ctx) => models.runAdaptation(ctx),
    [JobName.Pretrain]: (ctx) => models.runPretraining(ctx),
    [JobName.TrainNer]: (ctx) => models.runTraining(ctx),
    [JobName.Annotate]: (ctx) => models.runAnnotation(ctx),
    [JobName.CorpusImport]: (ctx) => corpora.runImport(ctx),
    [JobName.CorpusExport]: (ctx) => corpora.runExport(ctx),
    [JobName.Evaluate]: (ctx) => evaluation.runEvaluate(ctx),
    [JobName.PrivacyReport]: (ctx) => evaluation.runPrivacyReport(ctx),
    [JobName.PrivacyGuard]: (ctx) => synthesis.runGuard(ctx),
  };
  const experiments = new ExperimentService(prisma, corpora, models, jobs, steps, metricRows, bus);
  const ablations = new AblationService(prisma, experiments, metricRows, bus);
  jobs.onFinished((job) => void experiments.onJobFinished(job.id));
  const runner = new JobRunner(prisma, queue, jobs, handlers, metricRows);
  if (options.runJobs) {
    await runner.start(config.jobConcurrency);
    // Experiments whose last job ended while no process was there to take the next step.
    await experiments.resumeAll();
  }

  return {
    config,
    database,
    prisma,
    bus,
    queue,
    artifacts,
    auth,
    jobs,
    corpora,
    models,
    experiments,
    ablations,
    synthesis,
    evaluation,
    runner,
    async close() {
      await queue.stop();
      await cpu.close();
      await bus.close();
      await database.close();
    },
  };
}
