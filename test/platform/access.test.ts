/**
 * Privacy follows lineage, and nobody reads private work sideways: a model made from PHI stays
 * private after fine-tuning on public data; admins operate jobs without reading private payloads,
 * logs, results, events or metrics; a privacy report's counts about the real corpus are for its
 * readers only. Through the API, on both databases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../support/client.js';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';
import { base64, meddocanZip } from '../support/meddocan.js';

const IMPORT = `mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`;
const TRAIN = `mutation($input: TrainNerModelInput!) { trainNerModel(input: $input) { id } }`;
const TINY = { hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 256, vocabSize: 600 };
const JOB = `query($id: ID!) { job(id: $id) { id type status redacted payload result message error logs { message } } }`;

describe.each(DATABASES)('access by lineage (%s database)', (database) => {
  let server: TestServer;
  let admin: ApiClient;
  let owner: ApiClient;
  let other: ApiClient;
  const ids: Record<string, string> = {};

  async function userClient(email: string, role: string): Promise<ApiClient> {
    const { createUser } = await admin.query(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, { input: { email, name: email, role } });
    const { createApiToken } = await admin.query(`mutation($id: ID!) { createApiToken(userId: $id, name: "test") { secret } }`, { id: createUser.id });
    return new ApiClient(server.url, createApiToken.secret);
  }

  async function finished(client: ApiClient, query: string, variables: Record<string, unknown>) {
    const data = await client.query(query, variables);
    const job = await client.waitForJob((Object.values(data)[0] as { id: string }).id);
    expect(job.status, JSON.stringify(job.error)).toBe('SUCCEEDED');
    return job;
  }

  beforeAll(async () => {
    server = await startTestServer(database);
    admin = new ApiClient(server.url, server.adminToken);
    owner = await userClient('owner@example.org', 'RESEARCHER');
    other = await userClient('other@example.org', 'RESEARCHER');
    const upload = base64(meddocanZip({ train: 6 }).bytes);
    const importPhi = await finished(owner, IMPORT, { input: { name: 'phi', fileName: 'm.zip', contentBase64: upload, containsPhi: true } });
    ids.importPhiJob = importPhi.id;
    ids.phi = importPhi.result.corpusId;
    // The same notes declared public: a stand-in for a synthetic corpus that copied its real one.
    ids.pub = (await finished(owner, IMPORT, { input: { name: 'pub', fileName: 'm.zip', contentBase64: upload, containsPhi: false } })).result.corpusId;
    const train = { scratch: TINY, epochs: 1, maxSteps: 2, batchSize: 4, seed: 1 };
    const onPhi = await finished(owner, TRAIN, { input: { ...train, name: 'on-phi', corpusId: ids.phi } });
    ids.onPhiJob = onPhi.id;
    ids.onPhi = onPhi.result.modelId;
    const fineTuned = await finished(owner, TRAIN, { input: { ...train, name: 'fine-tuned-on-public', corpusId: ids.pub, baseModelId: ids.onPhi } });
    ids.fineTunedJob = fineTuned.id;
    ids.fineTuned = fineTuned.result.modelId;
    const onPub = await finished(owner, TRAIN, { input: { ...train, name: 'on-public', corpusId: ids.pub } });
    ids.onPubJob = onPub.id;
    ids.onPub = onPub.result.modelId;
  }, 600_000);
  afterAll(async () => server?.stop());

  it('should keep a model private when any ancestor holds PHI, for other users and admins alike', async () => {
    const { model } = await owner.query(`query($id: ID!) { model(id: $id) { containsPhi baseModelId } }`, { id: ids.fineTuned });
    expect(model).toEqual({ containsPhi: true, baseModelId: ids.onPhi });
    expect((await owner.query(`query($id: ID!) { model(id: $id) { containsPhi } }`, { id: ids.onPub })).model.containsPhi).toBe(false);
    for (const reader of [other, admin]) {
      for (const id of [ids.onPhi, ids.fineTuned]) {
        expect(await reader.errorCode(`query($id: ID!) { model(id: $id) { id } }`, { id })).toBe('NOT_FOUND');
        const download = await fetch(`${server.url}/models/${id}/download`, { headers: { authorization: `Bearer ${reader.token}` } });
        expect(download.status).toBe(404);
      }
      const { models } = await reader.query(`{ models(first: 50) { edges { node { id } } } }`);
      expect(models.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([ids.onPub]);
    }
    const download = await fetch(`${server.url}/models/${ids.fineTuned}/download`, { headers: { authorization: `Bearer ${owner.token}` } });
    expect(download.status).toBe(200);
  });

  it('should make an imported checkpoint private unless declared public', async () => {
    const zip = await (await fetch(`${server.url}/models/${ids.onPub}/download`, { headers: { authorization: `Bearer ${owner.token}` } })).arrayBuffer();
    const IMPORT_MODEL = `mutation($input: ImportModelInput!) { importModel(input: $input) { id containsPhi } }`;
    const unknown = (await owner.query(IMPORT_MODEL, { input: { name: 'unknown origin', kind: 'NER_ANNOTATOR', contentBase64: base64(new Uint8Array(zip)) } })).importModel;
    const declared = (await owner.query(IMPORT_MODEL, { input: { name: 'public', kind: 'NER_ANNOTATOR', contentBase64: base64(new Uint8Array(zip)), containsPhi: false } })).importModel;
    expect([unknown.containsPhi, declared.containsPhi]).toEqual([true, false]);
    expect(await other.errorCode(`query($id: ID!) { model(id: $id) { id } }`, { id: unknown.id })).toBe('NOT_FOUND');
    expect((await other.query(`query($id: ID!) { model(id: $id) { id } }`, { id: declared.id })).model.id).toBe(declared.id);
  });

  it('should show admins what operating needs of jobs on private data, and nothing of their contents', async () => {
    for (const id of [ids.importPhiJob, ids.onPhiJob, ids.fineTunedJob]) {
      const { job } = await admin.query(JOB, { id });
      expect(job).toMatchObject({ id, status: 'SUCCEEDED', redacted: true, payload: null, result: null, message: null, error: null, logs: [] });
      expect((await owner.query(JOB, { id })).job).toMatchObject({ redacted: false, payload: expect.any(Object), result: expect.any(Object) });
      expect(await other.errorCode(JOB, { id })).toBe('NOT_FOUND');
    }
    // A job that touches only public data is the admin's to read.
    const { job: open } = await admin.query(JOB, { id: ids.onPubJob });
    expect(open).toMatchObject({ redacted: false, result: { modelId: ids.onPub } });
    expect(open.logs.length).toBeGreaterThan(0);

    const { jobs } = await admin.query(`{ jobs(first: 50) { edges { node { id redacted payload } } } }`);
    const listed = new Map(jobs.edges.map((e: { node: { id: string; redacted: boolean; payload: unknown } }) => [e.node.id, e.node]));
    expect(listed.get(ids.onPhiJob)).toEqual({ id: ids.onPhiJob, redacted: true, payload: null });
    expect(listed.get(ids.onPubJob)).toMatchObject({ redacted: false });

    // The training loss streamed as job metrics: not through `metrics(jobId)` nor the job's events.
    const METRICS = `query($jobId: ID!) { metrics(filter: { jobId: $jobId }, first: 100) { totalCount } }`;
    expect((await owner.query(METRICS, { jobId: ids.onPhiJob })).metrics.totalCount).toBeGreaterThan(0);
    expect((await admin.query(METRICS, { jobId: ids.onPhiJob })).metrics.totalCount).toBe(0);
    const ws = admin.ws();
    const events = await admin.collect(ws, `subscription($id: ID!) { jobEvents(id: $id) { status message } }`, { id: ids.onPhiJob });
    await ws.dispose();
    expect(events.map((e) => e.jobEvents)).toEqual([{ status: 'SUCCEEDED', message: null }]);
  });

  it("should give a privacy report's counts about the real corpus only to those who may read it", async () => {
    const job = await finished(owner, `mutation($s: ID!, $r: ID!) { privacyReport(syntheticCorpusId: $s, realCorpusId: $r) { id } }`, { s: ids.pub, r: ids.phi });
    const REPORT = `query($id: ID!) { privacyReportResult(jobId: $id) { realCorpusReadable realDocuments phiReproduction { realStrings reproduced share occurrences perLabel { label realStrings reproduced share occurrences } } } }`;
    const mine = (await owner.query(REPORT, { id: job.id })).privacyReportResult;
    expect(mine.realDocuments).toBe(6);
    expect(mine.phiReproduction.reproduced).toBe(mine.phiReproduction.realStrings);
    expect(mine.phiReproduction.perLabel.length).toBeGreaterThan(3);

    const theirs = (await other.query(REPORT, { id: job.id })).privacyReportResult;
    expect(theirs).toMatchObject({ realCorpusReadable: false, realDocuments: null, phiReproduction: { realStrings: null, reproduced: null, occurrences: null, share: 1 } });
    for (const row of theirs.phiReproduction.perLabel) expect(row).toMatchObject({ realStrings: null, reproduced: null, occurrences: null, share: 1 });

    const METRICS = `query($c: ID!) { metrics(filter: { corpusId: $c }, first: 100) { edges { node { name value } } } }`;
    const names = async (client: ApiClient, corpusId: string) => (await client.query(METRICS, { c: corpusId })).metrics.edges.map((e: { node: { name: string } }) => e.node.name);
    expect(await names(other, ids.pub)).toContain('phi_reproduced_share');
    expect(await names(other, ids.pub)).not.toContain('phi_reproduced_strings');
    expect(await names(owner, ids.phi)).toContain('phi_reproduced_strings');
    expect(await names(other, ids.phi)).toEqual([]);
  });
});
