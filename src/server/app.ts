/**
 * The HTTP server: GraphQL over HTTP (Apollo) and WebSocket (graphql-ws) on the same port and
 * path, the IDE, export downloads and a health check.
 */
import http from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { unwrapResolverError } from '@apollo/server/errors';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { GraphQLError, parse, specifiedRules, validate, type DocumentNode, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { AppError } from '../common/errors.js';
import { renderPng, renderSvg } from '../plots/charts.js';
import { log } from '../common/log.js';
import type { AuthUser } from '../auth/auth.types.js';
import { buildAppSchema } from './schema.js';
import type { GraphQLContext } from './context.js';
import type { Services } from './services.js';
import { depthLimitRule, queryCost } from './limits.js';
import { ideRouter } from './ide.js';

export interface RunningServer {
  url: string;
  httpServer: http.Server;
  stop(): Promise<void>;
}

export async function startServer(services: Services): Promise<RunningServer> {
  const { config } = services;
  const schema = await buildAppSchema(services);
  const app = express();
  const httpServer = http.createServer(app);
  // Node closes idle keep-alive sockets after 5 s; a client sending on one just as it closes gets
  // ECONNRESET (seen while a long database write held the event loop). Keep them like common proxies do.
  httpServer.keepAliveTimeout = 65_000;
  httpServer.headersTimeout = 66_000;

  const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql', maxPayload: 1024 * 1024 });
  const wsCleanup = useServer<Record<string, unknown>, { user?: AuthUser; authorization?: string }>(
    {
      schema,
      // The same limits as over HTTP: depth as a validation rule, cost before the operation runs.
      validate: (schema, document) => validate(schema, document, [...specifiedRules, depthLimitRule(config.maxQueryDepth)]),
      onSubscribe: async (ctx, _id, payload) => {
        // The token is checked again for every operation, as over HTTP: a revoked token (or a
        // changed role) takes effect on open sockets too. A revoked one also ends the socket (4401),
        // and with it the subscriptions it started before.
        try {
          const user = await services.auth.authenticate(ctx.extra.authorization);
          if (user) ctx.extra.user = user;
        } catch (error) {
          if (!(error instanceof AppError) || error.code !== 'UNAUTHENTICATED') throw error;
          setImmediate(() => ctx.extra.socket.close(4401, error.message));
          return [new GraphQLError(error.message, { extensions: { code: 'UNAUTHENTICATED' } })];
        }
        let document;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [error as GraphQLError];
        }
        const tooCostly = costError(schema, document, payload.variables ?? {}, payload.operationName ?? undefined, config.maxQueryComplexity);
        return tooCostly ? [tooCostly] : undefined;
      },
      onConnect: async (ctx) => {
        // Every subscription needs a token: connection_init's payload carries it as "Authorization".
        const header = (ctx.connectionParams?.Authorization ?? ctx.connectionParams?.authorization) as string | undefined;
        // 4401 with the reason, like HTTP's 401 (graphql-ws's own refusal is a bare 4403 "Forbidden").
        const refuse = (reason: string) => {
          ctx.extra.socket.close(4401, reason);
          return false;
        };
        try {
          const user = await services.auth.authenticate(header);
          if (!user) return refuse('Send your API token as connectionParams {"Authorization": "Bearer dsk_..."}.');
          ctx.extra.user = user;
          ctx.extra.authorization = header;
          return true;
        } catch (error) {
          if (error instanceof AppError && error.code === 'UNAUTHENTICATED') return refuse(error.message);
          return false;
        }
      },
      context: (ctx): GraphQLContext => ({ user: ctx.extra.user ?? null, services }),
      onError: (_ctx, _id, _payload, errors) => {
        for (const error of errors) log('warn', 'ws.operation_error', { code: String(error.extensions?.code ?? 'UNKNOWN') });
      },
    },
    wsServer,
  );

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection: true,
    includeStacktraceInErrorResponses: false,
    // main.ts stops everything in order on SIGINT/SIGTERM; Apollo's own handler would race it.
    stopOnTerminationSignals: false,
    validationRules: [depthLimitRule(config.maxQueryDepth)],
    formatError,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              await wsCleanup.dispose();
            },
          };
        },
      },
      costLimitPlugin(schema, config.maxQueryComplexity),
      requestErrorStatusPlugin(),
    ],
  });
  await apollo.start();

  app.get('/health', (_req, res) => {
    res.json({ ok: true, database: services.database.kind });
  });
  app.use(ideRouter());
  // Downloads need the same bearer token as the API; the services check access.
  const download = (route: string, fetch: (user: AuthUser, id: string, query: Record<string, unknown>, params: Record<string, string>) => Promise<{ bytes: Uint8Array; fileName: string; contentType?: string }>) =>
    app.get(route, async (req, res) => {
      try {
        const user = await services.auth.authenticate(req.headers.authorization);
        if (!user) throw new AppError('UNAUTHENTICATED', 'Send your API token: "Authorization: Bearer dsk_…".');
        const file = await fetch(user, String(req.params.id), req.query as Record<string, unknown>, req.params as Record<string, string>);
        res.setHeader('Content-Type', file.contentType ?? 'application/zip');
        res.setHeader('Content-Disposition', `attachment; filename="${file.fileName}"`);
        res.send(Buffer.from(file.bytes));
      } catch (error) {
        const appError = error instanceof AppError ? error : new AppError('INTERNAL_SERVER_ERROR', 'Internal error.');
        if (!(error instanceof AppError)) log('error', 'download.failed', { route, errorClass: (error as Error)?.constructor?.name });
        const status = { UNAUTHENTICATED: 401, FORBIDDEN: 403, NOT_FOUND: 404, INVALID_STATE: 409, BAD_USER_INPUT: 400 }[appError.code as string] ?? 500;
        res.status(status).json({ errors: [{ message: appError.message, extensions: { code: appError.code } }] });
      }
    });
  download('/exports/:id', (user, id) => services.corpora.exportDownload(user, id));
  download('/models/:id/download', (user, id) => services.models.download(user, id));
  for (const format of ['svg', 'png', 'json'] as const) {
    download(`/ablations/:id/plots/:kind.${format}`, async (user, id, query, params) => {
      const kind = String(params.kind).toUpperCase();
      if (!['SCORES', 'GAP', 'PRIVACY'].includes(kind)) throw new AppError('NOT_FOUND', `No plot "${params.kind}"; the plots are scores, gap and privacy.`);
      const spec = await services.ablations.plot(user, id, kind as never, typeof query.metric === 'string' ? query.metric : 'token_f1', typeof query.axis === 'string' ? query.axis : null);
      const fileName = `${id}-${kind.toLowerCase()}.${format}`;
      if (format === 'json') return { bytes: Buffer.from(JSON.stringify(spec, null, 2)), fileName, contentType: 'application/json' };
      if (format === 'svg') return { bytes: Buffer.from(await renderSvg(spec)), fileName, contentType: 'image/svg+xml' };
      return { bytes: await renderPng(spec), fileName, contentType: 'image/png' };
    });
  }
  for (const format of ['csv', 'json'] as const) {
    download(`/ablations/:id/table.${format}`, (user, id, query) => services.ablations.tableFile(user, id, typeof query.metric === 'string' ? query.metric : 'token_f1', format));
  }
  // base64 grows uploads by 4/3; the service checks the decoded size against MAX_UPLOAD_BYTES.
  const bodyLimit = Math.ceil(config.maxUploadBytes * 1.34) + 64 * 1024;
  app.use(
    '/graphql',
    express.json({ limit: bodyLimit }),
    (error: Error & { type?: string }, _req: express.Request, res: express.Response, next: express.NextFunction) => {
      if (error.type === 'entity.too.large') {
        res.status(413).json({
          errors: [{ message: `The request body is over ${bodyLimit} bytes (MAX_UPLOAD_BYTES=${config.maxUploadBytes} before base64).`, extensions: { code: 'PAYLOAD_TOO_LARGE' } }],
        });
      } else if (error.type === 'entity.parse.failed') {
        res.status(400).json({ errors: [{ message: 'The request body is not valid JSON.', extensions: { code: 'BAD_REQUEST' } }] });
      } else next(error);
    },
    expressMiddleware(apollo, {
      context: async ({ req }) => ({ user: await authenticateHttp(services, req.headers.authorization), services }),
    }),
  );

  await new Promise<void>((resolve) => httpServer.listen(config.port, config.host, resolve));
  const address = httpServer.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host}:${port}`;
  log('info', 'server.listening', { url: `${url}/graphql`, database: services.database.kind });
  return {
    url,
    httpServer,
    async stop() {
      await apollo.stop();
    },
  };
}

/** AppErrors keep their code and message; unexpected errors are logged and hidden. */
function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  let original = unwrapResolverError(error);
  // Errors thrown in auth checkers and subscriptions arrive wrapped in one or more GraphQLErrors.
  while (original instanceof GraphQLError && original.originalError) original = original.originalError;
  if (original instanceof AppError) {
    return { message: original.message, path: formatted.path, extensions: { code: original.code, ...original.details } };
  }
  if (original instanceof GraphQLError && original.extensions?.code && original.extensions.code !== 'INTERNAL_SERVER_ERROR') {
    return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: { code: original.extensions.code } };
  }
  // Variable coercion errors (a missing $id, first: "abc", an unknown enum value) reach us without a code.
  if (formatted.path === undefined && /^Variable "\$/.test(formatted.message)) {
    return { message: formatted.message, locations: formatted.locations, extensions: { code: 'BAD_USER_INPUT' } };
  }
  if (formatted.extensions?.code && formatted.extensions.code !== 'INTERNAL_SERVER_ERROR') {
    return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: { code: formatted.extensions.code } };
  }
  const errorId = Math.random().toString(36).slice(2, 10);
  // The message may quote data; logs get the error class and where it happened only.
  log('error', 'graphql.internal_error', { errorId, errorClass: (original as Error)?.constructor?.name, path: formatted.path?.join('.') });
  return { message: `Internal error (id ${errorId}); the server log has details.`, path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}

function costLimitPlugin(schema: GraphQLSchema, maxCost: number): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          const tooCostly = costError(schema, document, request.variables ?? {}, request.operationName ?? undefined, maxCost);
          if (tooCostly) throw tooCostly;
        },
      };
    },
  };
}

/** QUERY_TOO_COMPLEX when the operation costs more than the limit (HTTP and WebSocket alike). */
function costError(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown>, operationName: string | undefined, maxCost: number): GraphQLError | null {
  const cost = queryCost(schema, document, variables, operationName);
  if (cost <= maxCost) return null;
  return new GraphQLError(`The query costs ${cost}; the limit is ${maxCost} (MAX_QUERY_COMPLEXITY). Ask for smaller pages (first) or fewer fields.`, {
    extensions: { code: 'QUERY_TOO_COMPLEX' },
  });
}

/** A bad or revoked token is HTTP 401 with a Bearer challenge (RFC 6750); no token at all is left to @Authorized. */
async function authenticateHttp(services: Services, header: string | undefined): Promise<AuthUser | null> {
  try {
    return await services.auth.authenticate(header);
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== 'UNAUTHENTICATED') throw error;
    throw new GraphQLError(error.message, {
      extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: new Map([['www-authenticate', 'Bearer realm="deid-synth", error="invalid_token"']]) } },
    });
  }
}

/** Codes of requests refused before they ran: GraphQL over HTTP answers them with 400, not 200 or 500. */
const REQUEST_ERROR_CODES = new Set(['BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED', 'QUERY_TOO_COMPLEX']);

function requestErrorStatusPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const { data, errors } = response.body.singleResult;
          if (data == null && errors?.length && errors.every((e) => REQUEST_ERROR_CODES.has(String(e.extensions?.code)))) response.http.status = 400;
        },
      };
    },
  };
}
