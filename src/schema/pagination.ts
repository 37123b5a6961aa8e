/**
 * Relay-style cursor pagination shared by every list query: `first` + `after`, an `orderBy`,
 * and a connection with `edges { cursor node }`, `pageInfo` and `totalCount`.
 */
import { ArgsType, Field, InputType, Int, ObjectType, registerEnumType, type ClassType } from 'type-graphql';
import { badInput } from '../common/errors.js';

export enum SortDirection {
  ASC = 'asc',
  DESC = 'desc',
}
registerEnumType(SortDirection, { name: 'SortDirection' });

export const MAX_PAGE_SIZE = 200;

@ArgsType()
export class PageArgs {
  @Field(() => Int, { nullable: true, description: `Page size, 1–${MAX_PAGE_SIZE} (default 50).` })
  first?: number;

  @Field(() => String, { nullable: true, description: 'The endCursor of the previous page.' })
  after?: string;
}

@ObjectType()
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfo;
  totalCount: number;
}

/** `XConnection` and `XEdge` object types for a node type. */
export function ConnectionType<T extends object>(node: ClassType<T>, name: string) {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field(() => String) cursor!: string;
    @Field(() => node) node!: T;
  }
  @ObjectType(`${name}Connection`)
  class ConnectionClass {
    @Field(() => [Edge]) edges!: Edge[];
    @Field(() => PageInfo) pageInfo!: PageInfo;
    @Field(() => Int) totalCount!: number;
  }
  return ConnectionClass;
}

/** An orderBy input type for a set of sortable fields. */
export function OrderByInput<E extends Record<string, string>>(fields: E, name: string, defaultField: E[keyof E]) {
  @InputType(`${name}OrderBy`)
  class OrderBy {
    @Field(() => fields, { defaultValue: defaultField }) field!: E[keyof E];
    @Field(() => SortDirection, { defaultValue: SortDirection.DESC }) direction!: SortDirection;
  }
  return OrderBy;
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
