import path from 'node:path';
import fs from 'node:fs';
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { PROJECT_ROOT } from '../common/paths.js';
import { CorpusResolver, DocumentResolver } from '../resolvers/corpus.resolver.js';
import { EvaluationResolver, ScorerTableResolver } from '../resolvers/evaluation.resolver.js';
import { JobResolver } from '../resolvers/job.resolver.js';
import { ModelResolver } from '../resolvers/model.resolver.js';
import { SynthesisResolver } from '../resolvers/synthesis.resolver.js';
import { AblationResolver, ExperimentResolver, StepResolver, SyntheticDatasetResolver } from '../resolvers/experiment.resolver.js';
import { UserResolver } from '../resolvers/user.resolver.js';
import { authChecker } from './context.js';
import type { Services } from './services.js';
import { EventBus } from '../subscriptions/pubsub.js';

export const RESOLVERS = [UserResolver, CorpusResolver, DocumentResolver, JobResolver, ModelResolver, SynthesisResolver, ExperimentResolver, StepResolver, AblationResolver, SyntheticDatasetResolver, EvaluationResolver, ScorerTableResolver] as const;

/** Resolvers are built with the process's services; without services (printing the SDL) none are instantiated. */
export function buildAppSchema(services: Services | null): Promise<GraphQLSchema> {
  const instances = new Map<unknown, unknown>();
  return buildSchema({
    resolvers: [...RESOLVERS],
    authChecker,
    validate: false,
    pubSub: services?.bus ?? EventBus.inProcess(),
    container: {
      get(someClass: new (services: Services) => unknown) {
        if (!services) throw new Error('The schema was built without services; it can only be printed.');
        if (!instances.has(someClass)) instances.set(someClass, new someClass(services));
        return instances.get(someClass);
      },
    },
  });
}

/** The committed SDL (schema.graphql) that frontends and scripts generate typed clients from. */
export const SDL_PATH = path.join(PROJECT_ROOT, 'schema.graphql');

/** Sorted, so the file does not depend on the order in which resolver modules happened to load. */
export async function printAppSchema(): Promise<string> {
  return printSchema(lexicographicSortSchema(await buildAppSchema(null))) + '\n';
}

export async function writeSdl(): Promise<string> {
  const sdl = await printAppSchema();
  fs.writeFileSync(SDL_PATH, sdl);
  return SDL_PATH;
}
