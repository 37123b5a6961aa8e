import { Arg, Authorized, ID, Mutation, Resolver, Root, Subscription } from 'type-graphql';
import type { AuthUser } from '../auth/auth.types.js';
import { CurrentUser, requireUser, type GraphQLContext } from '../server/context.js';
import type { Services } from '../server/services.js';
import type { GeneratedTokenPayload } from '../subscriptions/pubsub.js';
import { Job } from '../schema/job.type.js';
import { GenerateSyntheticCorpusInput, GeneratedToken, RunPrivacyGuardInput } from '../schema/synthesis.type.js';

@Resolver()
export class SynthesisResolver {
  constructor(private readonly services: Services) {}

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => Job, { description: 'Samples synthetic notes from a generator (a job). result.syntheticDatasetId and result.corpusId name what it made; generatedTokens streams the text.' })
  generateSyntheticCorpus(@CurrentUser() user: AuthUser, @Arg('input', () => GenerateSyntheticCorpusInput) input: GenerateSyntheticCorpusInput) {
    return this.services.synthesis.startGeneration(user, {
      ...input,
      promptSplit: input.promptSplit ?? null,
      maxPrompts: input.maxPrompts ?? null,
      topK: input.topK ?? null,
    });
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => Job, { description: 'Runs the privacy guard on a synthetic corpus (a job; experiments run it between generation and annotation).' })
  runPrivacyGuard(@CurrentUser() user: AuthUser, @Arg('input', () => RunPrivacyGuardInput) input: RunPrivacyGuardInput) {
    return this.services.synthesis.startGuard(user, { ...input, action: input.action as never });
  }

  @Authorized()
  @Subscription(() => GeneratedToken, {
    subscribe: ({ args, context }) => (context as GraphQLContext).services.synthesis.subscribeTokens(requireUser(context as GraphQLContext), args.jobId as string),
    description: 'The text of a GENERATE job as it is sampled, a few words at a time per sequence, until the job ends.',
  })
  generatedTokens(@Root() token: GeneratedTokenPayload, @Arg('jobId', () => ID) _jobId: string) {
    return token;
  }
}
