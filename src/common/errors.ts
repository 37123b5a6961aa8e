/**
 * Every error a client may see: a stable `code` to branch on and a message a person can act on.
 * Anything else thrown inside a resolver is logged (without document text) and reported as
 * INTERNAL_SERVER_ERROR with no details.
 */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'QUERY_TOO_COMPLEX'
  | 'INVALID_STATE'
  | 'INTERNAL_SERVER_ERROR';

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** JSON-safe details for the client (field names, issue lists); never document text. */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }

  /** graphql-js copies this onto the GraphQLError it wraps us in (used for WebSocket errors). */
  get extensions(): Record<string, unknown> {
    return { code: this.code, ...this.details };
  }
}

export const notFound = (what: string, id: string) =>
  new AppError('NOT_FOUND', `${what} ${id} does not exist or you may not see it.`);

export const badInput = (field: string, message: string) =>
  new AppError('BAD_USER_INPUT', `${field}: ${message}`, { field });
