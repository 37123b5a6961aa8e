import { GraphQLJSON } from 'graphql-scalars';
export { GraphQLJSON as JSONScalar };
