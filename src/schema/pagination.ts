/**
 * GraphQL types of the cursor pagination every list query shares (src/common/pagination.ts runs it):
 * page arguments, `XConnection` / `XEdge` types and `XOrderBy` inputs.
 */
import { ArgsType, Field, InputType, Int, ObjectType, registerEnumType, type ClassType } from 'type-graphql';
import { MAX_PAGE_SIZE, SortDirection, type PageArgs as PageArgsShape } from '../common/pagination.js';

export { SortDirection };
registerEnumType(SortDirection, { name: 'SortDirection' });

@ArgsType()
export class PageArgs implements PageArgsShape {
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
