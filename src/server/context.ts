import { createParameterDecorator, type AuthChecker } from 'type-graphql';
import { AppError } from '../common/errors.js';
import type { AuthUser } from '../auth/auth.types.js';
import type { Services } from './services.js';

export interface GraphQLContext {
  user: AuthUser | null;
  /** For subscriptions, whose subscribe functions are static and get no resolver instance. */
  services: Services;
}

/** Injects the authenticated user; every operation needs one. */
export function CurrentUser() {
  return createParameterDecorator<GraphQLContext>(({ context }) => requireUser(context));
}

export function requireUser(context: GraphQLContext): AuthUser {
  if (!context.user) throw new AppError('UNAUTHENTICATED', 'Send an API token: "Authorization: Bearer dsk_…" (README: "Access").');
  return context.user;
}

/** `@Authorized('ADMIN')` etc.: role checks; object-level checks (who may read a corpus) live in services. */
export const authChecker: AuthChecker<GraphQLContext> = ({ context }, roles) => {
  const user = requireUser(context);
  if (roles.length > 0 && !roles.includes(user.role)) {
    throw new AppError('FORBIDDEN', `This needs the ${roles.join(' or ')} role; you are ${user.role}.`);
  }
  return true;
};

export type { Services };
