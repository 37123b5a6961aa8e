import { Arg, Args, Authorized, FieldResolver, Float, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { AuthUser } from '../auth/auth.types.js';
import { CurrentUser, requireUser, type GraphQLContext } from '../server/context.js';
import type { Services } from '../server/services.js';
import type { JobEventPayload } from '../subscriptions/pubsub.js';
import { Job, JobConnection, JobEvent, JobLogLine, JobOrderField, JobStatusEnum } from '../schema/job.type.js';
import { OrderByInput, PageArgs, SortDirection } from '../schema/pagination.js';

const JobOrderBy = OrderByInput(JobOrderField, 'Job', JobOrderField.createdAt);
type JobOrderBy = InstanceType<typeof JobOrderBy>;

@Resolver(() => Job)
export class JobResolver {
  constructor(private readonly services: Services) {}

  @Authorized()
  @Query(() => Job)
  job(@CurrentUser() user: AuthUser, @Arg('id', () => ID) id: string) {
    return this.services.jobs.get(user, id);
  }

  @Authorized()
  @Query(() => JobConnection, { description: 'Your jobs (all jobs for admins, redacted where they touch private data), newest first by default.' })
  jobs(
    @CurrentUser() user: AuthUser,
    @Args(() => PageArgs) page: PageArgs,
    @Arg('status', () => JobStatusEnum, { nullable: true }) status: JobStatusEnum | null,
    @Arg('type', () => String, { nullable: true }) type: string | null,
    @Arg('orderBy', () => JobOrderBy, { nullable: true }) orderBy: JobOrderBy | null,
  ) {
    return this.services.jobs.list(user, { status, type }, page, orderBy ?? { field: JobOrderField.createdAt, direction: SortDirection.DESC });
  }

  @Authorized()
  @Mutation(() => Job, { description: 'Stops a queued or running job; work it finished is kept.' })
  cancelJob(@CurrentUser() user: AuthUser, @Arg('id', () => ID) id: string) {
    return this.services.jobs.cancel(user, id);
  }

  @FieldResolver(() => [JobLogLine])
  logs(@Root() job: Job, @Arg('afterSeq', () => Int, { defaultValue: 0 }) afterSeq: number, @Arg('first', () => Int, { defaultValue: 200 }) first: number) {
    if (job.redacted) return [];
    return this.services.jobs.logs(job.id, afterSeq, Math.min(first, 1000));
  }

  @FieldResolver(() => Float, { nullable: true, description: 'Seconds from start to finish (or to now).' })
  durationSeconds(@Root() job: Job) {
    if (!job.startedAt) return null;
    return ((job.finishedAt ?? new Date()).getTime() - job.startedAt.getTime()) / 1000;
  }

  @Authorized()
  @Subscription(() => JobEvent, {
    subscribe: ({ args, context }) => (context as GraphQLContext).services.jobs.subscribe(requireUser(context as GraphQLContext), args.id as string),
    description: 'The job\'s current state first, then every later event in order (seq increases by 1), until the job ends.',
  })
  jobEvents(@Root() event: JobEventPayload, @Arg('id', () => ID) _id: string) {
    return event;
  }
}
