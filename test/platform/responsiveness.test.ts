/**
 * One user's heavy request must not stall the API for the others: many aliases of corpus.stats
 * share one stored count, and a large import on the embedded database (PGlite runs on the API's
 * thread) is written in batches that let other requests through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../support/client.js';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';
import { base64, meddocanZip } from '../support/meddocan.js';

const IMPORT = `mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`;
const EVENTS = `subscription($id: ID!) { jobEvents(id: $id) { seq kind status message } }`;
const STATS = `stats { documents characters tokens mentions labels { label mentions } splits { split documents tokens mentions } }`;
// MEDDOCAN train as the shared copy holds it.
const TRAIN = { documents: 500, tokens: 267_344, mentions: 11_333 };

describe.each(DATABASES)('responsiveness (%s database)', (database) => {
  let server: TestServer;
  let alice: ApiClient;
  let bob: ApiClient;

  async function userClient(admin: ApiClient, email: string): Promise<ApiClient> {
    const { createUser } = await admin.query(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, { input: { email, name: email, role: 'RESEARCHER' } });
    const { createApiToken } = await admin.query(`mutation($id: ID!) { createApiToken(userId: $id, name: "test") { secret } }`, { id: createUser.id });
    return new ApiClient(server.url, createApiToken.secret);
  }

  /** Runs work while bob pings `{ me { id } }` back to back; returns its result and every ping's start and duration (ms). */
  async function whilePinging<T>(work: () => Promise<T>): Promise<{ result: T; pings: { at: number; ms: number }[] }> {
    const pings: { at: number; ms: number }[] = [];
    let done = false;
    const pinger = (async () => {
      while (!done) {
        const at = performance.now();
        expect((await bob.query(`{ me { id } }`)).me.id).toBeTruthy();
        pings.push({ at, ms: performance.now() - at });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    try {
      return { result: await work(), pings };
    } finally {
      done = true;
      await pinger;
    }
  }

  beforeAll(async () => {
    // LOG_LEVEL=info: the log says each time corpus.stats is counted.
    server = await startTestServer(database, { LOG_LEVEL: 'info' });
    const admin = new ApiClient(server.url, server.adminToken);
    alice = await userClient(admin, 'alice@test.local');
    bob = await userClient(admin, 'bob@test.local');
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('should count corpus.stats once per corpus and split assignment, however many ask at once, while others get answers', async () => {
    const { importCorpus } = await alice.query(IMPORT, { input: { name: 'train', fileName: 'm.zip', contentBase64: base64(meddocanZip({ train: undefined }).bytes) } });
    const corpusId = (await alice.waitForJob(importCorpus.id)).result.corpusId as string;
    const counts = () => server.output().split('\n').filter((line) => line.includes('"corpus.stats_counted"') && line.includes(corpusId)).length;
    const many = `query($id: ID!) { ${Array.from({ length: 100 }, (_, i) => `s${i}: corpus(id: $id) { ${STATS} }`).join(' ')} }`;
    // Two requests of 100 aliases each, at once.
    const askMany = () => Promise.all([alice.query(many, { id: corpusId }), alice.query(many, { id: corpusId })]).then((answers) => answers.flatMap((data) => Object.values(data) as { stats: any }[]));

    const first = await whilePinging(askMany);
    expect(first.result).toHaveLength(200);
    for (const { stats } of first.result) {
      expect(stats).toMatchObject(TRAIN);
      expect(stats).toEqual(first.result[0]!.stats);
    }
    // Counted at import, in the parsing thread.
    expect(counts()).toBe(0);

    // New splits clear the stored numbers: the next requests share one new count.
    const { splitCorpus } = await alice.query(`mutation($id: ID!) { splitCorpus(id: $id, seed: 1, fractions: [{ split: "train", fraction: 0.8 }, { split: "dev", fraction: 0.2 }]) { split documents } }`, { id: corpusId });
    const second = await whilePinging(askMany);
    expect(counts()).toBe(1);
    for (const { stats } of second.result) expect(stats).toEqual(second.result[0]!.stats);
    const stats = second.result[0]!.stats;
    expect(stats).toMatchObject({ ...TRAIN, characters: first.result[0]!.stats.characters });
    expect(stats.splits.map((s: { split: string; documents: number }) => ({ split: s.split, documents: s.documents }))).toEqual(splitCorpus);
    expect(stats.splits.reduce((sum: number, s: { mentions: number }) => sum + s.mentions, 0)).toBe(TRAIN.mentions);
    expect(stats.splits.reduce((sum: number, s: { tokens: number }) => sum + s.tokens, 0)).toBe(TRAIN.tokens);

    // Another user's requests kept being answered meanwhile (100 aliases once took 13 s, and a ping 4 s).
    for (const { pings } of [first, second]) {
      expect(pings.length).toBeGreaterThan(0);
      expect(Math.max(...pings.map((p) => p.ms))).toBeLessThan(3000);
    }
    // And asking again counts nothing.
    await askMany();
    expect(counts()).toBe(1);
  });
  it('should answer other requests while an import is being saved, and say so before the save ends', async () => {
    const { importCorpus } = await alice.query(IMPORT, { input: { name: 'train and dev', fileName: 'm.zip', contentBase64: base64(meddocanZip({ train: undefined, dev: undefined }).bytes) } });
    // Parsing 750 documents takes a while: the subscription is in place long before the save starts.
    const events: { at: number; status: string; message: string | null }[] = [];
    const ws = alice.ws();
    const { pings } = await whilePinging(
      () =>
        new Promise<void>((resolve, reject) =>
          ws.subscribe({ query: EVENTS, variables: { id: importCorpus.id } }, { next: (value) => events.push({ at: performance.now(), ...(value.data as any).jobEvents }), error: reject, complete: resolve }),
        ),
    );
    await ws.dispose();
    const { job } = await alice.query(`query($id: ID!) { job(id: $id) { status logs { message } } }`, { id: importCorpus.id });
    expect(job.status).toBe('SUCCEEDED');
    const savedIn = Number(/^Saved in ([\d.]+) s\.$/.exec(job.logs.map((l: { message: string }) => l.message).find((m: string) => m.startsWith('Saved in')))![1]) * 1000;
    const saving = events.find((e) => e.message?.startsWith('Saving 750 documents'))!;
    const end = events.at(-1)!;
    expect(end.status).toBe('SUCCEEDED');
    // "Saving" arrives when the save starts, not with its end.
    expect(end.at - saving.at).toBeGreaterThan(savedIn / 2);
    // Another user's requests sent during the save are answered, each much faster than the save.
    const during = pings.filter((p) => p.at >= saving.at && p.at < end.at);
    expect(during.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...during.map((p) => p.ms))).toBeLessThan(savedIn / 3);
  });
});
