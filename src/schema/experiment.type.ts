import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { JSONScalar } from './scalars.js';
import { ConnectionType } from './pagination.js';
import { JobStatusEnum } from './job.type.js';

export enum CreatedOrderField {
  createdAt = 'createdAt',
  name = 'name',
}
registerEnumType(CreatedOrderField, { name: 'CreatedOrderField' });

@ObjectType({ description: 'One step of an experiment (annotator training, generation, …) and the job that runs it.' })
export class Step {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String) kind!: string;
  @Field(() => String, { description: 'Hash of inputs, config and code version: identical steps are computed once.' }) inputHash!: string;
  @Field(() => JSONScalar) params!: unknown;
  @Field(() => JobStatusEnum) status!: JobStatusEnum;
  @Field(() => ID, { nullable: true }) jobId!: string | null;
  @Field(() => Date) createdAt!: Date;
}

@ObjectType({ description: 'One cell of the synthesis pipeline: its configuration and steps.' })
export class Experiment {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => ID, { nullable: true }) ablationId!: string | null;
  @Field(() => JSONScalar) config!: unknown;
  @Field(() => JobStatusEnum) status!: JobStatusEnum;
  @Field(() => Date) createdAt!: Date;
}

@ObjectType({ description: 'A grid of experiments over fractions of the real data, with seeds.' })
export class Ablation {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => JSONScalar) grid!: unknown;
  @Field(() => [Int]) seeds!: number[];
  @Field(() => Date) createdAt!: Date;
}

@ObjectType({ description: 'Generated notes (in a SYNTHETIC corpus), with the generator and annotator that made them.' })
export class SyntheticDataset {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => ID) corpusId!: string;
  @Field(() => ID, { nullable: true }) generatorModelId!: string | null;
  @Field(() => ID, { nullable: true }) annotatorModelId!: string | null;
  @Field(() => ID, { nullable: true }) sourceCorpusId!: string | null;
  @Field(() => JSONScalar) prompts!: unknown;
  @Field(() => JSONScalar, { description: 'Sampling settings: top-p, temperature, samples per prompt, max tokens.' }) sampling!: unknown;
  @Field(() => Date) createdAt!: Date;
}

export const ExperimentConnection = ConnectionType(Experiment, 'Experiment');
export const AblationConnection = ConnectionType(Ablation, 'Ablation');
export const SyntheticDatasetConnection = ConnectionType(SyntheticDataset, 'SyntheticDataset');
