/**
 * Relay-style cursor pagination for services: `first` + `after`, an order, and a connection with
 * `edges { cursor node }`, `pageInfo` and `totalCount`. The GraphQL types for it are in
 * src/schema/pagination.ts; nothing here knows GraphQL.
 */
import { badInput } from './errors.js';

export enum SortDirection {
  ASC = 'asc',
  DESC = 'desc',
}

export const MAX_PAGE_SIZE = 200;

export interface PageArgs {
  first?: number;
  after?: string;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}
const encodeCursor = (id: string) => Buffer.from(`c:${id}`).toString('base64url');
function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString();
  if (!text.startsWith('c:')) throw badInput('after', 'is not a cursor from this API; pass pageInfo.endCursor of the previous page.');
  return text.slice(2);
}

type FindMany<T> = (args: { where: unknown; orderBy: unknown; take: number; skip?: number; cursor?: { id: string } }) => Promise<T[]>;

/** Runs one page of a Prisma findMany/count pair with a stable order (field, then id). */
export async function paginate<T extends { id: string }>(
  findMany: FindMany<T>,
  count: (args: { where: unknown }) => Promise<number>,
  where: unknown,
  page: PageArgs,
  order: { field: string; direction: SortDirection },
): Promise<Connection<T>> {
  const first = page.first ?? 50;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) throw badInput('first', `must be between 1 and ${MAX_PAGE_SIZE}.`);
  const orderBy = [{ [order.field]: order.direction }, { id: order.direction }];
  const rows = await findMany({
    where,
    orderBy,
    take: first + 1,
    ...(page.after ? { cursor: { id: decodeCursor(page.after) }, skip: 1 } : {}),
  });
  const nodes = rows.slice(0, first);
  const edges = nodes.map((node) => ({ cursor: encodeCursor(node.id), node }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount: await count({ where }),
  };
}
