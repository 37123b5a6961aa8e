/** A real GraphQL client over HTTP (fetch) and WebSocket (graphql-ws + ws), as a script would use. */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface GraphQLResponse<T = any> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string; [key: string]: unknown } }[];
}

export class ApiClient {
  constructor(
    readonly url: string,
    readonly token: string | null,
  ) {}

  async raw<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<T> & { status: number }> {
    const response = await fetch(`${this.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return { status: response.status, ...((await response.json()) as GraphQLResponse<T>) };
  }

  /** Returns data, or throws with the errors' codes and messages. */
  async query<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const result = await this.raw<T>(query, variables);
    if (result.errors?.length) {
      throw new GraphQLRequestError(result.errors);
    }
    return result.data as T;
  }

  /** The first error's code, for asserting on failures. */
  async errorCode(query: string, variables: Record<string, unknown> = {}): Promise<string | undefined> {
    const result = await this.raw(query, variables);
    return result.errors?.[0]?.extensions?.code;
  }

  ws(): Client {
    return createClient({
      url: this.url.replace(/^http/, 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: this.token ? { Authorization: `Bearer ${this.token}` } : {},
      retryAttempts: 0,
      lazy: true,
    });
  }

  /**
   * Collects subscription results until the stream completes (or `until` returns true). `onFirst`
   * runs at the first result: for jobEvents (which opens with the job's current state) the moment
   * the subscription is registered, so a test can start the work only then.
   */
  async collect<T = any>(client: Client, query: string, variables: Record<string, unknown>, until?: (item: T) => boolean, onFirst?: () => void): Promise<T[]> {
    const items: T[] = [];
    const iterator = client.iterate<T>({ query, variables });
    try {
      for await (const result of iterator) {
        if (result.errors?.length) throw new GraphQLRequestError(result.errors as never);
        items.push(result.data as T);
        if (items.length === 1) onFirst?.();
        if (until?.(result.data as T)) {
          await iterator.return?.();
          break;
        }
      }
    } catch (error) {
      // graphql-ws rejects with the operation's error list, or with the socket's close event.
      if (Array.isArray(error)) throw new GraphQLRequestError(error);
      throw error;
    }
    return items;
  }

  async waitForJob(id: string, timeoutMs = 120_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { job } = await this.query(`query($id: ID!) { job(id: $id) { id status progress result error errorCode message attempts } }`, { id });
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(job.status)) return job;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`job ${id} did not finish in ${timeoutMs} ms`);
  }
}

export class GraphQLRequestError extends Error {
  constructor(readonly errors: { message: string; extensions?: { code?: string } }[]) {
    super(errors.map((e) => `${e.extensions?.code}: ${e.message}`).join('; '));
  }
  get code() {
    return this.errors[0]?.extensions?.code;
  }
}
