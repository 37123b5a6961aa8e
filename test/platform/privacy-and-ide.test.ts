/**
 * What leaves the server: logs and error responses never carry document text, and the GraphQL IDE
 * is served from the server itself (no CDN).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strToU8, zipSync } from 'fflate';
import { ApiClient } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { base64, meddocanZip } from '../support/meddocan.js';

describe('privacy of logs and errors, and the IDE', () => {
  let server: TestServer;
  let admin: ApiClient;

  beforeAll(async () => {
    server = await startTestServer('embedded', { LOG_LEVEL: 'debug' });
    admin = new ApiClient(server.url, server.adminToken);
  });
  afterAll(async () => server?.stop());

  it('should keep document and span text out of logs and error messages', async () => {
    const upload = meddocanZip({ train: 20 });
    // Distinctive PHI strings of these documents: span texts of 8+ characters.
    const phi = Object.entries(upload.files)
      .filter(([name]) => name.endsWith('.ann'))
      .flatMap(([, bytes]) => Buffer.from(bytes).toString('utf8').split('\n'))
      .map((line) => line.split('\t')[2])
      .filter((text): text is string => !!text && text.length >= 8);
    expect(phi.length).toBeGreaterThan(20);

    const ok = await admin.waitForJob((await admin.query(`mutation($i: ImportCorpusInput!) { importCorpus(input: $i) { id } }`, { i: { name: 'phi', fileName: 'm.zip', contentBase64: base64(upload.bytes) } })).importCorpus.id);
    expect(ok.status).toBe('SUCCEEDED');
    // A broken annotation whose claimed text differs from the document: the error must not quote either.
    const stem = Object.keys(upload.files).find((n) => n.endsWith('.txt'))!.slice(0, -4);
    const text = Buffer.from(upload.files[`${stem}.txt`]!).toString('utf8');
    const ann = `T1\tNOMBRE_SUJETO_ASISTENCIA 0 8\t${phi[0]}\n`;
    const bad = await admin.waitForJob(
      (await admin.query(`mutation($i: ImportCorpusInput!) { importCorpus(input: $i) { id } }`, {
        i: { name: 'bad', fileName: 'b.zip', contentBase64: base64(zipSync({ [`train/x.txt`]: strToU8(text), [`train/x.ann`]: strToU8(ann) })) },
      })).importCorpus.id,
    );
    expect(bad.errorCode).toBe('BAD_USER_INPUT');
    expect(bad.result.importError.code).toBe('SPAN_TEXT_MISMATCH');
    const { corpora } = await admin.query(`{ corpora(nameContains: "phi") { edges { node { id } } } }`);
    await admin.query(`query($id: ID!) { corpus(id: $id) { stats { mentions } documents(first: 5) { edges { node { text } } } } }`, { id: corpora.edges[0].node.id });

    const visible = server.output() + JSON.stringify(bad);
    const leaked = phi.filter((p) => visible.includes(p));
    expect(leaked).toEqual([]);
    expect(visible).not.toContain(text.slice(0, 40));
  });

  it('should name file, line and field of a bad CoNLL tag or XML entity without quoting it', async () => {
    const uploads = [
      { fileName: 'shifted.conll', format: 'CONLL', content: 'Paciente O\nJuan B-NOMBRE_SUJETO_ASISTENCIA\nPérez Zarzalejo-Castañeda\n' },
      { fileName: 'note.xml', format: 'I2B2_XML', content: '<?xml version="1.0"?><MEDDOCAN><TEXT><![CDATA[x]]></TEXT><TAGS></TAGS><NOTE>&Zarzalejo-Castañeda;</NOTE></MEDDOCAN>' },
    ];
    for (const upload of uploads) {
      const { importCorpus } = await admin.query(`mutation($i: ImportCorpusInput!) { importCorpus(input: $i) { id } }`, {
        i: { name: 'bad', fileName: upload.fileName, format: upload.format, contentBase64: base64(strToU8(upload.content)) },
      });
      const job = await admin.waitForJob(importCorpus.id);
      expect(job.errorCode).toBe('BAD_USER_INPUT');
      expect(JSON.stringify(job.result) + job.error).toContain(upload.fileName);
      expect(JSON.stringify(job.result) + job.error + server.output()).not.toContain('Zarzalejo');
    }
  });

  it('should serve GraphiQL and its assets from the server itself', async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('GraphiQL');
    const sources = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(sources.length).toBeGreaterThanOrEqual(5);
    for (const source of sources) {
      expect(source.startsWith('/')).toBe(true);
      const asset = await fetch(`${server.url}${source}`);
      expect(asset.status, source).toBe(200);
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(1000);
    }
  });
});

