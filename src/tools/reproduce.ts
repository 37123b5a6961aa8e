/**
 * `npm run reproduce -- --preset small|full` — a command-line client of the API that builds the
 * analogues of the paper's tables on MEDDOCAN as ablations, draws a progress bar per running step,
 * and writes docs/reproduction/<preset>.md (tables beside the paper's numbers, plots, settings,
 * timings, hardware). Resumable: run it again and it picks up the same ablations by name.
 *
 *   DEID_URL=http://localhost:4000 DEID_TOKEN=dsk_… npm run reproduce -- --preset small
 *
 * Options: --data <MEDDOCAN folder with train/ and dev/> (default ../shared/data/meddocan),
 * --out <folder> (default docs/reproduction), --generator <HF folder>, --generator-b <HF folder>
 * (the second generator of the size table), --test-split <split of an already imported corpus>.
 * Prompts and validation come from the first half of dev, the test set is the second half.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Preset {
  description: string;
  /** Documents of train and dev to use (all when null). */
  limit: { train: number | null; dev: number | null };
  seeds: number[];
  tagger: Record<string, unknown>;
  adaptation: Record<string, unknown>;
  generation: Record<string, unknown>;
  bootstrapResamples: number;
  device: 'cpu' | 'cuda' | 'webgpu';
}

const FRACTIONS = [0.05, 0.25, 0.5, 0.95];
const PRESETS: Record<string, Preset> = {
  // For tests of this tool: seconds per step.
  tiny: {
    description: 'a smoke test of the tool: 12 training notes, 1-layer taggers of width 32, a handful of steps',
    limit: { train: 12, dev: 6 },
    seeds: [1],
    tagger: { epochs: 1, maxSteps: 3, batchSize: 8, learningRate: 0.003, scratch: { hiddenSize: 32, numLayers: 1, numHeads: 2, intermediateSize: 64, maxPositions: 256, vocabSize: 1000 } },
    adaptation: { epochs: 1, maxSteps: 2, seqLen: 32, batchSize: 4, learningRate: 0.01 },
    generation: { samplesPerPrompt: 1, maxNewTokens: 12 },
    bootstrapResamples: 20,
    device: 'cpu',
  },
  // About 1–3 hours on a 2-core machine.
  small: {
    description: 'all 500 training notes; taggers from scratch (2 layers, width 128, 3 epochs); the tiny GPT-2 and LLaMA fixtures as generators (one epoch of adaptation); 96 new tokens per note; one seed',
    limit: { train: null, dev: null },
    seeds: [1],
    tagger: { epochs: 3, batchSize: 16, learningRate: 0.001, scratch: { hiddenSize: 128, numLayers: 2, numHeads: 4, intermediateSize: 512, maxPositions: 512, vocabSize: 8000 } },
    adaptation: { epochs: 1, seqLen: 128, batchSize: 8, learningRate: 0.001 },
    generation: { sizeMultiple: 1, maxNewTokens: 96 },
    bootstrapResamples: 1000,
    device: 'cpu',
  },
  // What a user runs on a GPU with real checkpoints (--generator, --generator-b).
  full: {
    description: 'all notes; taggers of 4 layers, width 256, 6 epochs; the generators you pass, adapted with LoRA r 8, alpha 32; a synthetic corpus 4× the real one, 256 new tokens; three seeds',
    limit: { train: null, dev: null },
    seeds: [1, 2, 3],
    tagger: { epochs: 6, batchSize: 16, learningRate: 0.0005, scratch: { hiddenSize: 256, numLayers: 4, numHeads: 4, intermediateSize: 1024, maxPositions: 512, vocabSize: 8000 } },
    adaptation: { epochs: 1, seqLen: 256, batchSize: 8, lora: { r: 8, alpha: 32 } },
    generation: { sizeMultiple: 4, maxNewTokens: 256 },
    bootstrapResamples: 1000,
    device: 'cuda',
  },
};

