/**
 * Ablations through the API at toy scale: a 2×2 grid with two seeds computes the steps its cells
 * share once, survives kill -9 by completing only what was missing, extends by a seed without
 * recomputing anything, aggregates over seeds into a table (GraphQL, CSV, JSON), and refuses
 * outsiders and bad grids.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipSync } from 'fflate';
import { ApiClient } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { HF_TINY } from '../support/paths.js';
import { base64, meddocanZip } from '../support/meddocan.js';

const SCRATCH = { hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 256, vocabSize: 1000 };
const CREATE = `mutation($input: CreateAblationInput!, $dryRun: Boolean) {
  createAblation(input: $input, dryRun: $dryRun) { ablation { id status } cells stepsToRun stepsReused stepsWithoutSharing }
}`;
const TABLE = `query($id: ID!) { ablation(id: $id) { status table(metric: "token_f1") {
  values seeds cells cellsDone gold { n mean sd ciLow ciHigh values } synthetic { n mean values } gap { mean } ngramOverlap { mean }
} } }`;

describe('ablations (embedded database)', () => {
  let server: TestServer;
  let api: ApiClient;
  let outsider: ApiClient;
  let corpusId: string;
  let generatorId: string;
  let ablationId: string;

  const input = (overrides: Record<string, unknown> = {}) => ({
    name: 'grid',
    base: {
      name: 'base',
      corpusId,
      annotator: { scratch: SCRATCH, epochs: 1, maxSteps: 4, batchSize: 8, learningRate: 0.003 },
      generator: { baseModelId: generatorId, adaptation: { seqLen: 32, batchSize: 4, maxSteps: 2, learningRate: 0.01 } },
      generation: { maxPrompts: 3, samplesPerPrompt: 1, maxNewTokens: 12 },
      guard: { action: 'OFF' },
      evaluation: { bootstrapResamples: 20 },
    },
    axes: [
      { field: 'generator.adaptation.fraction', values: [0.5, 1] },
      { field: 'generation.samplesPerPrompt', values: [1, 2] },
    ],
    seeds: [1, 2],
    ...overrides,
  });

  beforeAll(async () => {
    server = await startTestServer('embedded');
    api = new ApiClient(server.url, server.adminToken);
    const { importCorpus } = await api.query(`mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`, {
      input: { name: 'real', fileName: 'm.zip', contentBase64: base64(meddocanZip({ train: 12, dev: 3, test: { from: 'dev', skip: 3, take: 3 } }).bytes) },
    });
    corpusId = (await api.waitForJob(importCorpus.id)).result.corpusId;
    const files = Object.fromEntries(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => [f, fs.readFileSync(path.join(HF_TINY, 'gpt2-tiny', f))]));
    const { importModel } = await api.query(`mutation($input: ImportModelInput!) { importModel(input: $input) { id } }`, { input: { name: 'gpt2', kind: 'GENERATOR', contentBase64: base64(zipSync(files)) } });
    generatorId = importModel.id;
    const { createUser } = await api.query(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, { input: { email: 'other@example.org', name: 'other', role: 'RESEARCHER' } });
    const { createApiToken } = await api.query(`mutation($id: ID!) { createApiToken(userId: $id, name: "t") { secret } }`, { id: createUser.id });
    outsider = new ApiClient(server.url, createApiToken.secret);
  });
  afterAll(async () => server?.stop());

  const jobCount = async () => (await api.query(`{ jobs { totalCount } }`)).jobs.totalCount as number;
  const waitForAblation = async (id: string) => {
    for (const deadline = Date.now() + 400_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 300))) {
      const { ablation } = await api.query(`query($id: ID!) { ablation(id: $id) { status } }`, { id });
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(ablation.status)) return ablation.status;
    }
    throw new Error('ablation did not finish');
  };

  it('should refuse bad grids before anything runs, naming the field', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ axes: [{ field: 'annotator.nope', values: [1] }] }, /axes\[0\]\.field/],
      [{ axes: [{ field: 'annotator.fraction', values: [] }] }, /axes\[0\]\.values/],
      [{ axes: [{ field: 'annotator.fraction', values: ['a lot'] }] }, /axes\[0\]\.values/],
      [{ seeds: [] }, /seeds/],
      [{ axes: [{ field: 'annotator.fraction', values: [0.5, 2] }] }, /Cell .*annotator\.fraction/],
    ];
    for (const [overrides, message] of cases) {
      const result = await api.raw(CREATE, { input: input(overrides) });
      expect(result.errors?.[0]?.extensions?.code, JSON.stringify(overrides)).toBe('BAD_USER_INPUT');
      expect(result.errors?.[0]?.message).toMatch(message);
    }
    expect(await jobCount()).toBe(1);
  });

  it('should plan, run a 2×2 grid with two seeds computing shared steps once, and survive kill -9', async () => {
    const { createAblation: dry } = await api.query(CREATE, { input: input(), dryRun: true });
    // Per seed: 1 annotator, its test annotation and evaluation; per (fraction, seed) 1 generator; per cell the rest (6 steps).
    expect(dry).toEqual({ ablation: null, cells: 8, stepsToRun: 2 * 3 + 4 + 8 * 6, stepsReused: 0, stepsWithoutSharing: 8 * 10 });

    const { createAblation } = await api.query(CREATE, { input: input() });
    ablationId = createAblation.ablation.id;
    // kill -9 once two cells are done; the restart completes only what was missing.
    for (let done = 0; done < 2; await new Promise((r) => setTimeout(r, 200))) {
      const { experiments } = await api.query(`query($id: ID!) { experiments(ablationId: $id, status: SUCCEEDED) { totalCount } }`, { id: ablationId });
      done = experiments.totalCount;
    }
    await server.kill('SIGKILL');
    await server.restart();
    api = new ApiClient(server.url, server.adminToken);
    outsider = new ApiClient(server.url, outsider.token);
    expect(await waitForAblation(ablationId)).toBe('SUCCEEDED');
    // Every distinct step ran exactly once (plus the corpus import), however the kill fell.
    expect(await jobCount()).toBe(1 + dry.stepsToRun);
    const { jobs } = await api.query(`{ jobs(type: "TRAIN_NER") { totalCount } }`);
    expect(jobs.totalCount).toBe(2 + 8);

    const { ablation } = await api.query(TABLE, { id: ablationId });
    expect(ablation.table).toHaveLength(4);
    for (const row of ablation.table) {
      expect(row).toMatchObject({ seeds: [1, 2], cells: 2, cellsDone: 2 });
      expect(row.gold.n).toBe(2);
      expect(row.gold.sd).not.toBeNull();
      expect(row.synthetic.values).toHaveLength(2);
      expect(row.gap.mean).toBeCloseTo(row.gold.mean - row.synthetic.mean, 10);
      // One annotator per seed, shared by every row.
      expect(row.gold.values).toEqual(ablation.table[0].gold.values);
    }
    expect(ablation.table.map((r: { values: unknown }) => r.values)).toEqual([
      { 'generator.adaptation.fraction': 0.5, 'generation.samplesPerPrompt': 1 },
      { 'generator.adaptation.fraction': 0.5, 'generation.samplesPerPrompt': 2 },
      { 'generator.adaptation.fraction': 1, 'generation.samplesPerPrompt': 1 },
      { 'generator.adaptation.fraction': 1, 'generation.samplesPerPrompt': 2 },
    ]);

    // The table is the stored metric rows: a cell's gold and synthetic token_f1 rows, by seed.
    const { experiments: cells } = await api.query(`query($id: ID!) { experiments(ablationId: $id, first: 20) { edges { node { cell seed steps { name jobId } } } } }`, { id: ablationId });
    for (const { node } of cells.edges) {
      const row = ablation.table.find((r: { values: unknown }) => JSON.stringify(r.values) === JSON.stringify(node.cell));
      const at = row.seeds.indexOf(node.seed);
      for (const [step, part] of [['evaluate_gold', 'gold'], ['evaluate_synthetic', 'synthetic']] as const) {
        const jobId = node.steps.find((s: { name: string }) => s.name === step).jobId;
        const { metrics } = await api.query(`query($job: ID!) { metrics(filter: { jobId: $job, name: "token_f1" }) { edges { node { value label } } } }`, { job: jobId });
        const micro = metrics.edges.find((e: { node: { label: string | null } }) => e.node.label === null).node.value;
        expect(row[part].values[at]).toBe(micro);
      }
    }

    const csv = await fetch(`${server.url}/ablations/${ablationId}/table.csv?metric=token_f1`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/);
    const lines = (await csv.text()).trim().split('\n');
    expect(lines[0]).toBe('# metric: token_f1');
    expect(lines[1]).toMatch(/^generator\.adaptation\.fraction,generation\.samplesPerPrompt,seeds,cells,cells_done,gold_mean,gold_sd,/);
    expect(lines).toHaveLength(6);
    expect(Number(lines[2]!.split(',')[5])).toBeCloseTo(ablation.table[0].gold.mean, 12);
    // Plots: one Vega-Lite spec per chart, rendered to SVG and PNG from that spec.
    const { ablation: plotted } = await api.query(`query($id: ID!) { ablation(id: $id) { scores: plot(kind: SCORES) gap: plot(kind: GAP, axis: "generation.samplesPerPrompt") svg: plotSvg(kind: PRIVACY) } }`, { id: ablationId });
    expect(plotted.scores.data.values).toHaveLength(8); // 4 rows × (gold, synthetic)
    expect(new Set(plotted.scores.data.values.map((v: { facet: string }) => v.facet))).toEqual(new Set(['generation.samplesPerPrompt=1', 'generation.samplesPerPrompt=2']));
    expect(plotted.gap.data.values.map((v: { x: number }) => v.x).sort()).toEqual([1, 1, 2, 2]);
    expect(plotted.svg).toMatch(/^<svg[^>]*>.*5-gram overlap.*<\/svg>$/s);
    const png = await fetch(`${server.url}/ablations/${ablationId}/plots/scores.png`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await png.arrayBuffer()).subarray(1, 4).toString()).toBe('PNG');
    expect(await api.errorCode(`query($id: ID!) { ablation(id: $id) { plot(kind: SCORES, axis: "nope") } }`, { id: ablationId })).toBe('BAD_USER_INPUT');

    const json = await (await fetch(`${server.url}/ablations/${ablationId}/table.json?metric=entity_f1`, { headers: { authorization: `Bearer ${server.adminToken}` } })).json();
    expect(json).toMatchObject({ ablationId, metric: 'entity_f1', seeds: [1, 2] });
    expect(json.rows).toHaveLength(4);
  });

  it('should extend by a seed without recomputing anything, and stream the new cells', async () => {
    const before = await jobCount();
    const ws = api.ws();
    const events = api.collect(ws, `subscription($id: ID!) { ablationEvents(id: $id) { experimentId status cellsDone cells } }`, { id: ablationId }, (e: any) => e.ablationEvents.experimentId === null && e.ablationEvents.status === 'SUCCEEDED' && e.ablationEvents.cells === 12);
    const { extendAblation } = await api.query(`mutation($id: ID!) { extendAblation(id: $id, seeds: [3]) { seeds status } }`, { id: ablationId });
    expect(extendAblation).toEqual({ seeds: [1, 2, 3], status: 'RUNNING' });
    expect(await waitForAblation(ablationId)).toBe('SUCCEEDED');
    const received = await events;
    await ws.dispose();
    expect(received.filter((e) => e.ablationEvents.experimentId !== null)).toHaveLength(4);
    // Seed 3 alone: 1 annotator (+ its test annotation and evaluation), 2 generators, 4 cells × 6.
    expect(await jobCount()).toBe(before + 3 + 2 + 4 * 6);
    const { ablation } = await api.query(TABLE, { id: ablationId });
    for (const row of ablation.table) expect(row).toMatchObject({ seeds: [1, 2, 3], cellsDone: 3 });
  });

  it('should start no new step while paused, and finish after resuming', async () => {
    const { createAblation } = await api.query(CREATE, { input: input({ name: 'paused', axes: [{ field: 'annotator.fraction', values: [0.5, 0.75] }], seeds: [5] }) });
    const id = createAblation.ablation.id;
    expect((await api.query(`mutation($id: ID!) { pauseAblation(id: $id) { paused status } }`, { id })).pauseAblation).toEqual({ paused: true, status: 'RUNNING' });
    // What was queued finishes; then nothing more starts.
    const active = async () => (await api.query(`{ q: jobs(status: QUEUED) { totalCount } r: jobs(status: RUNNING) { totalCount } }`)) as { q: { totalCount: number }; r: { totalCount: number } };
    for (let a = await active(); a.q.totalCount + a.r.totalCount > 0; a = await active()) await new Promise((r) => setTimeout(r, 200));
    const idle = await jobCount();
    await new Promise((r) => setTimeout(r, 1500));
    expect(await jobCount()).toBe(idle);
    const { ablation } = await api.query(`query($id: ID!) { ablation(id: $id) { status experiments { edges { node { status } } } } }`, { id });
    expect(ablation.status).toBe('RUNNING');
    expect(ablation.experiments.edges.every((e: { node: { status: string } }) => e.node.status === 'RUNNING')).toBe(true);

    expect((await api.query(`mutation($id: ID!) { resumeAblation(id: $id) { paused } }`, { id })).resumeAblation).toEqual({ paused: false });
    expect(await waitForAblation(id)).toBe('SUCCEEDED');
    await api.query(`mutation($id: ID!) { deleteAblation(id: $id) }`, { id });
  });

  it("should show an admin another researcher's ablation without the scores of data the admin may not read", async () => {
    const { importCorpus } = await outsider.query(`mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`, {
      input: { name: 'theirs', fileName: 'm.zip', contentBase64: base64(meddocanZip({ train: 8, dev: 2, test: { from: 'dev', skip: 2, take: 2 } }).bytes) },
    });
    const theirCorpus = (await outsider.waitForJob(importCorpus.id)).result.corpusId;
    const files = Object.fromEntries(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => [f, fs.readFileSync(path.join(HF_TINY, 'gpt2-tiny', f))]));
    const { importModel } = await outsider.query(`mutation($input: ImportModelInput!) { importModel(input: $input) { id } }`, { input: { name: 'gpt2', kind: 'GENERATOR', contentBase64: base64(zipSync(files)) } });
    const base = { ...input().base, corpusId: theirCorpus, generator: { baseModelId: importModel.id } };
    const { createAblation } = await outsider.query(CREATE, { input: { name: 'private', base, axes: [{ field: 'generation.samplesPerPrompt', values: [1] }], seeds: [1] } });
    const id = createAblation.ablation.id;
    let status = '';
    for (const deadline = Date.now() + 100_000; Date.now() < deadline && !['SUCCEEDED', 'FAILED'].includes(status); await new Promise((r) => setTimeout(r, 300))) {
      status = (await outsider.query(`query($id: ID!) { ablation(id: $id) { status } }`, { id })).ablation.status;
    }
    const { experiments } = await outsider.query(`query($id: ID!) { experiments(ablationId: $id) { edges { node { error } } } }`, { id });
    expect(experiments.edges[0].node.error).toBeNull();
    expect(status).toBe('SUCCEEDED');
    const owner = (await outsider.query(TABLE, { id })).ablation.table[0];
    expect(owner.gold.n).toBe(1);
    const admin = (await api.query(TABLE, { id })).ablation.table[0];
    expect(admin).toMatchObject({ cellsDone: 1, gold: null, synthetic: null, gap: null, ngramOverlap: null });
    await outsider.query(`mutation($id: ID!) { deleteAblation(id: $id) }`, { id });
  });

  it('should refuse an outsider everywhere, and delete the ablation with its cells', async () => {
    for (const mutation of ['pauseAblation(id: $id) { id }', 'resumeAblation(id: $id) { id }', 'cancelAblation(id: $id) { id }', 'deleteAblation(id: $id)', 'extendAblation(id: $id, seeds: [9]) { id }']) {
      expect(await outsider.errorCode(`mutation($id: ID!) { ${mutation} }`, { id: ablationId }), mutation).toBe('NOT_FOUND');
    }
    expect(await outsider.errorCode(`query($id: ID!) { ablation(id: $id) { id } }`, { id: ablationId })).toBe('NOT_FOUND');
    expect((await outsider.query(`{ ablations { totalCount } }`)).ablations.totalCount).toBe(0);
    const csv = await fetch(`${server.url}/ablations/${ablationId}/table.csv`, { headers: { authorization: `Bearer ${outsider.token}` } });
    expect(csv.status).toBe(404);
    const ws = outsider.ws();
    await expect(outsider.collect(ws, `subscription($id: ID!) { ablationEvents(id: $id) { status } }`, { id: ablationId })).rejects.toThrow(/NOT_FOUND/);
    await ws.dispose();

    expect(await api.query(`mutation($id: ID!) { deleteAblation(id: $id) }`, { id: ablationId })).toEqual({ deleteAblation: ablationId });
    expect(await api.errorCode(`query($id: ID!) { ablation(id: $id) { id } }`, { id: ablationId })).toBe('NOT_FOUND');
    expect((await api.query(`{ experiments { totalCount } }`)).experiments.totalCount).toBe(0);
    // The synthetic corpora of its cells went with them, shared or not; the real corpus stays.
    const { corpora } = await api.query(`{ corpora(first: 100) { edges { node { id } } } }`);
    expect(corpora.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([corpusId]);
  });
});
