/** API tests that run a job on `webgpu` and hold on either kind of machine. */
import type { ApiClient } from './client.js';

const EVENTS = `subscription($id: ID!) { jobEvents(id: $id) { seq kind status message } }`;

/**
 * Waits for a job started on `webgpu` and returns it with the placement lines its log holds for
 * `session` (runtime/placement.ts). With a WebGPU adapter (a GPU, or Mesa's software lavapipe)
 * the job runs there; without one it fails naming WebGPU, which the caller checks.
 */
export async function webgpuJob(api: ApiClient, jobId: string, session: string): Promise<{ job: any; placement: string[] }> {
  const ws = api.ws();
  const events = (await api.collect(ws, EVENTS, { id: jobId })).map((e: any) => e.jobEvents);
  await ws.dispose();
  const job = await api.waitForJob(jobId);
  const placement = events.filter((e: any) => e.kind === 'LOG' && e.message.startsWith(`webgpu, ${session} (profiled run 2): `)).map((e: any) => e.message as string);
  return { job, placement };
}
