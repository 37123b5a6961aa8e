/**
 * `npm run reproduce` end to end on the tiny preset: the tool imports MEDDOCAN and the generators,
 * builds the five tables as ablations through the API, and writes the report with its plots; run
 * again, it finds the same ablations and computes nothing new.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../support/client.js';
import { REPO_ROOT, startTestServer, type TestServer } from '../support/server.js';

const run = promisify(execFile);

describe('npm run reproduce (embedded database)', () => {
  let server: TestServer;
  let api: ApiClient;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'reproduce-'));

  beforeAll(async () => {
    server = await startTestServer('embedded');
    api = new ApiClient(server.url, server.adminToken);
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(out, { recursive: true, force: true });
  });

  const reproduce = () =>
    run(process.execPath, [path.join(REPO_ROOT, 'dist/src/tools/reproduce.js'), '--preset', 'tiny', '--out', out], {
      cwd: REPO_ROOT,
      env: { ...process.env, DEID_URL: server.url, DEID_TOKEN: server.adminToken },
      timeout: 600_000,
    });

  it('should build the tables as ablations, write the report, and resume instead of recomputing', async () => {
    const first = await reproduce();
    expect(first.stdout).toMatch(/reproduce tiny: same-fraction: 4 cells/);
    const report = fs.readFileSync(path.join(out, 'tiny.md'), 'utf8');
    for (const title of ['Same fraction everywhere', 'Generator fraction', 'Annotator fraction', 'Synthetic corpus size', 'Generator']) expect(report).toContain(`## ${title}`);
    // The paper's numbers beside ours, e.g. 5% everywhere: gold 0.931, synthetic 0.309.
    expect(report).toMatch(/\| 0\.05 \| [0-9.]+ \| [0-9.]+ \| [-0-9.]+ \| [0-9.]+ \| [0-9.]+ \| 0\.931 \| 0\.309 \|/);
    expect(report).toMatch(/\| gpt2-tiny \|/);
    expect(fs.readFileSync(path.join(out, 'tiny', 'same-fraction-scores.svg'), 'utf8')).toMatch(/^<svg/);
    const { ablations } = await api.query(`{ ablations { totalCount edges { node { status } } } }`);
    expect(ablations.totalCount).toBe(5);
    for (const edge of ablations.edges) expect(edge.node.status).toBe('SUCCEEDED');
    const { jobs: before } = await api.query(`{ jobs { totalCount } }`);

    const second = await reproduce();
    expect(second.stdout).toMatch(/reproduce tiny: same-fraction: found \(SUCCEEDED\)/);
    const { jobs: after } = await api.query(`{ jobs { totalCount } }`);
    expect(after.totalCount).toBe(before.totalCount);
    expect((await api.query(`{ ablations { totalCount } }`)).ablations.totalCount).toBe(5);
  });
});
