/**
 * Who may read what, as database filters: the one statement of the privacy model
 * (docs/security.md). PHI follows lineage: a corpus or model that holds PHI, or was made from
 * something that does, is private; admins get no exception.
 */
import type { Prisma } from '../generated/prisma/client.js';
import type { AuthUser } from './auth.types.js';

/** PHI corpora: their owner and the people they are shared with. A corpus still being saved: nobody. */
export function corpusVisibleWhere(user: AuthUser): Prisma.CorpusWhereInput {
  return { saving: false, OR: [{ containsPhi: false }, { ownerId: user.id }, { shares: { some: { userId: user.id } } }] };
}

/** PHI models (trained on PHI, or from a PHI base, tokenizer or annotator): their owner only. */
export function modelVisibleWhere(user: AuthUser): Prisma.ModelWhereInput {
  return { OR: [{ ownerId: user.id }, { containsPhi: false }] };
}