/** The paper's MEDDOCAN token F1 (method notes), by table and axis value: [gold, synthetic]. */
const PAPER: Record<string, Record<string, [number | null, number | null]>> = {
  'same-fraction': { '0.05': [0.931, 0.309], '0.25': [0.967, 0.964], '0.5': [0.973, 0.97], '0.95': [0.978, 0.973] },
  'generator-fraction': { '0': [null, 0.295], '0.05': [null, 0.313], '0.25': [null, 0.97], '0.5': [null, 0.97], '0.95': [null, 0.973] },
  'annotator-fraction': {},
  'synthetic-size': { '0.05': [null, 0.938], '1': [null, 0.968], '4': [null, 0.973] },
  'generator-size': { small: [null, 0.973], large: [null, 0.973] },
};

interface Table {
  key: keyof typeof PAPER;
  title: string;
  axis: string;
  values: (number | string)[];
  /** Fixed fractions of the other parts. */
  base: { annotatorFraction: number; generatorFraction: number };
}

function tables(generators: { a: string; b: string }): Table[] {
  return [
    { key: 'same-fraction', title: 'Same fraction everywhere', axis: 'fraction', values: FRACTIONS, base: { annotatorFraction: 0.95, generatorFraction: 0.95 } },
    { key: 'generator-fraction', title: 'Generator fraction, annotator fixed at 95%', axis: 'generator.adaptation.fraction', values: [0, ...FRACTIONS], base: { annotatorFraction: 0.95, generatorFraction: 0.95 } },
    { key: 'annotator-fraction', title: 'Annotator fraction, generator fixed at 95%', axis: 'annotator.fraction', values: FRACTIONS, base: { annotatorFraction: 0.95, generatorFraction: 0.95 } },
    { key: 'synthetic-size', title: 'Synthetic corpus size (multiple of the real training corpus)', axis: 'generation.sizeMultiple', values: [0.05, 1, 4], base: { annotatorFraction: 0.95, generatorFraction: 0.95 } },
    { key: 'generator-size', title: 'Generator', axis: 'generator.baseModelId', values: [generators.a, generators.b], base: { annotatorFraction: 0.95, generatorFraction: 0.95 } },
  ];
}

// ---- the API ----

