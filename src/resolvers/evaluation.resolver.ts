import { Arg, Args, Authorized, FieldResolver, Float, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { renderSvg, scoreBars } from '../plots/charts.js';
import { JSONScalar } from '../schema/scalars.js';
import type { AuthUser } from '../auth/auth.types.js';
import { badInput } from '../common/errors.js';
import { CurrentUser } from '../server/context.js';
import type { Services } from '../server/services.js';
import { Job } from '../schema/job.type.js';
import { PageArgs } from '../schema/pagination.js';
import {
  ScorerTable,
  EvaluateInput,
  Evaluation,
  EvaluationComparison,
  EvaluationErrorConnection,
  EvaluationErrorKind,
  MetricConnection,
  MetricFilter,
  PrivacyReport,
} from '../schema/evaluation.type.js';

const BASE64 = /^[A-Za-z0-9+/=\s]*$/;

@Resolver()
export class EvaluationResolver {
  constructor(private readonly services: Services) {}

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => Job, { description: 'Scores predictions (a corpus, an uploaded file, or a model\'s machine annotations) against a gold split, as a job; result: the summary and ids.' })
  evaluate(@CurrentUser() user: AuthUser, @Arg('input', () => EvaluateInput) input: EvaluateInput) {
    if (input.predictions && !BASE64.test(input.predictions.contentBase64)) throw badInput('predictions.contentBase64', 'is not base64.');
    return this.services.evaluation.startEvaluate(user, {
      goldCorpusId: input.goldCorpusId,
      split: input.split ?? null,
      predictedCorpusId: input.predictedCorpusId ?? null,
      predictions: input.predictions
        ? { fileName: input.predictions.fileName, bytes: Buffer.from(input.predictions.contentBase64, 'base64'), format: input.predictions.format ?? null }
        : null,
      modelId: input.modelId ?? null,
      labels: input.labels ?? null,
      unknownLabel: input.unknownLabel,
      missingDocument: input.missingDocument,
      unknownDocument: input.unknownDocument,
      invalidSpans: input.invalidSpans,
      bootstrapResamples: input.bootstrapResamples,
      confidenceLevel: input.confidenceLevel,
      seed: input.seed,
      contextChars: input.contextChars,
    });
  }

  @Authorized()
  @Query(() => Evaluation, { description: 'The per-label tables of a finished evaluate job, for users who may read its gold corpus.' })
  evaluation(@CurrentUser() user: AuthUser, @Arg('jobId', () => ID) jobId: string) {
    return this.services.evaluation.evaluation(user, jobId);
  }

  @Authorized()
  @Query(() => EvaluationErrorConnection, { description: 'False positives or negatives (strict entity matching) with context; only for users who may read the gold corpus.' })
  evaluationErrors(
    @CurrentUser() user: AuthUser,
    @Arg('jobId', () => ID) jobId: string,
    @Arg('kind', () => EvaluationErrorKind) kind: EvaluationErrorKind,
    @Arg('label', () => String, { nullable: true }) label: string | null,
    @Args(() => PageArgs) page: PageArgs,
  ) {
    return this.services.evaluation.errors(user, jobId, { kind, label }, page);
  }

  @Authorized()
  @Query(() => EvaluationComparison, { description: 'Paired document-bootstrap test of two evaluations of the same gold documents: A − B, interval and p-value per metric.' })
  compareEvaluations(
    @CurrentUser() user: AuthUser,
    @Arg('jobA', () => ID) jobA: string,
    @Arg('jobB', () => ID) jobB: string,
    @Arg('resamples', () => Int, { defaultValue: 1000 }) resamples: number,
    @Arg('confidenceLevel', () => Float, { defaultValue: 0.95 }) confidenceLevel: number,
    @Arg('seed', () => Int, { defaultValue: 20250214 }) seed: number,
  ) {
    return this.services.evaluation.compare(user, jobA, jobB, { resamples, level: confidenceLevel, seed });
  }

  @Authorized()
  @Query(() => MetricConnection, { description: 'Stored metrics of corpora you may read, and of your own models, experiments and jobs; oldest first.' })
  metrics(@CurrentUser() user: AuthUser, @Arg('filter', () => MetricFilter, { nullable: true }) filter: MetricFilter | null, @Args(() => PageArgs) page: PageArgs) {
    return this.services.evaluation.metrics(user, filter ?? {}, page);
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => Job, { description: 'Privacy metrics of a synthetic corpus against a real one (n-gram overlap, verbatim PHI, longest copied passage, nearest real document), as a job.' })
  privacyReport(
    @CurrentUser() user: AuthUser,
    @Arg('syntheticCorpusId', () => ID) syntheticCorpusId: string,
    @Arg('realCorpusId', () => ID) realCorpusId: string,
    @Arg('realSplit', () => String, { nullable: true }) realSplit: string | null,
    @Arg('n', () => Int, { defaultValue: 5, description: 'Words per n-gram.' }) n: number,
  ) {
    return this.services.evaluation.startPrivacyReport(user, { syntheticCorpusId, realCorpusId, realSplit: realSplit ?? null, n });
  }

  @Authorized()
  @Query(() => PrivacyReport, { description: 'A finished privacy report, for users who may read the synthetic corpus; real document names and PHI examples only for those who may read the real corpus.' })
  privacyReportResult(@CurrentUser() user: AuthUser, @Arg('jobId', () => ID) jobId: string) {
    return this.services.evaluation.privacyReport(user, jobId);
  }
}

@Resolver(() => ScorerTable)
export class ScorerTableResolver {
  @FieldResolver(() => JSONScalar, { description: 'Per-label F1 with its bootstrap interval (micro-average first) as a Vega-Lite spec; f1ChartSvg renders it.' })
  f1Chart(@Root() table: ScorerTable) {
    const rows = [{ ...table.micro, label: 'micro average' }, ...table.perLabel];
    return scoreBars({
      title: `${table.scorer}: F1 per label`,
      xLabel: 'F1 (whiskers: bootstrap interval)',
      bars: rows.map((row) => ({ label: row.label ?? 'all', value: row.f1, low: row.ciLow, high: row.ciHigh })),
    });
  }

  @FieldResolver(() => String, { description: 'Per-label F1 with its bootstrap interval as an SVG bar chart (micro-average first).' })
  f1ChartSvg(@Root() table: ScorerTable) {
    return renderSvg(this.f1Chart(table));
  }
}
