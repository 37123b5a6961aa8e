/**
 * Corpus import throughput through the API: MEDDOCAN train (500 documents, 11,333 spans) as a BRAT
 * zip, uploaded to a real server on the embedded database, timed from the mutation until the job
 * has SUCCEEDED (parsing, validation and the database transaction included). Target: under 5 s.
 *
 *   npm run build && npm run bench:import [-- runs]
 */
import { ApiClient } from '../test/support/client.js';
import { base64, meddocanZip } from '../test/support/meddocan.js';
import { startTestServer } from '../test/support/server.js';

const runs = Number(process.argv[2] ?? 3);
const database = (process.env.BENCH_DATABASE as 'embedded' | 'postgres') ?? 'embedded';
const server = await startTestServer(database, { LOG_LEVEL: 'warn' });
try {
  const api = new ApiClient(server.url, server.adminToken);
  const upload = base64(meddocanZip({ train: undefined }).bytes);
  const times: number[] = [];
  for (let run = 1; run <= runs; run++) {
    const started = performance.now();
    const { importCorpus } = await api.query(`mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`, {
      input: { name: `bench-${run}`, fileName: 'train.zip', contentBase64: upload },
    });
    const job = await api.waitForJob(importCorpus.id, 120_000);
    const seconds = (performance.now() - started) / 1000;
    if (job.status !== 'SUCCEEDED') throw new Error(`import failed: ${job.error}`);
    times.push(seconds);
    console.log(`run ${run}: ${job.result.documents} documents, ${job.result.spans} spans in ${seconds.toFixed(2)} s  (${(job.result.documents / seconds).toFixed(0)} docs/s, ${(job.result.spans / seconds).toFixed(0)} spans/s)`);
  }
  const sorted = [...times].sort((a, b) => a - b);
  console.log(`median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} s, best ${sorted[0]!.toFixed(2)} s on the ${database} database (target: under 5 s)`);
} finally {
  await server.stop();
}
