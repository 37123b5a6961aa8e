/**
 * A crash in the window after a job committed what it made and before it was marked done: the
 * restarted job finds its result and makes nothing twice. DEID_CRASH_AT (src/common/fault.ts) kills
 * the server at exactly that point.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../support/client.js';
import { DATABASES, REPO_ROOT, startTestServer, type TestServer } from '../support/server.js';
import { base64, meddocanZip } from '../support/meddocan.js';

describe.each(DATABASES)('crash recovery (%s database)', (database) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(database, { DEID_CRASH_AT: 'after-import-commit' });
  });
  afterAll(async () => server?.stop());

  it('should not import twice when the server dies after the corpus commits', async () => {
    let api = new ApiClient(server.url, server.adminToken);
    const upload = base64(meddocanZip({ train: 20 }).bytes);
    const { importCorpus } = await api.query(`mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`, { input: { name: 'once', fileName: 'm.zip', contentBase64: upload } });
    await server.exited();
    delete server.env.DEID_CRASH_AT;
    await server.restart();
    api = new ApiClient(server.url, server.adminToken);
    const job = await api.waitForJob(importCorpus.id, 60_000);
    expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 2, result: { documents: 20 } });
    const { corpora } = await api.query(`{ corpora(nameContains: "once") { totalCount edges { node { id stats { documents } } } } }`);
    expect(corpora.totalCount).toBe(1);
    expect(corpora.edges[0].node).toEqual({ id: job.result.corpusId, stats: { documents: 20 } });
  });
});

describe('one process per embedded database', () => {
  it('should refuse a second process on the same data directory instead of corrupting it', async () => {
    const server = await startTestServer('embedded');
    try {
      const { execFileSync } = await import('node:child_process');
      const path = await import('node:path');
      let message = '';
      try {
        execFileSync(process.execPath, [path.join(REPO_ROOT, 'dist/src/main.js'), 'create-admin-token', 'second@test.local'], { env: server.env, encoding: 'utf8', stdio: 'pipe' });
      } catch (error) {
        message = String((error as { stderr?: string }).stderr);
      }
      expect(message).toMatch(/is open in process \d+; stop that process first/);
      // The server is unharmed.
      const api = new ApiClient(server.url, server.adminToken);
      expect((await api.query(`{ me { email } }`)).me.email).toBe('admin@test.local');
    } finally {
      await server.stop();
    }
  });
});

describe.each(DATABASES)('crash in the middle of saving a corpus (%s database)', (database) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(database, { DEID_CRASH_AT: 'mid-corpus-save' });
  });
  afterAll(async () => server?.stop());

  it('should delete the half-saved corpus and import it again', async () => {
    let api = new ApiClient(server.url, server.adminToken);
    // 200 documents and about 4,500 spans: several batches, and the server dies after the first.
    const upload = base64(meddocanZip({ train: 200 }).bytes);
    const { importCorpus } = await api.query(`mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`, { input: { name: 'halfway', fileName: 'm.zip', contentBase64: upload } });
    await server.exited();
    delete server.env.DEID_CRASH_AT;
    await server.restart();
    api = new ApiClient(server.url, server.adminToken);
    const job = await api.waitForJob(importCorpus.id, 60_000);
    expect(job).toMatchObject({ status: 'SUCCEEDED', attempts: 2, result: { documents: 200 } });
    const { corpora } = await api.query(`{ corpora { totalCount edges { node { id documents(first: 1) { totalCount } } } } }`);
    expect(corpora).toEqual({ totalCount: 1, edges: [{ node: { id: job.result.corpusId, documents: { totalCount: 200 } } }] });
  });
});
