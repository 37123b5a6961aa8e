/** Query depth and cost limits: one deep or wide query must not be able to stall the API. */
import { GraphQLError, Kind, type ASTVisitor, type FragmentDefinitionNode, type GraphQLSchema, type DocumentNode, type SelectionSetNode, type ValidationContext } from 'graphql';
import { createRequire } from 'node:module';
import type * as QueryComplexity from 'graphql-query-complexity';

// Its ESM build imports graphql/index.mjs, a second copy of graphql next to the CommonJS one that
// type-graphql builds the schema with ("Cannot use GraphQLObjectType from another module"); the CommonJS build shares ours.
const { getComplexity, simpleEstimator, fieldExtensionsEstimator } = createRequire(import.meta.url)('graphql-query-complexity') as typeof QueryComplexity;

export function depthLimitRule(maxDepth: number) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    const depthOf = (set: SelectionSetNode | undefined, seen: Set<string>): number => {
      if (!set) return 0;
      let deepest = 0;
      for (const selection of set.selections) {
        if (selection.kind === Kind.FIELD) {
          if (selection.name.value.startsWith('__')) continue;
          deepest = Math.max(deepest, selection.selectionSet ? 1 + depthOf(selection.selectionSet, seen) : 1);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          deepest = Math.max(deepest, depthOf(selection.selectionSet, seen));
        } else {
          const name = selection.name.value;
          if (seen.has(name)) continue;
          deepest = Math.max(deepest, depthOf(fragments.get(name)?.selectionSet, new Set([...seen, name])));
        }
      }
      return deepest;
    };
    return {
      OperationDefinition(node) {
        const depth = depthOf(node.selectionSet, new Set());
        if (depth > maxDepth) {
          context.reportError(
            new GraphQLError(`The query is ${depth} levels deep; the limit is ${maxDepth} (MAX_QUERY_DEPTH). Split it into several queries.`, {
              extensions: { code: 'QUERY_TOO_COMPLEX' },
            }),
          );
        }
      },
    };
  };
}

/** Cost = 1 per field, multiplied by the page size (`first`) of list fields below it. */
export function queryCost(schema: GraphQLSchema, query: DocumentNode, variables: Record<string, unknown>, operationName?: string): number {
  return getComplexity({
    schema,
    query,
    variables,
    operationName,
    estimators: [
      fieldExtensionsEstimator(),
      ({ args, childComplexity }) => (typeof args.first === 'number' ? Math.max(1, args.first) * (1 + childComplexity) : undefined),
      simpleEstimator({ defaultComplexity: 1 }),
    ],
  });
}