class Api {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  async query(query: string, variables: Record<string, unknown> = {}): Promise<Json> {
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await fetch(`${this.url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
          body: JSON.stringify({ query, variables }),
        });
        const body = (await response.json()) as { data?: Json; errors?: { message: string; extensions?: { code?: string } }[] };
        if (body.errors?.length) throw new ApiError(body.errors.map((e) => `${e.extensions?.code}: ${e.message}`).join('; '));
        return body.data;
      } catch (error) {
        // A busy server can drop a connection; the API is idempotent for these reads and creates are by name.
        if (error instanceof ApiError || attempt >= 5) throw error;
        await new Promise((r) => setTimeout(r, 1000 * (attempt + 1)));
      }
    }
  }

  async download(route: string): Promise<Buffer> {
    const response = await fetch(`${this.url}${route}`, { headers: { authorization: `Bearer ${this.token}` } });
    if (!response.ok) throw new ApiError(`GET ${route}: ${response.status} ${await response.text()}`);
    return Buffer.from(await response.arrayBuffer());
  }

  async waitForJob(id: string): Promise<Json> {
    while (true) {
      const { job } = await this.query(`query($id: ID!) { job(id: $id) { status result error } }`, { id });
      if (job.status === 'SUCCEEDED') return job.result;
      if (['FAILED', 'CANCELLED'].includes(job.status)) throw new ApiError(`job ${id} ${job.status}: ${job.error}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

class ApiError extends Error {}

// ---- setup: corpus and generators, found by name or imported once ----

async function ensureCorpus(api: Api, name: string, dataDir: string, limit: Preset['limit']): Promise<string> {
  const { corpora } = await api.query(`query($name: String!) { corpora(nameContains: $name, first: 50) { edges { node { id name } } } }`, { name });
  const found = corpora.edges.find((e: Json) => e.node.name === name);
  if (found) return found.node.id;
  const files: Record<string, Uint8Array> = {};
  const add = (from: string, split: string, stems: string[]) => {
    for (const stem of stems) for (const ext of ['.txt', '.ann']) files[`${split}/${stem}${ext}`] = fs.readFileSync(path.join(dataDir, from, stem + ext));
  };
  const stems = (split: string, n: number | null) => fs.readdirSync(path.join(dataDir, split)).filter((f) => f.endsWith('.txt')).sort().slice(0, n ?? undefined).map((f) => f.slice(0, -4));
  const dev = stems('dev', limit.dev);
  const half = Math.floor(dev.length / 2);
  add('train', 'train', stems('train', limit.train));
  add('dev', 'prompt', dev.slice(0, half));
  add('dev', 'test', dev.slice(half));
  console.log(`Importing ${Object.keys(files).length / 2} MEDDOCAN documents from ${dataDir} as "${name}" (train; dev halves as prompt and test).`);
  const { importCorpus } = await api.query(`mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`, {
    input: { name, fileName: 'meddocan.zip', contentBase64: Buffer.from(zipSync(files, { level: 1 })).toString('base64') },
  });
  return (await api.waitForJob(importCorpus.id)).corpusId;
}

async function ensureModel(api: Api, name: string, folder: string): Promise<string> {
  const { models } = await api.query(`{ models(kind: GENERATOR, first: 200) { edges { node { id name } } } }`);
  const found = models.edges.find((e: Json) => e.node.name === name);
  if (found) return found.node.id;
  const files = Object.fromEntries(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].filter((f) => fs.existsSync(path.join(folder, f))).map((f) => [f, fs.readFileSync(path.join(folder, f))]));
  console.log(`Importing the generator ${folder} as "${name}".`);
  const { importModel } = await api.query(`mutation($input: ImportModelInput!) { importModel(input: $input) { id } }`, {
    input: { name, kind: 'GENERATOR', contentBase64: Buffer.from(zipSync(files)).toString('base64'), containsPhi: false },
  });
  return importModel.id;
}

// ---- ablations: created once, resumed on every later run ----

async function ensureAblation(api: Api, name: string, input: Json): Promise<string> {
  const { ablations } = await api.query(`query($name: String!) { ablations(nameContains: $name, first: 50) { edges { node { id name status paused } } } }`, { name });
  const found = ablations.edges.find((e: Json) => e.node.name === name)?.node;
  if (!found) {
    const { createAblation } = await api.query(`mutation($input: CreateAblationInput!) { createAblation(input: $input) { ablation { id } cells stepsToRun stepsReused } }`, { input: { ...input, name } });
    console.log(`${name}: ${createAblation.cells} cells, ${createAblation.stepsToRun} steps to run, ${createAblation.stepsReused} reused.`);
    return createAblation.ablation.id;
  }
  if (found.status !== 'SUCCEEDED') {
    // Unpauses and reruns the cells that failed or were cancelled; finished steps are reused.
    await api.query(`mutation($id: ID!) { resumeAblation(id: $id) { id } }`, { id: found.id });
    console.log(`${name}: resumed (was ${found.status}).`);
  } else console.log(`${name}: found (${found.status}).`);
  return found.id;
}

// ---- progress ----

const STEPS = `query($id: ID!) { ablation(id: $id) { status experiments(first: 200) { edges { node { name status steps { name status job { progress etaSeconds } } } } } } }`;

async function follow(api: Api, ablations: { name: string; id: string }[]) {
  const tty = process.stdout.isTTY;
  let drawn = 0;
  while (true) {
    const lines: string[] = [];
    let finished = 0;
    for (const a of ablations) {
      const { ablation } = await api.query(STEPS, { id: a.id });
      const cells = ablation.experiments.edges.map((e: Json) => e.node);
      const done = cells.filter((c: Json) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(c.status)).length;
      if (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(ablation.status)) finished++;
      lines.push(`${a.name}: ${ablation.status.toLowerCase()}, ${done}/${cells.length} cells`);
      for (const cell of cells) {
        for (const step of cell.steps.filter((s: Json) => s.status === 'RUNNING')) lines.push(`  ${bar(step.job?.progress ?? 0)} ${step.name.padEnd(24)} ${eta(step.job?.etaSeconds)}  ${cell.name}`);
      }
    }
    if (tty) {
      process.stdout.write(`\x1b[${drawn}A\x1b[0J`.repeat(drawn ? 1 : 0) + lines.join('\n') + '\n');
      drawn = lines.length;
    } else console.log(lines.filter((l) => !l.startsWith('  ')).join(' | '));
    if (finished === ablations.length) return;
    await new Promise((r) => setTimeout(r, tty ? 1000 : 15000));
  }
}

const bar = (fraction: number, width = 20) => `[${'#'.repeat(Math.round(fraction * width)).padEnd(width, '.')}] ${(100 * fraction).toFixed(0).padStart(3)}%`;
const eta = (seconds: number | null | undefined) => (seconds == null ? '        ' : `eta ${seconds < 90 ? `${seconds.toFixed(0)} s` : `${(seconds / 60).toFixed(0)} min`}`.padEnd(12));

// ---- the report ----

async function report(api: Api, preset: string, p: Preset, made: { table: Table; id: string; name: string }[], generatorNames: Record<string, string>, outDir: string, started: number) {
  const figures = path.join(outDir, preset);
  fs.mkdirSync(figures, { recursive: true });
  const fmt = (a: Json) => (a ? `${a.mean.toFixed(3)}${a.sd !== null ? ` ± ${a.sd.toFixed(3)}` : ''}` : 'n/a');
  const paper = (v: number | null) => (v === null ? '—' : v.toFixed(3));
  const out: string[] = [
    `# Reproduction on MEDDOCAN: preset \`${preset}\``,
    '',
    `Written by \`npm run reproduce -- --preset ${preset}\` on ${new Date().toISOString().slice(0, 10)}. Token F1 (the paper's metric) on the test half of dev; mean ± sd over seeds ${p.seeds.join(', ')}. The paper's numbers (MEDDOCAN, from its summary in the method notes) are beside ours: its annotator is a pretrained RoBERTa and its generator a pretrained 6.3B LLM, while no pretrained weights reach this machine, so compare the shapes of the curves, not the levels.`,
    '',
    `**Settings.** ${p.description}. Device: ${p.device}. Bootstrap: ${p.bootstrapResamples} resamples.`,
    '',
  ];
  for (const { table, id } of made) {
    const { ablation } = await api.query(
      `query($id: ID!) { ablation(id: $id) { status createdAt finishedAt table(metric: "token_f1") { values cellsDone cells gold { mean sd } synthetic { mean sd } gap { mean sd } ngramOverlap { mean } } entity: table(metric: "entity_f1") { synthetic { mean sd } } } }`,
      { id },
    );
    const minutes = ablation.finishedAt ? ((Date.parse(ablation.finishedAt) - Date.parse(ablation.createdAt)) / 60000).toFixed(1) : 'n/a';
    out.push(`## ${table.title}`, '', `Axis \`${table.axis}\`; ${ablation.status.toLowerCase()}, ${minutes} min from creation to the last cell (steps shared with earlier tables were reused).`, '');
    out.push('| value | gold F1 | synthetic F1 | gap | synthetic entity F1 | 5-gram overlap | paper gold | paper synthetic |', '|---|---|---|---|---|---|---|---|');
    ablation.table.forEach((row: Json, i: number) => {
      const value = row.values[table.axis];
      const label = table.axis === 'generator.baseModelId' ? generatorNames[value] ?? value : String(value);
      const [pg, ps] = PAPER[table.key]![table.axis === 'generator.baseModelId' ? (i === 0 ? 'small' : 'large') : String(value)] ?? [null, null];
      out.push(`| ${label} | ${fmt(row.gold)} | ${fmt(row.synthetic)} | ${fmt(row.gap)} | ${fmt(ablation.entity[i]?.synthetic)} | ${row.ngramOverlap ? row.ngramOverlap.mean.toFixed(3) : 'n/a'} | ${paper(pg)} | ${paper(ps)} |`);
    });
    for (const kind of ['scores', 'gap', 'privacy']) {
      fs.writeFileSync(path.join(figures, `${table.key}-${kind}.svg`), await api.download(`/ablations/${id}/plots/${kind}.svg`));
    }
    out.push('', `![${table.title}](${preset}/${table.key}-scores.svg) ![gap](${preset}/${table.key}-gap.svg) ![privacy](${preset}/${table.key}-privacy.svg)`, '');
  }
  const cpu = os.cpus();
  out.push('## Hardware and time', '', `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}. This run of the tool: ${((Date.now() - started) / 60000).toFixed(1)} min (a resumed run counts only its own time).`, '');
  const file = path.join(outDir, `${preset}.md`);
  fs.writeFileSync(file, out.join('\n'));
  console.log(`Wrote ${file} and ${figures}/.`);
}

// ---- main ----

function args(argv: string[]) {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]!);
    if (!match) throw new Error(`unexpected argument ${argv[i]}; see the header of src/tools/reproduce.ts`);
    out[match[1]!] = match[2] ?? argv[++i] ?? '';
  }
  return out;
}

