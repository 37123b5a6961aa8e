/**
 * Jobs as users see them: cancellation, recovery after a crash, many subscribers, and (with
 * PostgreSQL) separate worker processes whose events reach clients of every API instance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../support/client.js';
import { DATABASES, startSibling, startTestServer, type TestServer } from '../support/server.js';
import { base64, meddocanZip } from '../support/meddocan.js';

const IMPORT = `mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id status } }`;
const EVENTS = `subscription($id: ID!) { jobEvents(id: $id) { seq kind status progress message } }`;
const upload = (splits: Record<string, number | undefined>) => ({ fileName: 'm.zip', contentBase64: base64(meddocanZip(splits).bytes), containsPhi: true });

/** Every subscriber's events: a snapshot, then consecutive seqs, ending with the final status. */
function expectCompleteStream(events: { jobEvents: { seq: number; status: string } }[], finalStatus: string) {
  const seqs = events.map((e) => e.jobEvents.seq);
  for (let i = 2; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! + 1);
  expect(events.at(-1)!.jobEvents.status).toBe(finalStatus);
}

describe('jobs on an API-only server (RUN_JOBS=0, embedded)', () => {
  let server: TestServer;
  let admin: ApiClient;
  beforeAll(async () => {
    server = await startTestServer('embedded', { RUN_JOBS: '0' });
    admin = new ApiClient(server.url, server.adminToken);
  });
  afterAll(async () => server?.stop());

  it('should cancel a queued job at once, and refuse to cancel it twice', async () => {
    const { importCorpus } = await admin.query(IMPORT, { input: { name: 'never', ...upload({ train: 2 }) } });
    expect(importCorpus.status).toBe('QUEUED');
    const { cancelJob } = await admin.query(`mutation($id: ID!) { cancelJob(id: $id) { status } }`, { id: importCorpus.id });
    expect(cancelJob.status).toBe('CANCELLED');
    expect(await admin.errorCode(`mutation($id: ID!) { cancelJob(id: $id) { status } }`, { id: importCorpus.id })).toBe('INVALID_STATE');
    const { jobs } = await admin.query(`{ jobs(status: CANCELLED) { totalCount edges { node { id type durationSeconds } } } }`);
    expect(jobs.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(importCorpus.id);
  });
});

describe.each(DATABASES)('jobs (%s database)', (database) => {
  let server: TestServer;
  let admin: ApiClient;
  beforeAll(async () => {
    server = await startTestServer(database);
    admin = new ApiClient(server.url, server.adminToken);
  });
  afterAll(async () => server?.stop());

  it('should resume a job after the server is killed mid-import, keeping no partial corpus', async () => {
    const { importCorpus } = await admin.query(IMPORT, { input: { name: 'crash', ...upload({ train: undefined, dev: undefined }) } });
    const ws = admin.ws();
    // Kill the process as soon as the job is writing to the database.
    await admin.collect(ws, EVENTS, { id: importCorpus.id }, (e: any) => e.jobEvents.status === 'RUNNING' || e.jobEvents.status === 'SUCCEEDED');
    await server.kill('SIGKILL');
    await ws.dispose().catch(() => {});
    await server.restart();
    admin = new ApiClient(server.url, server.adminToken);
    const job = await admin.waitForJob(importCorpus.id, 60_000).catch((error) => {
      throw new Error(`${error.message}\nserver output after restart:\n${server.output()}`);
    });
    expect(job.status).toBe('SUCCEEDED');
    expect(job.attempts).toBeGreaterThanOrEqual(2);
    const { corpora } = await admin.query(`{ corpora(nameContains: "crash") { totalCount edges { node { id stats { documents mentions } } } } }`);
    expect(corpora.totalCount).toBe(1);
    expect(corpora.edges[0].node.stats.documents).toBe(750);
  });

  it('should deliver every event of a job, in order, to 100 subscribers at once', async () => {
    const { importCorpus } = await admin.query(IMPORT, { input: { name: 'fanout', ...upload({ train: 200 }) } });
    const clients = Array.from({ length: 100 }, () => admin.ws());
    const streams = await Promise.all(clients.map((ws) => admin.collect(ws, EVENTS, { id: importCorpus.id })));
    await Promise.all(clients.map((ws) => ws.dispose()));
    const lastSeq = streams[0]!.at(-1)!.jobEvents.seq;
    for (const events of streams) {
      expectCompleteStream(events, 'SUCCEEDED');
      expect(events.at(-1)!.jobEvents.seq).toBe(lastSeq);
    }
  });

  it('should refuse a subscription without a token, and to a job of another user', async () => {
    const anonymous = new ApiClient(server.url, null).ws();
    await expect(admin.collect(anonymous, EVENTS, { id: 'x' })).rejects.toBeTruthy();
    await anonymous.dispose().catch(() => {});
    const { createUser } = await admin.query(`mutation { createUser(input: { email: "eve@test.local", name: "Eve" }) { id } }`);
    const { createApiToken } = await admin.query(`mutation($id: ID!) { createApiToken(userId: $id, name: "t") { secret } }`, { id: createUser.id });
    const eve = new ApiClient(server.url, createApiToken.secret);
    const { jobs } = await admin.query(`{ jobs(first: 1) { edges { node { id } } } }`);
    const ws = eve.ws();
    await expect(eve.collect(ws, EVENTS, { id: jobs.edges[0].node.id })).rejects.toThrow(/NOT_FOUND|does not exist/);
    await ws.dispose();
  });
});

describe.runIf(DATABASES.includes('postgres'))('workers and API instances sharing PostgreSQL', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('postgres', { RUN_JOBS: '0' });
  });
  afterAll(async () => server?.stop());

  it('should run jobs in a separate worker process and stream its events to clients of every API instance', async () => {
    const admin = new ApiClient(server.url, server.adminToken);
    const second = await startSibling(server, 'serve', { RUN_JOBS: '0' });
    const viaSecond = new ApiClient(second.url, server.adminToken);
    const { importCorpus } = await admin.query(IMPORT, { input: { name: 'distributed', ...upload({ train: 100 }) } });
    const [wsA, wsB] = [admin.ws(), viaSecond.ws()];
    // Nothing runs the job until a worker starts: once both subscribers got the QUEUED state, they see it to the end.
    const registered: Promise<void>[] = [];
    const [streamA, streamB] = [admin.collect(wsA, EVENTS, { id: importCorpus.id }, undefined, signal(registered)), viaSecond.collect(wsB, EVENTS, { id: importCorpus.id }, undefined, signal(registered))];
    const streams = Promise.all([streamA, streamB]);
    await Promise.all(registered);
    const workers = await Promise.all([startSibling(server, 'worker'), startSibling(server, 'worker')]);
    const [a, b] = await streams;
    await Promise.all([wsA.dispose(), wsB.dispose(), second.kill(), ...workers.map((w) => w.kill())]);
    expect(a[0]!.jobEvents.status).toBe('QUEUED');
    expectCompleteStream(a, 'SUCCEEDED');
    expect(b.map((e) => e.jobEvents)).toEqual(a.map((e) => e.jobEvents));
    const job = await admin.waitForJob(importCorpus.id);
    expect(job.result.documents).toBe(100);
  });
});

/** A callback that resolves a promise pushed onto `into` (for collect's onFirst). */
function signal(into: Promise<void>[]): () => void {
  let resolve!: () => void;
  into.push(new Promise<void>((r) => (resolve = r)));
  return () => resolve();
}
