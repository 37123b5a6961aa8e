/**
 * Evaluation and privacy through the API, against a real server process on both databases: scoring
 * perturbed MEDDOCAN predictions (uploaded, and as a corpus) with numbers recomputed here from sets,
 * intervals, error lists and who may read them, paired comparison, bad input, and a privacy report.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strToU8, zipSync } from 'fflate';
import { ApiClient } from '../support/client.js';
import { DATABASES, startTestServer, type TestServer } from '../support/server.js';
import { base64, meddocanZip } from '../support/meddocan.js';

const IMPORT = `mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`;
const EVALUATE = `mutation($input: EvaluateInput!) { evaluate(input: $input) { id status type } }`;
const ROW = `label precision recall f1 support tp fp fn ciLow ciHigh`;
const EVALUATION = `query($id: ID!) { evaluation(jobId: $id) { jobId goldCorpusId split source scorerVersion documents goldSpans predictedSpans bootstrapResamples confidenceLevel leak
  scorers { scorer family micro { ${ROW} } perLabel { ${ROW} } } } }`;
const ERRORS = `query($id: ID!, $kind: EvaluationErrorKind!, $label: String, $first: Int, $after: String) {
  evaluationErrors(jobId: $id, kind: $kind, label: $label, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { documentId externalId split start end label errorType text left right overlapping { start end label } } } } }`;

interface Span {
  start: number;
  end: number;
  label: string;
}
interface Doc {
  id: string;
  text: string;
  spans: Span[];
}

/** Gold documents straight from the BRAT files (offsets are code points; the BOM stays character 0). */
function bratDocs(files: Record<string, Uint8Array>, split: string): Doc[] {
  const stems = Object.keys(files)
    .filter((name) => name.startsWith(`${split}/`) && name.endsWith('.txt'))
    .map((name) => name.slice(split.length + 1, -4))
    .sort();
  return stems.map((stem) => {
    const text = Buffer.from(files[`${split}/${stem}.txt`]!).toString('utf8');
    const spans = Buffer.from(files[`${split}/${stem}.ann`]!)
      .toString('utf8')
      .split('\n')
      .filter((line) => line.startsWith('T'))
      .map((line) => {
        const [label, start, end] = line.split('\t')[1]!.split(' ');
        return { label: label!, start: Number(start), end: Number(end) };
      });
    return { id: stem, text, spans };
  });
}

/** Deterministic perturbation: drop every 7th span, relabel every 5th (from the 2nd), shift the start of every 6th (from the 3rd). */
function perturb(gold: Doc[]): Doc[] {
  let i = 0;
  return gold.map((doc) => ({
    ...doc,
    spans: doc.spans.flatMap((s) => {
      const k = i++;
      if (k % 7 === 0) return [];
      if (k % 5 === 1) return [{ ...s, label: s.label === 'FECHAS' ? 'TERRITORIO' : 'FECHAS' }];
      if (k % 6 === 2 && s.end - s.start > 1) return [{ ...s, start: s.start + 1 }];
      return [s];
    }),
  }));
}

const jsonl = (docs: Doc[], split: string | null = 'dev') => strToU8(docs.map((d) => JSON.stringify({ id: d.id, ...(split ? { split } : {}), text: d.text, spans: d.spans })).join('\n') + '\n');

/** Strict entity (label, start, end) or span (start, end) counts as sets, the MEDDOCAN definition, computed independently of the server. */
function setCounts(gold: Doc[], pred: Doc[], key: (doc: string, s: Span) => string, only?: (s: Span) => boolean) {
  const set = (docs: Doc[]) => new Set(docs.flatMap((d) => d.spans.filter((s) => !only || only(s)).map((s) => key(d.id, s))));
  const g = set(gold);
  const p = set(pred);
  const tp = [...p].filter((x) => g.has(x)).length;
  const fp = p.size - tp;
  const fn = g.size - tp;
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { tp, fp, fn, precision, recall, f1 };
}
const entityKey = (doc: string, s: Span) => `${doc}|${s.start}|${s.end}|${s.label}`;
const spanKey = (doc: string, s: Span) => `${doc}|${s.start}|${s.end}`;

