import { Arg, Args, Authorized, FieldResolver, Float, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { AuthUser } from '../auth/auth.types.js';
import { badInput } from '../common/errors.js';
import { CurrentUser } from '../server/context.js';
import type { Services } from '../server/services.js';
import {
  Annotation,
  AnnotationSourceEnum,
  Corpus,
  CorpusConnection,
  CorpusFormatEnum,
  CorpusOrderField,
  CorpusSplit,
  CorpusStats,
  CorpusSubset,
  Document,
  DocumentConnection,
  ImportCorpusInput,
  SplitFraction,
} from '../schema/corpus.type.js';
import { Job } from '../schema/job.type.js';
import { User } from '../schema/user.type.js';
import { OrderByInput, PageArgs, SortDirection } from '../schema/pagination.js';

const CorpusOrderBy = OrderByInput(CorpusOrderField, 'Corpus', CorpusOrderField.createdAt);
type CorpusOrderBy = InstanceType<typeof CorpusOrderBy>;

@Resolver(() => Corpus)
export class CorpusResolver {
  constructor(private readonly services: Services) {}

  @Authorized()
  @Query(() => Corpus)
  corpus(@CurrentUser() user: AuthUser, @Arg('id', () => ID) id: string) {
    return this.services.corpora.requireReadable(user, id);
  }

  @Authorized()
  @Query(() => CorpusConnection, { description: 'Corpora you may read.' })
  corpora(
    @CurrentUser() user: AuthUser,
    @Args(() => PageArgs) page: PageArgs,
    @Arg('nameContains', () => String, { nullable: true }) nameContains: string | null,
    @Arg('containsPhi', () => Boolean, { nullable: true }) containsPhi: boolean | null,
    @Arg('orderBy', () => CorpusOrderBy, { nullable: true }) orderBy: CorpusOrderBy | null,
  ) {
    return this.services.corpora.list(user, { nameContains, containsPhi }, page, orderBy ?? { field: CorpusOrderField.createdAt, direction: SortDirection.DESC });
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => Job, { description: 'Uploads and imports a corpus as a job; the corpus appears only if the whole import succeeds.' })
  importCorpus(@CurrentUser() user: AuthUser, @Arg('input', () => ImportCorpusInput) input: ImportCorpusInput) {
    if (!/^[A-Za-z0-9+/=\s]*$/.test(input.contentBase64)) throw badInput('contentBase64', 'is not base64.');
    return this.services.corpora.startImport(user, { ...input, bytes: Buffer.from(input.contentBase64, 'base64') });
  }

  // An export makes a copy that can leave the machine: a researcher's act, not a viewer's.
  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => Job, { description: 'Writes the corpus as a zip in the given format (admins and researchers); download it from /exports/<jobId> with your token.' })
  exportCorpus(
    @CurrentUser() user: AuthUser,
    @Arg('id', () => ID) id: string,
    @Arg('format', () => CorpusFormatEnum) format: CorpusFormatEnum,
    @Arg('splits', () => [String], { nullable: true }) splits: string[] | null,
  ) {
    return this.services.corpora.startExport(user, id, format, splits ?? null);
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => [CorpusSplit], { description: 'Re-splits documents (of fromSplit, or all) by seeded fractions that sum to 1.' })
  splitCorpus(
    @CurrentUser() user: AuthUser,
    @Arg('id', () => ID) id: string,
    @Arg('fractions', () => [SplitFraction]) fractions: SplitFraction[],
    @Arg('seed', () => Int, { defaultValue: 0 }) seed: number,
    @Arg('fromSplit', () => String, { nullable: true }) fromSplit: string | null,
  ) {
    return this.services.corpora.split(user, id, Object.fromEntries(fractions.map((f) => [f.split, f.fraction])), seed, fromSplit ?? null);
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => Corpus)
  shareCorpus(@CurrentUser() user: AuthUser, @Arg('id', () => ID) id: string, @Arg('email', () => String) email: string) {
    return this.services.corpora.share(user, id, email);
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => Corpus)
  unshareCorpus(@CurrentUser() user: AuthUser, @Arg('id', () => ID) id: string, @Arg('email', () => String) email: string) {
    return this.services.corpora.unshare(user, id, email);
  }

  @Authorized('ADMIN', 'RESEARCHER')
  @Mutation(() => Boolean)
  deleteCorpus(@CurrentUser() user: AuthUser, @Arg('id', () => ID) id: string) {
    return this.services.corpora.delete(user, id);
  }

  @Authorized()
  @Query(() => [CorpusSubset], { description: 'Seeded nested document subsets of a split, for ablations (5% ⊂ 25% ⊂ 50% …).' })
  corpusSubsets(
    @CurrentUser() user: AuthUser,
    @Arg('id', () => ID) id: string,
    @Arg('fractions', () => [Float]) fractions: number[],
    @Arg('seed', () => Int, { defaultValue: 0 }) seed: number,
    @Arg('split', () => String, { nullable: true }) split: string | null,
  ) {
    return this.services.corpora.subsets(user, id, split ?? null, fractions, seed);
  }

  // ---- fields ----

  @FieldResolver(() => User, { nullable: true })
  owner(@Root() corpus: Corpus) {
    return this.services.corpora.ownerOf(corpus.ownerId);
  }

  @FieldResolver(() => [String], { description: 'BIO tags: O, then B-X and I-X for each label X.' })
  bioTags(@Root() corpus: Corpus) {
    return this.services.corpora.tagsOf(corpus);
  }

  @FieldResolver(() => [CorpusSplit])
  splits(@Root() corpus: Corpus) {
    return this.services.corpora.splitsOf(corpus.id);
  }

  // Stored numbers (counted once per corpus and split assignment, off the event loop): the cost is
  // that of reading them, plus a little for the one count a corpus may still need.
  @FieldResolver(() => CorpusStats, { complexity: ({ childComplexity }) => 5 + childComplexity })
  stats(@Root() corpus: Corpus) {
    return this.services.corpora.stats(corpus);
  }

  @FieldResolver(() => DocumentConnection)
  documents(@Root() corpus: Corpus, @Args(() => PageArgs) page: PageArgs, @Arg('split', () => String, { nullable: true }) split: string | null) {
    return this.services.corpora.documentsPage(corpus.id, split ?? null, page);
  }
}

@Resolver(() => Document)
export class DocumentResolver {
  constructor(private readonly services: Services) {}

  @Authorized()
  @Query(() => Document)
  async document(@CurrentUser() user: AuthUser, @Arg('id', () => ID) id: string) {
    return this.services.corpora.requireReadableDocument(user, id);
  }

  @FieldResolver(() => [Annotation])
  annotations(
    @Root() document: Document,
    @Arg('source', () => AnnotationSourceEnum, { nullable: true }) source: AnnotationSourceEnum | null,
    @Arg('modelId', () => ID, { nullable: true }) modelId: string | null,
  ) {
    return this.services.corpora.annotationsOf(document.id, source ?? null, modelId ?? null);
  }
}
