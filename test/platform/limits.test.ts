/** Query depth, cost and upload size limits, and error hygiene, on a server started with small limits. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { ApiClient } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe('request limits', () => {
  let server: TestServer;
  let admin: ApiClient;

  beforeAll(async () => {
    server = await startTestServer('embedded', { MAX_QUERY_DEPTH: '5', MAX_QUERY_COMPLEXITY: '300', MAX_UPLOAD_BYTES: '2000' });
    admin = new ApiClient(server.url, server.adminToken);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('should refuse a query deeper than MAX_QUERY_DEPTH, naming the limit', async () => {
    const result = await admin.raw(`{ corpora { edges { node { documents { edges { node { id } } } } } } }`);
    expect(result.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(result.errors?.[0]?.message).toMatch(/MAX_QUERY_DEPTH/);
    expect((await admin.raw(`{ corpora { edges { node { id } } } }`)).errors).toBeUndefined();
  });

  it('should refuse a query whose page sizes multiply past MAX_QUERY_COMPLEXITY', async () => {
    const result = await admin.raw(`{ corpora(first: 200) { edges { node { id name labels } } } }`);
    expect(result.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect((await admin.raw(`{ corpora(first: 5) { edges { node { id name labels } } } }`)).errors).toBeUndefined();
  });

  it('should apply the same depth and cost limits over WebSocket', async () => {
    const ws = admin.ws();
    // The errors (or the data) of one operation over graphql-ws.
    const run = (query: string) =>
      new Promise<{ errors?: { message: string; extensions?: { code?: string } }[]; data?: unknown }>((resolve) => {
        let data: unknown;
        ws.subscribe({ query }, { next: (value) => (data = value.data ?? data), error: (errors) => resolve({ errors: errors as never }), complete: () => resolve({ data }) });
      });
    const deep = await run(`{ corpora { edges { node { documents { edges { node { id } } } } } } }`);
    expect(deep.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(deep.errors?.[0]?.message).toMatch(/MAX_QUERY_DEPTH/);
    const costly = await run(`{ corpora(first: 200) { edges { node { id name labels } } } }`);
    expect(costly.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    expect(costly.errors?.[0]?.message).toMatch(/MAX_QUERY_COMPLEXITY/);
    expect(await run(`{ corpora(first: 5) { totalCount } }`)).toEqual({ data: { corpora: { totalCount: 0 } } });
    await ws.dispose();
  });

  it('should answer requests refused before they run with the GraphQL-over-HTTP status and a code', async () => {
    const missing = await admin.raw(`query($id: ID!) { corpus(id: $id) { id } }`);
    expect([missing.status, missing.errors?.[0]?.extensions?.code]).toEqual([400, 'BAD_USER_INPUT']);
    expect(missing.errors?.[0]?.message).toMatch(/\$id/);
    const wrongType = await admin.raw(`query($f: Int) { corpora(first: $f) { totalCount } }`, { f: 'abc' });
    expect([wrongType.status, wrongType.errors?.[0]?.extensions?.code]).toEqual([400, 'BAD_USER_INPUT']);
    const noFileName = await admin.raw(`mutation($i: ImportCorpusInput!) { importCorpus(input: $i) { id } }`, { i: { name: 'x', contentBase64: 'eA==' } });
    expect([noFileName.status, noFileName.errors?.[0]?.extensions?.code]).toEqual([400, 'BAD_USER_INPUT']);
    expect(noFileName.errors?.[0]?.message).toMatch(/fileName/);
    const costly = await admin.raw(`{ corpora(first: 200) { edges { node { id name labels } } } }`);
    expect([costly.status, costly.errors?.[0]?.extensions?.code]).toEqual([400, 'QUERY_TOO_COMPLEX']);
    const response = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer dsk_revoked-or-unknown' }, body: JSON.stringify({ query: '{ corpora { totalCount } }' }) });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect((await response.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(server.output()).not.toMatch(/internal_error/);
  });

  it('should close a WebSocket with a bad or missing token with 4401 and the reason', async () => {
    for (const token of ['dsk_revoked-or-unknown', null]) {
      const ws = new ApiClient(server.url, token).ws();
      const closed = await new Promise<{ code: number; reason: string }>((resolve) => {
        ws.subscribe({ query: '{ me { id } }' }, { next: () => {}, error: (event) => resolve(event as { code: number; reason: string }), complete: () => resolve({ code: 0, reason: 'completed' }) });
      });
      await ws.dispose();
      expect(closed.code).toBe(4401);
      expect(closed.reason).toMatch(token ? /unknown or revoked/ : /API token/);
    }
  });

  it('should recheck the token of an open WebSocket for every operation, and end it once the token is revoked', async () => {
    const { createUser } = await admin.query(`mutation { createUser(input: { email: "ws@test.local", name: "ws", role: RESEARCHER }) { id } }`);
    const { createApiToken } = await admin.query(`mutation($id: ID!) { createApiToken(userId: $id, name: "ws") { id secret } }`, { id: createUser.id });
    // One socket for the whole test (not lazy: it stays open between operations).
    const ws = createClient({ url: server.url.replace(/^http/, 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { Authorization: `Bearer ${createApiToken.secret}` }, lazy: false, retryAttempts: 0 });
    let connections = 0;
    ws.on('connected', () => connections++);
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('closed', (event) => resolve(event as { code: number; reason: string })));
    const run = (query: string) =>
      new Promise<{ errors?: { message: string; extensions?: { code?: string } }[]; data?: unknown }>((resolve) => {
        let data: unknown;
        ws.subscribe({ query }, { next: (value) => (data = value.data ?? data), error: (errors) => resolve({ errors: errors as never }), complete: () => resolve({ data }) });
      });
    expect(await run(`{ me { id } }`)).toEqual({ data: { me: { id: createUser.id } } });
    const user = new ApiClient(server.url, createApiToken.secret);
    expect(await user.query(`mutation($id: ID!) { revokeApiToken(id: $id) }`, { id: createApiToken.id })).toEqual({ revokeApiToken: true });
    const refused = await run(`{ me { id } }`);
    expect(refused.errors?.[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' }, message: expect.stringMatching(/unknown or revoked/) });
    expect(await closed).toMatchObject({ code: 4401, reason: expect.stringMatching(/unknown or revoked/) });
    expect(connections).toBe(1);
    await ws.dispose();
  });

  it('should answer schema introspection without a token, and nothing else', async () => {
    const anonymous = new ApiClient(server.url, null);
    expect((await anonymous.query(`{ __schema { queryType { name } } }`)).__schema.queryType.name).toBe('Query');
    expect(await anonymous.errorCode(`{ corpora { totalCount } }`)).toBe('UNAUTHENTICATED');
    expect(await anonymous.errorCode(`{ jobs { totalCount } }`)).toBe('UNAUTHENTICATED');
  });

  it('should refuse an upload over MAX_UPLOAD_BYTES before starting a job', async () => {
    const big = Buffer.alloc(3000, 'a').toString('base64');
    const result = await admin.raw(`mutation($c: String!) { importCorpus(input: { name: "big", fileName: "a.txt", format: TEXT, contentBase64: $c }) { id } }`, { c: big });
    expect(result.errors?.[0]?.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await admin.query(`{ jobs { totalCount } }`)).jobs.totalCount).toBe(0);
  });

  it('should list experiments, ablations and synthetic datasets (empty until the pipeline makes some)', async () => {
    const data = await admin.query(`{ experiments { totalCount } ablations { totalCount } syntheticDatasets { totalCount } }`);
    expect(data).toEqual({ experiments: { totalCount: 0 }, ablations: { totalCount: 0 }, syntheticDatasets: { totalCount: 0 } });
    for (const what of ['experiment', 'ablation', 'syntheticDataset']) {
      expect(await admin.errorCode(`{ ${what}(id: "00000000-0000-0000-0000-000000000000") { id } }`)).toBe('NOT_FOUND');
    }
  });

  it('should answer malformed queries with a validation code and no stack trace', async () => {
    const result = await admin.raw(`{ corpora { nope } }`);
    expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(JSON.stringify(result)).not.toMatch(/stacktrace|at .*\.js:\d+/);
  });
});