/** Share of synthetic word n-gram positions that occur anywhere in the real texts (lower-cased words). */
function ngramOverlap(synthetic: string[], real: string[], n: number) {
  const grams = (text: string) => {
    const words = text.toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? [];
    return words.slice(0, Math.max(0, words.length - n + 1)).map((_, i) => words.slice(i, i + n).join(' '));
  };
  const realSet = new Set(real.flatMap(grams));
  const all = synthetic.flatMap(grams);
  return all.filter((g) => realSet.has(g)).length / all.length;
}

describe.each(DATABASES)('evaluation and privacy (%s database)', (database) => {
  let server: TestServer;
  let admin: ApiClient;
  let alice: ApiClient;
  let bob: ApiClient;
  let corpusId: string;
  let gold: Doc[];
  let train: Doc[];
  let predicted: Doc[];
  let perturbedJob: string;

  async function userClient(email: string, role: string): Promise<ApiClient> {
    const { createUser } = await admin.query(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, { input: { email, name: email, role } });
    const { createApiToken } = await admin.query(`mutation($id: ID!) { createApiToken(userId: $id, name: "test") { secret } }`, { id: createUser.id });
    return new ApiClient(server.url, createApiToken.secret);
  }

  async function importCorpus(client: ApiClient, input: Record<string, unknown>): Promise<string> {
    const { importCorpus } = await client.query(IMPORT, { input: { containsPhi: true, ...input } });
    const job = await client.waitForJob(importCorpus.id);
    expect(job.status, job.error).toBe('SUCCEEDED');
    return job.result.corpusId;
  }

  /** Starts an evaluate job of uploaded JSONL predictions and waits for it. */
  async function evaluateUpload(docs: Doc[] | Uint8Array, extra: Record<string, unknown> = {}, client = alice) {
    const bytes = docs instanceof Uint8Array ? docs : jsonl(docs);
    const { evaluate } = await client.query(EVALUATE, {
      input: { goldCorpusId: corpusId, split: 'dev', predictions: { fileName: 'predictions.jsonl', contentBase64: base64(bytes) }, ...extra },
    });
    return client.waitForJob(evaluate.id);
  }

  beforeAll(async () => {
    server = await startTestServer(database);
    admin = new ApiClient(server.url, server.adminToken);
    alice = await userClient('alice@test.local', 'RESEARCHER');
    bob = await userClient('bob@test.local', 'RESEARCHER');
    const upload = meddocanZip({ train: 30, dev: 20 });
    gold = bratDocs(upload.files, 'dev');
    train = bratDocs(upload.files, 'train');
    predicted = perturb(gold);
    corpusId = await importCorpus(alice, { name: 'MEDDOCAN subset', fileName: 'meddocan.zip', contentBase64: base64(upload.bytes) });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('should score uploaded predictions with the exact P/R/F1 of every label, and intervals around them', async () => {
    const job = await evaluateUpload(predicted);
    expect(job.status, job.error).toBe('SUCCEEDED');
    perturbedJob = job.id;
    const entity = setCounts(gold, predicted, entityKey);
    const spans = setCounts(gold, predicted, spanKey);
    expect(entity.fn).toBeGreaterThan(50);
    expect(job.result).toMatchObject({ goldCorpusId: corpusId, split: 'dev', source: 'UPLOAD', documents: 20, scorerVersion: '1.0.0' });
    expect(job.result.entity.f1).toBeCloseTo(entity.f1, 12);

    const { evaluation } = await alice.query(EVALUATION, { id: job.id });
    expect(evaluation).toMatchObject({ documents: 20, bootstrapResamples: 1000, confidenceLevel: 0.95, split: 'dev', source: 'UPLOAD' });
    const table = (scorer: string) => evaluation.scorers.find((s: { scorer: string }) => s.scorer === scorer);
    expect(evaluation.scorers.map((s: { scorer: string }) => s.scorer)).toEqual(['meddocan-ner', 'meddocan-span-strict', 'meddocan-span-merged', 'token-typed', 'token-binary']);
    const ner = table('meddocan-ner');
    expect(ner.micro).toMatchObject({ label: null, tp: entity.tp, fp: entity.fp, fn: entity.fn, support: entity.tp + entity.fn });
    expect(ner.micro.precision).toBeCloseTo(entity.precision, 12);
    expect(ner.micro.recall).toBeCloseTo(entity.recall, 12);
    expect(ner.micro.f1).toBeCloseTo(entity.f1, 12);
    const strict = table('meddocan-span-strict').micro;
    expect(strict).toMatchObject({ tp: spans.tp, fp: spans.fp, fn: spans.fn });
    expect(strict.f1).toBeCloseTo(spans.f1, 12);

    const labels = [...new Set([...gold, ...predicted].flatMap((d) => d.spans.map((s) => s.label)))].sort();
    expect(ner.perLabel.map((r: { label: string }) => r.label)).toEqual(labels);
    // The same table as a chart: one bar per label after the micro average, each labelled.
    const scorer = (await alice.query(`query($id: ID!) { evaluation(jobId: $id) { scorers { scorer f1Chart f1ChartSvg } } }`, { id: job.id })).evaluation.scorers[0];
    const chart = scorer.f1ChartSvg as string;
    expect(chart.startsWith('<svg')).toBe(true);
    expect(scorer.f1Chart.data.values.map((v: { label: string }) => v.label)).toEqual(['micro average', ...labels]);
    for (const label of labels) expect(chart).toContain(`>${label}</text>`);
    if (process.env.PLOTS_DIR) (await import('node:fs')).writeFileSync(`${process.env.PLOTS_DIR}/f1.svg`, chart);
    for (const row of ner.perLabel) {
      const expected = setCounts(gold, predicted, entityKey, (s) => s.label === row.label);
      expect(row, row.label).toMatchObject({ tp: expected.tp, fp: expected.fp, fn: expected.fn, support: expected.tp + expected.fn });
      expect(row.f1, row.label).toBeCloseTo(expected.f1, 12);
      expect(row.ciLow, row.label).not.toBeNull();
    }
    for (const scorer of evaluation.scorers) {
      const { micro } = scorer;
      expect(micro.ciLow, scorer.scorer).toBeLessThanOrEqual(micro.f1);
      expect(micro.ciHigh, scorer.scorer).toBeGreaterThanOrEqual(micro.f1);
      expect(micro.ciHigh - micro.ciLow, scorer.scorer).toBeGreaterThan(0);
    }
    expect(evaluation.leak).toBeGreaterThan(0);

    // The same numbers as stored Metric rows, filtered and paginated.
    const { metrics } = await alice.query(`query($id: ID!) { metrics(filter: { jobId: $id, name: "entity_f1" }, first: 100) { totalCount edges { node { value label split ciLow ciHigh scorer scorerVersion corpusId jobId modelId } } } }`, { id: job.id });
    const micro = metrics.edges.find((e: { node: { label: string | null } }) => e.node.label === null).node;
    expect(micro).toMatchObject({ split: 'dev', scorer: 'meddocan-ner', scorerVersion: '1.0.0', corpusId, jobId: job.id, modelId: null, ciLow: ner.micro.ciLow, ciHigh: ner.micro.ciHigh });
    expect(micro.value).toBeCloseTo(entity.f1, 12);
    expect(metrics.totalCount).toBe(1 + labels.length);
    const page1 = await alice.query(`query($id: ID!) { metrics(filter: { jobId: $id }, first: 100) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }`, { id: job.id });
    expect(page1.metrics.pageInfo.hasNextPage).toBe(true);
    const page2 = await alice.query(`query($id: ID!, $after: String) { metrics(filter: { jobId: $id }, first: 200, after: $after) { edges { node { id } } } }`, { id: job.id, after: page1.metrics.pageInfo.endCursor });
    const ids = [...page1.metrics.edges, ...page2.metrics.edges].map((e: { node: { id: string } }) => e.node.id);
    expect(new Set(ids).size).toBe(page1.metrics.totalCount);
  });

  it('should list false positives and negatives with their context, page by page', async () => {
    const entity = setCounts(gold, predicted, entityKey);
    const fn = await alice.query(ERRORS, { id: perturbedJob, kind: 'FALSE_NEGATIVE', first: 10 });
    expect(fn.evaluationErrors.totalCount).toBe(entity.fn);
    const fp = await alice.query(ERRORS, { id: perturbedJob, kind: 'FALSE_POSITIVE', first: 200 });
    expect(fp.evaluationErrors.totalCount).toBe(entity.fp);
    const byId = new Map(gold.map((d) => [d.id, d]));
    for (const { node } of [...fn.evaluationErrors.edges, ...fp.evaluationErrors.edges]) {
      const chars = Array.from(byId.get(node.externalId)!.text);
      expect(node.split).toBe('dev');
      expect(node.text).toBe(chars.slice(node.start, node.end).join(''));
      expect(node.documentId).toBeTruthy();
    }
    // Relabelled spans are LABEL errors on both sides; shifted ones BOUNDARY; dropped ones MISSED.
    const types = new Set(fp.evaluationErrors.edges.map((e: { node: { errorType: string } }) => e.node.errorType));
    expect([...types].sort()).toEqual(['BOUNDARY', 'LABEL']);
    const next = await alice.query(ERRORS, { id: perturbedJob, kind: 'FALSE_NEGATIVE', first: 10, after: fn.evaluationErrors.pageInfo.endCursor });
    expect(next.evaluationErrors.edges[0].node).not.toEqual(fn.evaluationErrors.edges[0].node);
    const fechas = await alice.query(ERRORS, { id: perturbedJob, kind: 'FALSE_NEGATIVE', label: 'FECHAS', first: 200 });
    expect(fechas.evaluationErrors.totalCount).toBe(setCounts(gold, predicted, entityKey, (s) => s.label === 'FECHAS').fn);
  });

  it('should show evaluations and their errors only to users who may read the gold corpus', async () => {
    expect(await bob.errorCode(ERRORS, { id: perturbedJob, kind: 'FALSE_NEGATIVE' })).toBe('NOT_FOUND');
    expect(await bob.errorCode(EVALUATION, { id: perturbedJob })).toBe('NOT_FOUND');
    // Admins see every job, but not PHI they were not given.
    expect((await admin.query(`query($id: ID!) { job(id: $id) { id } }`, { id: perturbedJob })).job.id).toBe(perturbedJob);
    expect(await admin.errorCode(ERRORS, { id: perturbedJob, kind: 'FALSE_POSITIVE' })).toBe('NOT_FOUND');
    const bobsMetrics = await bob.query(`query($id: ID!) { metrics(filter: { jobId: $id }) { totalCount } }`, { id: perturbedJob });
    expect(bobsMetrics.metrics.totalCount).toBe(0);
    // Nor may others score against it.
    const input = { goldCorpusId: corpusId, split: 'dev', predictions: { fileName: 'p.jsonl', contentBase64: base64(jsonl(predicted)) } };
    expect(await bob.errorCode(EVALUATE, { input })).toBe('NOT_FOUND');
    // Viewers read but do not start jobs.
    const viewer = await userClient('viewer@test.local', 'VIEWER');
    expect(await viewer.errorCode(EVALUATE, { input })).toBe('FORBIDDEN');
    await alice.query(`mutation($id: ID!) { shareCorpus(id: $id, email: "bob@test.local") { id } }`, { id: corpusId });
    expect((await bob.query(ERRORS, { id: perturbedJob, kind: 'FALSE_NEGATIVE', first: 1 })).evaluationErrors.totalCount).toBeGreaterThan(0);
    await alice.query(`mutation($id: ID!) { unshareCorpus(id: $id, email: "bob@test.local") { id } }`, { id: corpusId });
    expect(await bob.errorCode(ERRORS, { id: perturbedJob, kind: 'FALSE_NEGATIVE' })).toBe('NOT_FOUND');
  });

  it('should score a corpus of predictions matched by split and externalId, and compare two evaluations with a paired test', async () => {
    const predictionsCorpus = await importCorpus(alice, { name: 'predictions', fileName: 'pred.jsonl', allowOverlaps: true, contentBase64: base64(jsonl(predicted, null)) });
    const { evaluate } = await alice.query(EVALUATE, { input: { goldCorpusId: corpusId, split: 'dev', predictedCorpusId: predictionsCorpus, bootstrapResamples: 200 } });
    const job = await alice.waitForJob(evaluate.id);
    expect(job.status, job.error).toBe('SUCCEEDED');
    expect(job.result.source).toBe('CORPUS');
    expect(job.result.entity.f1).toBeCloseTo(setCounts(gold, predicted, entityKey).f1, 12);

    // The gold corpus against itself: its train documents are not in the dev split.
    const self = { goldCorpusId: corpusId, split: 'dev', predictedCorpusId: corpusId, bootstrapResamples: 200 };
    const refused = await alice.waitForJob((await alice.query(EVALUATE, { input: self })).evaluate.id);
    expect(refused).toMatchObject({ status: 'FAILED', errorCode: 'BAD_USER_INPUT' });
    expect(refused.result.scoringError.code).toBe('UNKNOWN_DOCUMENT');
    const identity = await alice.waitForJob((await alice.query(EVALUATE, { input: { ...self, unknownDocument: 'IGNORE' } })).evaluate.id);
    expect(identity.status, identity.error).toBe('SUCCEEDED');
    expect(identity.result.entity).toMatchObject({ precision: 1, recall: 1, f1: 1 });

    const { compareEvaluations } = await alice.query(
      `query($a: ID!, $b: ID!) { compareEvaluations(jobA: $a, jobB: $b, resamples: 500, seed: 3) { documents resamples metrics { metric scorer label f1A f1B difference ciLow ciHigh pValue } } }`,
      { a: identity.id, b: perturbedJob },
    );
    expect(compareEvaluations).toMatchObject({ documents: 20, resamples: 500 });
    const ner = compareEvaluations.metrics.find((m: { metric: string }) => m.metric === 'entity');
    expect(ner).toMatchObject({ scorer: 'meddocan-ner', label: null, f1A: 1 });
    expect(ner.difference).toBeCloseTo(1 - setCounts(gold, predicted, entityKey).f1, 12);
    expect(ner.ciLow).toBeGreaterThan(0);
    expect(ner.pValue).toBeLessThan(0.01);
    expect(compareEvaluations.metrics.find((m: { metric: string }) => m.metric === 'entity/FECHAS')).toMatchObject({ label: 'FECHAS' });
    expect(await bob.errorCode(`query($a: ID!, $b: ID!) { compareEvaluations(jobA: $a, jobB: $b) { documents } }`, { a: identity.id, b: perturbedJob })).toBe('NOT_FOUND');
  });

  it('should score a model\'s machine annotations on the gold documents and link the metrics to the model', async () => {
    const TINY = { hiddenSize: 64, numLayers: 1, numHeads: 2, intermediateSize: 128, maxPositions: 256, vocabSize: 1500 };
    const { trainNerModel } = await alice.query(`mutation($input: TrainNerModelInput!) { trainNerModel(input: $input) { id } }`, {
      input: { name: 'tiny', corpusId, split: 'train', scratch: TINY, epochs: 30, maxSteps: 60, batchSize: 8, learningRate: 0.003, seed: 1 },
    });
    const trained = await alice.waitForJob(trainNerModel.id);
    expect(trained.status, trained.error).toBe('SUCCEEDED');
    const modelId = trained.result.modelId;
    const annotated = await alice.waitForJob((await alice.query(`mutation($m: ID!, $c: ID!) { annotateCorpus(modelId: $m, corpusId: $c, split: "dev") { id } }`, { m: modelId, c: corpusId })).annotateCorpus.id);
    expect(annotated.status, annotated.error).toBe('SUCCEEDED');
    const { corpus } = await alice.query(`query($id: ID!, $m: ID!) { corpus(id: $id) { labels documents(split: "dev", first: 50) { edges { node { externalId text annotations(source: MACHINE, modelId: $m) { start end label } } } } } }`, { id: corpusId, m: modelId });
    const machine: Doc[] = corpus.documents.edges.map((e: { node: { externalId: string; text: string; annotations: Span[] } }) => ({ id: e.node.externalId, text: e.node.text, spans: e.node.annotations }));

    // The tagger knows every label of the corpus, not only those of the dev split: declare them.
    const { evaluate } = await alice.query(EVALUATE, { input: { goldCorpusId: corpusId, split: 'dev', modelId, labels: corpus.labels, bootstrapResamples: 100 } });
    const job = await alice.waitForJob(evaluate.id);
    expect(job.status, job.error).toBe('SUCCEEDED');
    expect(job.result).toMatchObject({ source: 'MODEL', modelId, predictedSpans: machine.reduce((n, d) => n + d.spans.length, 0) });
    const expected = setCounts(gold, machine, entityKey);
    expect(job.result.predictedSpans).toBeGreaterThan(0);
    const { evaluation } = await alice.query(EVALUATION, { id: job.id });
    expect(evaluation.scorers[0].micro).toMatchObject({ tp: expected.tp, fp: expected.fp, fn: expected.fn });
    const { metrics } = await alice.query(`query($m: ID!) { metrics(filter: { modelId: $m, name: "entity_f1" }) { edges { node { modelId label value jobId } } } }`, { m: modelId });
    const micro = metrics.edges.find((e: { node: { label: string | null; jobId: string } }) => e.node.label === null && e.node.jobId === job.id).node;
    expect(micro.value).toBeCloseTo(expected.f1, 12);
    // Bob can see neither the model nor the gold corpus.
    expect(await bob.errorCode(EVALUATE, { input: { goldCorpusId: corpusId, split: 'dev', modelId } })).toBe('NOT_FOUND');
  });

  it('should fail bad predictions with BAD_USER_INPUT and the scorer\'s code, and document the rest', async () => {
    const quick = { bootstrapResamples: 20 };
    const unknownDoc = await evaluateUpload([...predicted, { id: 'not-in-dev', text: 'Paciente.', spans: [] }], quick);
    expect(unknownDoc).toMatchObject({ status: 'FAILED', errorCode: 'BAD_USER_INPUT' });
    expect(unknownDoc.result.scoringError.code).toBe('UNKNOWN_DOCUMENT');
    expect(unknownDoc.error).toContain('not-in-dev');

    const relabelled = predicted.map((d, i) => (i === 0 ? { ...d, spans: d.spans.map((s) => ({ ...s, label: `B-${s.label}` })) } : d));
    const unknownLabel = await evaluateUpload(relabelled, quick);
    expect(unknownLabel.result.scoringError.code).toBe('UNKNOWN_LABEL');
    const asFalsePositive = await evaluateUpload(relabelled, { ...quick, unknownLabel: 'FALSE_POSITIVE' });
    expect(asFalsePositive.status, asFalsePositive.error).toBe('SUCCEEDED');
    expect(asFalsePositive.result.entity.f1).toBeCloseTo(setCounts(gold, relabelled, entityKey).f1, 12);

    const missing = await evaluateUpload(predicted.slice(0, 5), quick);
    expect(missing.result.scoringError.code).toBe('MISSING_PREDICTION');
    const missingAsEmpty = await evaluateUpload(predicted.slice(0, 5), { ...quick, missingDocument: 'EMPTY' });
    expect(missingAsEmpty.result.entity.recall).toBeCloseTo(setCounts(gold, predicted.slice(0, 5), entityKey).recall, 12);

    const otherText = await evaluateUpload(predicted.map((d, i) => (i === 0 ? { ...d, text: d.text.slice(0, -1) } : d)), quick);
    expect(otherText.result.scoringError.code).toBe('TEXT_MISMATCH');

    // Offsets outside the document are caught while the upload is parsed, before scoring.
    const outside = await evaluateUpload(predicted.map((d, i) => (i === 0 ? { ...d, spans: [{ start: 0, end: Array.from(d.text).length + 5, label: 'FECHAS' }] } : d)), quick);
    expect(outside).toMatchObject({ status: 'FAILED', errorCode: 'BAD_USER_INPUT' });
    expect(outside.result.importError.code).toBe('SPAN_OUT_OF_RANGE');

    // An empty prediction set is scored (every score 0, the official convention) and logged.
    const empty = await evaluateUpload(gold.map((d) => ({ ...d, spans: [] })), quick);
    expect(empty.status, empty.error).toBe('SUCCEEDED');
    expect(empty.result).toMatchObject({ predictedSpans: 0, entity: { precision: 0, recall: 0, f1: 0 } });
    const { job } = await alice.query(`query($id: ID!) { job(id: $id) { logs { message } } }`, { id: empty.id });
    expect(job.logs.map((l: { message: string }) => l.message).join('\n')).toContain('no spans');

    // Refused before a job starts.
    const start = (input: Record<string, unknown>) => alice.errorCode(EVALUATE, { input: { goldCorpusId: corpusId, split: 'dev', predictedCorpusId: corpusId, ...input } });
    expect(await start({ split: 'test' })).toBe('BAD_USER_INPUT');
    expect(await start({ predictedCorpusId: null })).toBe('BAD_USER_INPUT');
    expect(await start({ bootstrapResamples: 0 })).toBe('BAD_USER_INPUT');
    expect(await start({ predictions: { fileName: 'p.jsonl', contentBase64: base64(jsonl(predicted)) } })).toBe('BAD_USER_INPUT');
    expect(await start({ modelId: '00000000-0000-0000-0000-000000000000' })).toBe('NOT_FOUND');
  });

  /** A one-document BRAT corpus in split dev: NOMBRE "Ana Ruiz" [9, 17) and TERRITORIO "Madrid" [22, 28). */
  const TINY_TEXT = 'Paciente Ana Ruiz, de Madrid.';
  const tinyZip = (ann: string) => zipSync({ 'dev/a.txt': strToU8(TINY_TEXT), 'dev/a.ann': strToU8(ann) });
  async function evaluateTiny(predictionsAnn: string, extra: Record<string, unknown> = {}) {
    const gold = await importCorpus(alice, { name: 'tiny', fileName: 'tiny.zip', contentBase64: base64(tinyZip('T1\tNOMBRE 9 17\tAna Ruiz\nT2\tTERRITORIO 22 28\tMadrid\n')) });
    const { evaluate } = await alice.query(EVALUATE, {
      input: { goldCorpusId: gold, split: 'dev', predictions: { fileName: 'p.zip', contentBase64: base64(tinyZip(predictionsAnn)) }, bootstrapResamples: 20, ...extra },
    });
    return alice.waitForJob(evaluate.id);
  }

  it('should read uploaded BRAT predictions as the official script does when a T line has runs of spaces', async () => {
    // The official script splits the offsets field with str.split(): this is [22, 28), a true positive.
    const job = await evaluateTiny('T1\tNOMBRE 9 17\tAna Ruiz\nT2\tTERRITORIO  22 28\tMadrid\n');
    expect(job.status, job.error).toBe('SUCCEEDED');
    expect(job.result).toMatchObject({ predictedSpans: 2, entity: { precision: 1, recall: 1, f1: 1 } });
  });

  it('should refuse an empty prediction span by default, and score it as the official script does with invalidSpans: SCORE', async () => {
    // The gold spans plus the empty `NOMBRE 5 5` of docs/scoring.md.
    const ann = 'T1\tNOMBRE 9 17\tAna Ruiz\nT2\tTERRITORIO 22 28\tMadrid\nT3\tNOMBRE 5 5\t\n';
    const refused = await evaluateTiny(ann);
    expect(refused).toMatchObject({ status: 'FAILED', errorCode: 'BAD_USER_INPUT' });
    expect(refused.result.importError.code).toBe('INVALID_SPAN');
    const scored = await evaluateTiny(ann, { invalidSpans: 'SCORE' });
    expect(scored.status, scored.error).toBe('SUCCEEDED');
    // tp 2, fp 1, fn 0: P = 2/3, R = 1, F1 = 2PR / (P + R) = 0.8, for entities and both span modes.
    expect(scored.result.predictedSpans).toBe(3);
    for (const family of ['entity', 'spanStrict', 'spanMerged']) {
      expect(scored.result[family].precision, family).toBeCloseTo(2 / 3, 12);
      expect(scored.result[family].recall, family).toBe(1);
      expect(scored.result[family].f1, family).toBeCloseTo(0.8, 12);
    }
    // Reversed and out-of-range spans are scored the same way: two more false positives.
    const more = await evaluateTiny(`${ann}T4\tNOMBRE 20 10\t\nT5\tNOMBRE 25 400\t\n`, { invalidSpans: 'SCORE' });
    expect(more.status, more.error).toBe('SUCCEEDED');
    expect(more.result.entity.precision).toBeCloseTo(2 / 5, 12);
  });

  it('should report n-gram overlap, reproduced PHI and the longest copied passage of a synthetic corpus, naming real documents only to their readers', async () => {
    // Synthetic notes: shuffled dev sentences, plus one that copies a train note verbatim.
    const { shuffledSentenceCorpus } = await import('../../src/scoring/synthetic.js');
    const copied = train[3]!;
    const synthetic = [...shuffledSentenceCorpus(gold, { documents: 12, charsPerDocument: 1500, seed: 5 }), { id: 'synthetic-copy', text: copied.text }];
    const syntheticCorpus = await importCorpus(alice, {
      name: 'synthetic',
      fileName: 'synthetic.jsonl',
      containsPhi: false,
      contentBase64: base64(strToU8(synthetic.map((d) => JSON.stringify({ id: d.id, text: d.text, spans: [] })).join('\n'))),
    });
    const start = `mutation($s: ID!, $r: ID!) { privacyReport(syntheticCorpusId: $s, realCorpusId: $r, realSplit: "train", n: 5) { id } }`;
    expect(await bob.errorCode(start, { s: syntheticCorpus, r: corpusId })).toBe('NOT_FOUND');
    const job = await alice.waitForJob((await alice.query(start, { s: syntheticCorpus, r: corpusId })).privacyReport.id);
    expect(job.status, job.error).toBe('SUCCEEDED');
    expect(JSON.stringify(job.result)).not.toContain(copied.id);

    const REPORT = `query($id: ID!) { privacyReportResult(jobId: $id) { realCorpusId realCorpusReadable n syntheticDocuments realDocuments
      ngramOverlap { corpus documentMean matchedNgrams totalNgrams }
      phiReproduction { realStrings reproduced share perLabel { label realStrings reproduced share } examples { text labels occurrences } }
      longestCopied { words syntheticExternalId realExternalId text } nearestReal { meanJaccard maxJaccard }
      documents { syntheticExternalId overlap nearestRealExternalId nearestJaccard } } }`;
    const { privacyReportResult: report } = await alice.query(REPORT, { id: job.id });
    expect(report).toMatchObject({ realCorpusId: corpusId, realCorpusReadable: true, n: 5, syntheticDocuments: 13, realDocuments: 30 });
    expect(report.ngramOverlap.corpus).toBeCloseTo(ngramOverlap(synthetic.map((d) => d.text), train.map((d) => d.text), 5), 12);
    expect(report.longestCopied).toMatchObject({ syntheticExternalId: 'synthetic-copy', realExternalId: copied.id });
    expect(report.longestCopied.words).toBe(copied.text.match(/[\p{L}\p{M}\p{N}]+/gu)!.length);
    expect(report.nearestReal.maxJaccard).toBe(1);
    expect(report.documents.find((d: { syntheticExternalId: string }) => d.syntheticExternalId === 'synthetic-copy')).toMatchObject({ nearestRealExternalId: copied.id, nearestJaccard: 1 });
    // Every PHI string of the copied note is reproduced.
    expect(report.phiReproduction.reproduced).toBeGreaterThanOrEqual(new Set(copied.spans.map((s) => Array.from(copied.text).slice(s.start, s.end).join(''))).size);
    expect(report.phiReproduction.examples.length).toBeGreaterThan(0);

    const { metrics } = await alice.query(`query($id: ID!) { metrics(filter: { jobId: $id, name: "ngram5_overlap" }) { edges { node { value scorer corpusId split } } } }`, { id: job.id });
    expect(metrics.edges[0].node).toMatchObject({ value: report.ngramOverlap.corpus, scorer: 'privacy-ngram-overlap', corpusId: syntheticCorpus, split: 'train' });

    // Bob may read the synthetic corpus (no PHI) but not the real one: no real names, no PHI examples.
    const { privacyReportResult: bobs } = await bob.query(REPORT, { id: job.id });
    expect(bobs).toMatchObject({ realCorpusId: null, realCorpusReadable: false, longestCopied: { realExternalId: null, words: report.longestCopied.words } });
    expect(bobs.phiReproduction.examples).toBeNull();
    expect(bobs.documents.every((d: { nearestRealExternalId: string | null }) => d.nearestRealExternalId === null)).toBe(true);
    expect(bobs.ngramOverlap).toEqual(report.ngramOverlap);
  });
});