async function main() {
  const a = args(process.argv.slice(2));
  const preset = a.preset ?? 'small';
  const p = PRESETS[preset];
  if (!p) throw new Error(`--preset must be one of ${Object.keys(PRESETS).join(', ')}`);
  const token = a.token ?? process.env.DEID_TOKEN;
  if (!token) throw new Error('Give an API token: DEID_TOKEN=dsk_… (or --token).');
  const api = new Api(a.url ?? process.env.DEID_URL ?? 'http://localhost:4000', token);
  const started = Date.now();
  const fixtures = path.resolve('../shared/fixtures/hf-tiny');
  const dataDir = path.resolve(a.data ?? '../shared/data/meddocan');
  const corpusId = await ensureCorpus(api, `reproduce ${preset}: meddocan`, dataDir, p.limit);
  const folders = { a: path.resolve(a.generator ?? path.join(fixtures, 'gpt2-tiny')), b: path.resolve(a['generator-b'] ?? path.join(fixtures, 'llama-tiny')) };
  const ids = { a: await ensureModel(api, `reproduce: ${path.basename(folders.a)}`, folders.a), b: await ensureModel(api, `reproduce: ${path.basename(folders.b)}`, folders.b) };
  const generatorNames = { [ids.a]: path.basename(folders.a), [ids.b]: path.basename(folders.b) };

  const made: { table: Table; id: string; name: string }[] = [];
  for (const table of tables(ids)) {
    const base = {
      name: table.key,
      corpusId,
      trainSplit: 'train',
      promptSplit: 'prompt',
      testSplit: a['test-split'] ?? 'test',
      device: p.device,
      annotator: { ...p.tagger, fraction: table.base.annotatorFraction },
      syntheticTagger: p.tagger,
      generator: { baseModelId: ids.a, adaptation: { ...p.adaptation, fraction: table.base.generatorFraction } },
      generation: p.generation,
      guard: { action: 'FLAG' },
      evaluation: { bootstrapResamples: p.bootstrapResamples },
    };
    const name = `reproduce ${preset}: ${table.key}`;
    made.push({ table, name, id: await ensureAblation(api, name, { base, axes: [{ field: table.axis, values: table.values }], seeds: p.seeds }) });
  }
  await follow(api, made);
  await report(api, preset, p, made, generatorNames, path.resolve(a.out ?? 'docs/reproduction'), started);
}

main().catch((error) => {
  console.error(error instanceof ApiError ? `The API refused: ${error.message}` : (error as Error).message);
  process.exit(1);
});
