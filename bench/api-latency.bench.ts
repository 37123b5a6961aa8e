/**
 * API responsiveness while a CPU-heavy job runs: p50/p95/p99 latency of a simple query at a
 * steady 50 requests/s, first with the server idle, then while it trains a NER model (the
 * training runs in a worker thread); and fan-out of the training job's events to 100 WebSocket
 * subscribers (each must receive every event, in order). Target: p99 under 100 ms.
 *
 *   npm run build && npm run bench:api [-- seconds]
 */
import { ApiClient } from '../test/support/client.js';
import { base64, meddocanZip } from '../test/support/meddocan.js';
import { startTestServer } from '../test/support/server.js';

const seconds = Number(process.argv[2] ?? 20);
const RATE_PER_SECOND = 50;

async function measure(api: ApiClient, label: string): Promise<void> {
  const latencies: number[] = [];
  let failures = 0;
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < seconds * RATE_PER_SECOND; i++) {
    // Open-loop: requests are sent on schedule whether or not earlier ones returned.
    const due = start + (i * 1000) / RATE_PER_SECOND;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
    const sent = performance.now();
    inFlight.push(
      api.raw(`{ me { id role } }`).then(
        (r) => {
          if (r.errors) failures++;
          else latencies.push(performance.now() - sent);
        },
        () => {
          failures++;
        },
      ),
    );
  }
  await Promise.all(inFlight);
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(1);
  console.log(`${label.padEnd(34)} ${latencies.length} ok, ${failures} failed   p50 ${q(0.5)} ms   p95 ${q(0.95)} ms   p99 ${q(0.99)} ms   max ${q(1)} ms`);
}

const server = await startTestServer('embedded', { LOG_LEVEL: 'warn' });
try {
  const api = new ApiClient(server.url, server.adminToken);
  const { importCorpus } = await api.query(`mutation($input: ImportCorpusInput!) { importCorpus(input: $input) { id } }`, {
    input: { name: 'bench', fileName: 'm.zip', contentBase64: base64(meddocanZip({ train: 200 }).bytes) },
  });
  const corpusId = (await api.waitForJob(importCorpus.id)).result.corpusId;
  await measure(api, 'idle server');

  const { trainNerModel } = await api.query(`mutation($input: TrainNerModelInput!) { trainNerModel(input: $input) { id } }`, {
    input: { name: 'bench-train', corpusId, epochs: 50, batchSize: 16, scratch: { hiddenSize: 256, numLayers: 4, numHeads: 4, intermediateSize: 1024, maxPositions: 512, vocabSize: 8000 } },
  });
  // 100 subscribers on the training job while we measure.
  const clients = Array.from({ length: 100 }, () => api.ws());
  const streams = clients.map((ws) =>
    api.collect(ws, `subscription($id: ID!) { jobEvents(id: $id) { seq kind status } }`, { id: trainNerModel.id }, (e: any) => e.jobEvents.status === 'CANCELLED'),
  );
  await new Promise((r) => setTimeout(r, 3000));
  await measure(api, 'while training a NER model (CPU)');
  await api.query(`mutation($id: ID!) { cancelJob(id: $id) { id } }`, { id: trainNerModel.id });
  const received = await Promise.all(streams);
  await Promise.all(clients.map((ws) => ws.dispose()));
  const complete = received.filter((events) => {
    const seqs = events.map((e: any) => e.jobEvents.seq);
    return seqs.slice(1).every((seq: number, i: number) => i === 0 || seq === seqs[i] + 1);
  });
  const counts = received.map((events) => events.length);
  console.log(`fan-out: ${complete.length}/100 subscribers got an unbroken, ordered event stream (${Math.min(...counts)}–${Math.max(...counts)} events each)`);
} finally {
  await server.stop();
}
