import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { JSONScalar } from './scalars.js';
import { ConnectionType } from './pagination.js';

export enum JobStatusEnum {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}
registerEnumType(JobStatusEnum, { name: 'JobStatus' });

export enum JobOrderField {
  createdAt = 'createdAt',
}
registerEnumType(JobOrderField, { name: 'JobOrderField' });

@ObjectType()
export class JobLogLine {
  @Field(() => Int) seq!: number;
  @Field(() => String) level!: string;
  @Field(() => String) message!: string;
  @Field(() => Date) createdAt!: Date;
}

@ObjectType({ description: 'Work started by a mutation: an import, an export, a training run, an evaluation.' })
export class Job {
  @Field(() => ID) id!: string;
  @Field(() => String) type!: string;
  @Field(() => JobStatusEnum) status!: JobStatusEnum;
  @Field(() => Float, { description: '0 to 1.' }) progress!: number;
  @Field(() => Float, { nullable: true, description: 'Estimated seconds left, from the progress so far.' }) etaSeconds!: number | null;
  @Field(() => String, { nullable: true }) message!: string | null;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => String, { nullable: true, description: 'A GraphQL error code, e.g. BAD_USER_INPUT.' }) errorCode!: string | null;
  @Field(() => String, { nullable: true }) device!: string | null;
  @Field(() => Int) attempts!: number;
  @Field(() => Boolean, { description: 'True when you may not read everything this job touches (a private corpus or model of another user): payload, result, message, error and logs are withheld.' }) redacted!: boolean;
  @Field(() => JSONScalar, { nullable: true }) payload!: unknown;
  @Field(() => JSONScalar, { nullable: true, description: 'What the job produced (ids of created entities, counts).' }) result!: unknown;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date, { nullable: true }) startedAt!: Date | null;
  @Field(() => Date, { nullable: true }) finishedAt!: Date | null;
}

@ObjectType({ description: 'One numbered event of a job: a status change, progress, a log line or a metric.' })
export class JobEvent {
  @Field(() => ID) jobId!: string;
  @Field(() => Int) seq!: number;
  @Field(() => String, { description: 'STATUS, PROGRESS, LOG or METRIC.' }) kind!: string;
  @Field(() => JobStatusEnum) status!: JobStatusEnum;
  @Field(() => Float) progress!: number;
  @Field(() => Float, { nullable: true }) etaSeconds!: number | null;
  @Field(() => String, { nullable: true }) message!: string | null;
  @Field(() => String, { nullable: true }) metricName!: string | null;
  @Field(() => Float, { nullable: true }) metricValue!: number | null;
  @Field(() => Int, { nullable: true }) metricStep!: number | null;
  @Field(() => String) at!: string;
}

export const JobConnection = ConnectionType(Job, 'Job');
