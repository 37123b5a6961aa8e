/**
 * Corpora through the API, against a real server process, over HTTP and WebSocket, on both the
 * embedded database and PostgreSQL: import, access control, export round trips, statistics,
 * splits and subsets, bad input.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { ApiClient } from '../support/client.js';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';
import { base64, meddocanZip } from '../support/meddocan.js';

const IMPORT = `mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id status type } }`;
const CORPUS = `query($id: ID!) { corpus(id: $id) { id name containsPhi labels bioTags splits { split documents } stats { documents mentions characters tokens labels { label mentions } splits { split documents mentions } } } }`;

describe.each(DATABASES)('corpora (%s database)', (database) => {
  let server: TestServer;
  let admin: ApiClient;
  let alice: ApiClient;
  let bob: ApiClient;
  let viewer: ApiClient;

  async function userClient(email: string, role: string): Promise<ApiClient> {
    const { createUser } = await admin.query(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, { input: { email, name: email, role } });
    const { createApiToken } = await admin.query(`mutation($id: ID!) { createApiToken(userId: $id, name: "test") { secret } }`, { id: createUser.id });
    return new ApiClient(server.url, createApiToken.secret);
  }

  async function importAndWait(client: ApiClient, input: Record<string, unknown>) {
    const { importCorpus } = await client.query(IMPORT, { input: { containsPhi: true, ...input } });
    return client.waitForJob(importCorpus.id);
  }

  beforeAll(async () => {
    server = await startTestServer(database);
    admin = new ApiClient(server.url, server.adminToken);
    alice = await userClient('alice@test.local', 'RESEARCHER');
    bob = await userClient('bob@test.local', 'RESEARCHER');
    viewer = await userClient('viewer@test.local', 'VIEWER');
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('should refuse operations without a valid token', async () => {
    expect(await new ApiClient(server.url, null).errorCode(`{ me { id } }`)).toBe('UNAUTHENTICATED');
    expect(await new ApiClient(server.url, 'dsk_not-a-real-token').errorCode(`{ me { id } }`)).toBe('UNAUTHENTICATED');
    expect((await alice.query(`{ me { email role } }`)).me).toEqual({ email: 'alice@test.local', role: 'RESEARCHER' });
  });

  it('should import MEDDOCAN train and dev in BRAT with their splits, spans and statistics', async () => {
    const upload = meddocanZip({ train: undefined, dev: undefined });
    const job = await importAndWait(alice, { name: 'MEDDOCAN', fileName: 'meddocan.zip', contentBase64: base64(upload.bytes) });
    expect(job.status).toBe('SUCCEEDED');
    expect(job.result).toMatchObject({ documents: 750, format: 'BRAT' });
    const { corpus } = await alice.query(CORPUS, { id: job.result.corpusId });
    expect(corpus.splits).toEqual([
      { split: 'dev', documents: 250 },
      { split: 'train', documents: 500 },
    ]);
    const train = corpus.stats.splits.find((s: { split: string }) => s.split === 'train');
    expect(train).toEqual({ split: 'train', documents: 500, mentions: 11333 });
    // The README's per-label counts (train + dev).
    const count = (label: string) => corpus.stats.labels.find((l: { label: string }) => l.label === label)?.mentions;
    expect(count('TERRITORIO')).toBe(1875 + 987);
    expect(count('FECHAS')).toBe(1231 + 724);
    expect(corpus.labels).toHaveLength(new Set(corpus.stats.labels.map((l: { label: string }) => l.label)).size);
    expect(corpus.bioTags[0]).toBe('O');
    expect(corpus.bioTags).toHaveLength(1 + 2 * corpus.labels.length);
  });

  it('should stream a job\'s events in order over WebSocket, ending with its final status', async () => {
    const upload = meddocanZip({ train: 30 });
    const { importCorpus } = await alice.query(IMPORT, { input: { name: 'stream', fileName: 'x.zip', contentBase64: base64(upload.bytes), containsPhi: true } });
    const ws = alice.ws();
    const events = await alice.collect(ws, `subscription($id: ID!) { jobEvents(id: $id) { seq kind status progress message } }`, { id: importCorpus.id });
    await ws.dispose();
    const seqs = events.map((e) => e.jobEvents.seq);
    // The first event is the snapshot; after it every event follows the previous one by exactly 1.
    for (let i = 2; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1] + 1);
    expect(events.at(-1)!.jobEvents.status).toBe('SUCCEEDED');
  });

  it('should show a PHI corpus only to its owner and the people it is shared with', async () => {
    const upload = meddocanZip({ train: 3 });
    const job = await importAndWait(alice, { name: 'private', fileName: 'p.zip', contentBase64: base64(upload.bytes) });
    const id = job.result.corpusId;
    expect(await bob.errorCode(CORPUS, { id })).toBe('NOT_FOUND');
    expect(await admin.errorCode(CORPUS, { id })).toBe('NOT_FOUND');
    const listed = await bob.query(`{ corpora(first: 200) { edges { node { id } } } }`);
    expect(listed.corpora.edges.map((e: { node: { id: string } }) => e.node.id)).not.toContain(id);
    expect(await bob.errorCode(`mutation($id: ID!) { shareCorpus(id: $id, email: "bob@test.local") { id } }`, { id })).toBe('NOT_FOUND');
    await alice.query(`mutation($id: ID!) { shareCorpus(id: $id, email: "bob@test.local") { id } }`, { id });
    expect((await bob.query(CORPUS, { id })).corpus.id).toBe(id);
    expect(await bob.errorCode(`mutation($id: ID!) { deleteCorpus(id: $id) }`, { id })).toBe('FORBIDDEN');
    await alice.query(`mutation($id: ID!) { unshareCorpus(id: $id, email: "bob@test.local") { id } }`, { id });
    expect(await bob.errorCode(CORPUS, { id })).toBe('NOT_FOUND');
  });

  it('should let viewers read but not import or export', async () => {
    const code = await viewer.errorCode(IMPORT, { input: { name: 'v', fileName: 'a.jsonl', contentBase64: base64(strToU8('{"id":"a","text":"x","spans":[]}')) } });
    expect(code).toBe('FORBIDDEN');
    expect(await viewer.errorCode(`mutation($id: ID!) { exportCorpus(id: $id, format: JSONL) { id } }`, { id: '00000000-0000-4000-8000-000000000000' })).toBe('FORBIDDEN');
    expect(await alice.errorCode(`{ users { id } }`)).toBe('FORBIDDEN');
  });

  it('should remove a deleted corpus\'s upload and exports, and a rejected upload, from the disk', async () => {
    const stored = (bytes: Uint8Array | Buffer) => {
      const sha = crypto.createHash('sha256').update(bytes).digest('hex');
      return fs.existsSync(path.join(server.env.DATA_DIR!, 'artifacts', sha.slice(0, 2), sha));
    };
    const upload = meddocanZip({ dev: 2 }).bytes; // bytes no other test uploads: a shared upload stays while another job names it
    const imported = await importAndWait(alice, { name: 'to-delete', fileName: 'm.zip', contentBase64: base64(upload) });
    const corpusId = imported.result.corpusId;
    const { exportCorpus } = await alice.query(`mutation($id: ID!) { exportCorpus(id: $id, format: JSONL) { id } }`, { id: corpusId });
    await alice.waitForJob(exportCorpus.id);
    const exported = Buffer.from(await (await fetch(`${server.url}/exports/${exportCorpus.id}`, { headers: { authorization: `Bearer ${alice.token}` } })).arrayBuffer());
    expect([stored(upload), stored(exported)]).toEqual([true, true]);
    expect((await alice.query(`mutation($id: ID!) { deleteCorpus(id: $id) }`, { id: corpusId })).deleteCorpus).toBe(true);
    expect([stored(upload), stored(exported)]).toEqual([false, false]);
    expect(await alice.errorCode(`query($id: ID!) { job(id: $id) { id } }`, { id: exportCorpus.id })).toBe('NOT_FOUND');

    const rejected = strToU8('{"id":"a","text":"Juan","spans":[{"start":0,"end":9,"label":"NOMBRE"}]}\n');
    const failed = await importAndWait(alice, { name: 'rejected', fileName: 'r.jsonl', contentBase64: base64(rejected) });
    expect(failed.status).toBe('FAILED');
    expect(stored(rejected)).toBe(false);
  });

  it('should give the documented codes for negative or fractional offsets, an empty archive and an empty file name', async () => {
    const brat = (ann: string) => base64(zipSync({ 'train/a.txt': strToU8('Paciente de Madrid.'), 'train/a.ann': strToU8(ann) }));
    const codeOf = async (input: Record<string, unknown>) => (await importAndWait(alice, { name: 'codes', ...input })).result?.importError?.code;
    expect(await codeOf({ fileName: 'n.zip', contentBase64: brat('T1\tTERRITORIO -3 18\tMadrid\n') })).toBe('SPAN_OUT_OF_RANGE');
    expect(await codeOf({ fileName: 'f.zip', contentBase64: brat('T1\tTERRITORIO 12.5 18\tMadrid\n') })).toBe('INVALID_SPAN');
    expect(await codeOf({ fileName: 'e.zip', contentBase64: base64(zipSync({})) })).toBe('EMPTY_CORPUS');
    expect(await alice.errorCode(IMPORT, { input: { name: 'codes', fileName: ' ', contentBase64: brat('') } })).toBe('BAD_USER_INPUT');
  });

  it('should export BRAT and JSONL that re-import byte for byte', async () => {
    const upload = meddocanZip({ train: 40 });
    const job = await importAndWait(alice, { name: 'roundtrip', fileName: 'r.zip', contentBase64: base64(upload.bytes) });
    const corpusId = job.result.corpusId;
    const { exportCorpus } = await alice.query(`mutation($id: ID!) { exportCorpus(id: $id, format: BRAT) { id } }`, { id: corpusId });
    expect((await alice.waitForJob(exportCorpus.id)).status).toBe('SUCCEEDED');
    const response = await fetch(`${server.url}/exports/${exportCorpus.id}`, { headers: { authorization: `Bearer ${alice.token}` } });
    expect(response.status).toBe(200);
    const exported = unzipSync(new Uint8Array(await response.arrayBuffer()));
    const txtNames = Object.keys(upload.files).filter((n) => n.endsWith('.txt'));
    // MEDDOCAN has files with a byte-order mark among the first 40: they must survive too.
    expect(txtNames.some((name) => upload.files[name]![0] === 0xef)).toBe(true);
    for (const name of txtNames) expect(Buffer.from(exported[name]!).equals(Buffer.from(upload.files[name]!)), name).toBe(true);
    // MEDDOCAN's T ids are not in offset order; the export keeps them and their order, so the .ann files are identical too.
    for (const name of txtNames.map((n) => n.replace(/\.txt$/, '.ann'))) expect(Buffer.from(exported[name]!).equals(Buffer.from(upload.files[name]!)), name).toBe(true);
    // Other users cannot download it.
    expect((await fetch(`${server.url}/exports/${exportCorpus.id}`, { headers: { authorization: `Bearer ${bob.token}` } })).status).toBe(404);

    const { exportCorpus: jsonlJob } = await alice.query(`mutation($id: ID!) { exportCorpus(id: $id, format: JSONL) { id } }`, { id: corpusId });
    await alice.waitForJob(jsonlJob.id);
    const jsonlZip = unzipSync(new Uint8Array(await (await fetch(`${server.url}/exports/${jsonlJob.id}`, { headers: { authorization: `Bearer ${alice.token}` } })).arrayBuffer()));
    const [jsonlName] = Object.keys(jsonlZip);
    const again = await importAndWait(alice, { name: 'from-jsonl', fileName: jsonlName, contentBase64: base64(jsonlZip[jsonlName!]!) });
    expect(again.status).toBe('SUCCEEDED');
    const docs = async (id: string) => {
      const { corpus } = await alice.query(`query($id: ID!) { corpus(id: $id) { documents(first: 200) { edges { node { externalId split text annotations { start end label } } } } } }`, { id });
      return corpus.documents.edges.map((e: { node: unknown }) => e.node);
    };
    expect(await docs(again.result.corpusId)).toEqual(await docs(corpusId));
  });

  it('should export a BRAT import with its own T ids in its own line order', async () => {
    const text = 'Paciente Ana Ruiz, de Madrid, 53 años.';
    const tLines = 'T5\tTERRITORIO 22 28\tMadrid\nT2\tNOMBRE_SUJETO_ASISTENCIA 9 17\tAna Ruiz\nT10\tEDAD_SUJETO_ASISTENCIA 30 37\t53 años\n';
    // Not round-tripped: lines other than T (dropped by the import, with a warning); CRLF, runs of
    // spaces or a missing final newline in a T line (the export writes the canonical form).
    const ann = `${tLines}#1\tAnnotatorNotes T2\tnombre completo\n`;
    const job = await importAndWait(alice, { name: 'ids', fileName: 'ids.zip', contentBase64: base64(zipSync({ 'train/a.txt': strToU8(text), 'train/a.ann': strToU8(ann) })) });
    expect(job.status, job.error).toBe('SUCCEEDED');
    const { exportCorpus } = await alice.query(`mutation($id: ID!) { exportCorpus(id: $id, format: BRAT) { id } }`, { id: job.result.corpusId });
    expect((await alice.waitForJob(exportCorpus.id)).status).toBe('SUCCEEDED');
    const exported = unzipSync(new Uint8Array(await (await fetch(`${server.url}/exports/${exportCorpus.id}`, { headers: { authorization: `Bearer ${alice.token}` } })).arrayBuffer()));
    expect(Buffer.from(exported['train/a.ann']!).toString('utf8')).toBe(tLines);
    expect(Buffer.from(exported['train/a.txt']!).toString('utf8')).toBe(text);
  });

  it('should reject a bad import as a whole, with a code and the issues, and save nothing', async () => {
    const before = (await alice.query(`{ corpora { totalCount } }`)).corpora.totalCount;
    const lines = [
      JSON.stringify({ id: 'a', text: 'Paciente Juan.', spans: [{ start: 9, end: 13, label: 'NOMBRE' }] }),
      JSON.stringify({ id: 'b', text: 'Corto.', spans: [{ start: 2, end: 40, label: 'NOMBRE' }] }),
    ].join('\n');
    const job = await importAndWait(alice, { name: 'bad', fileName: 'bad.jsonl', contentBase64: base64(strToU8(lines)) });
    expect(job.status).toBe('FAILED');
    expect(job.errorCode).toBe('BAD_USER_INPUT');
    expect(job.result.importError.code).toBe('SPAN_OUT_OF_RANGE');
    expect(job.result.importError.issues[0].line).toBe(2);
    expect((await alice.query(`{ corpora { totalCount } }`)).corpora.totalCount).toBe(before);
  });

  it('should refuse a file declared larger than MAX_FILE_BYTES with TOO_LARGE before inflating it', async () => {
    // One entry whose headers declare 900,000,000 bytes (under the 1 GiB unpacked limit); its data is tiny.
    const zip = zipSync({ 'train/big.txt': strToU8('Texto.') });
    const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
    view.setUint32(view.getUint32(zip.length - 22 + 16, true) + 24, 900_000_000, true);
    view.setUint32(22, 900_000_000, true);
    const job = await importAndWait(alice, { name: 'huge', fileName: 'huge.zip', contentBase64: base64(zip) });
    expect(job.status).toBe('FAILED');
    expect(job.result.importError.code).toBe('TOO_LARGE');
    expect(job.error).toMatch(/train\/big\.txt is 900000000 bytes unpacked; the limit for one file is 104857600 bytes \(MAX_FILE_BYTES\)/);
  });

  it('should refuse archives that escape their folder, text that is not UTF-8 and duplicate ids, and keep CRLF offsets', async () => {
    const failed = async (files: Record<string, Uint8Array>) => {
      const job = await importAndWait(alice, { name: 'bad', fileName: 'bad.zip', contentBase64: base64(zipSync(files)) });
      expect(job.status).toBe('FAILED');
      return job.result.importError.code as string;
    };
    const ann = strToU8('T1\tNOMBRE 0 4\tJuan\n');
    expect(await failed({ '../escape/a.txt': strToU8('Juan vino.'), '../escape/a.ann': ann })).toBe('PATH_ESCAPE');
    expect(await failed({ 'train/a.txt': new Uint8Array([0x4a, 0x75, 0x61, 0x6e, 0xff, 0xfe]), 'train/a.ann': ann })).toBe('INVALID_UTF8');
    expect(await failed({ 'train/a.txt': strToU8('Juan vino.'), 'train/a.ann': ann, 'train/b.txt': strToU8('Juan.') })).toBe('MISSING_ANN');
    const jsonl = [JSON.stringify({ id: 'x', text: 'Juan.', spans: [] }), JSON.stringify({ id: 'x', text: 'Ana.', spans: [] })].join('\n');
    const dup = await importAndWait(alice, { name: 'dup', fileName: 'd.jsonl', contentBase64: base64(strToU8(jsonl)) });
    expect(dup.result.importError.code).toBe('DUPLICATE_DOCUMENT_ID');
    // CRLF line endings count as two characters, as the file has them.
    const text = 'Paciente:\r\nJuan Garcia\r\n';
    const ok = await importAndWait(alice, { name: 'crlf', fileName: 'c.zip', contentBase64: base64(zipSync({ 'train/c.txt': strToU8(text), 'train/c.ann': strToU8('T1\tNOMBRE 11 22\tJuan Garcia\n') })) });
    expect(ok.status).toBe('SUCCEEDED');
    const { corpus } = await alice.query(`query($id: ID!) { corpus(id: $id) { documents { edges { node { text charCount annotations { start end } } } } } }`, { id: ok.result.corpusId });
    expect(corpus.documents.edges[0].node).toEqual({ text, charCount: 24, annotations: [{ start: 11, end: 22 }] });
  });

  it('should page through corpora with cursors', async () => {
    for (const name of ['page-b', 'page-a', 'page-c']) {
      await importAndWait(alice, { name, fileName: 'p.jsonl', contentBase64: base64(strToU8(JSON.stringify({ id: 'd', text: 'Texto.', spans: [] }))) });
    }
    const first = await alice.query(`{ corpora(first: 2, orderBy: { field: name, direction: ASC }) { totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } }`);
    expect(first.corpora.edges).toHaveLength(2);
    expect(first.corpora.pageInfo.hasNextPage).toBe(true);
    const second = await alice.query(`query($after: String) { corpora(first: 200, after: $after, orderBy: { field: name, direction: ASC }) { edges { node { name } } } }`, {
      after: first.corpora.pageInfo.endCursor,
    });
    const names = [...first.corpora.edges, ...second.corpora.edges].map((e: { node: { name: string } }) => e.node.name);
    expect(names).toEqual([...names].sort());
    expect(names).toHaveLength(first.corpora.totalCount);
    expect(await alice.errorCode(`{ corpora(first: 201) { totalCount } }`)).toBe('BAD_USER_INPUT');
  });

  it('should give seeded nested subsets and seeded splits', async () => {
    const job = await importAndWait(alice, { name: 'subsets', fileName: 's.zip', contentBase64: base64(meddocanZip({ train: 40 }).bytes) });
    const id = job.result.corpusId;
    const q = `query($id: ID!, $seed: Int!) { corpusSubsets(id: $id, fractions: [0.05, 0.25, 0.5, 0.95], seed: $seed, split: "train") { fraction size documentIds } }`;
    const { corpusSubsets } = await alice.query(q, { id, seed: 7 });
    expect(corpusSubsets.map((s: { size: number }) => s.size)).toEqual([2, 10, 20, 38]);
    for (let i = 1; i < corpusSubsets.length; i++) {
      for (const doc of corpusSubsets[i - 1].documentIds) expect(corpusSubsets[i].documentIds).toContain(doc);
    }
    expect((await alice.query(q, { id, seed: 7 })).corpusSubsets).toEqual(corpusSubsets);
    expect((await alice.query(q, { id, seed: 8 })).corpusSubsets[2].documentIds).not.toEqual(corpusSubsets[2].documentIds);

    const { splitCorpus } = await alice.query(`mutation($id: ID!) { splitCorpus(id: $id, seed: 1, fractions: [{split: "train", fraction: 0.8}, {split: "test", fraction: 0.2}]) { split documents } }`, { id });
    expect(splitCorpus).toEqual([
      { split: 'test', documents: 8 },
      { split: 'train', documents: 32 },
    ]);
  });
});
