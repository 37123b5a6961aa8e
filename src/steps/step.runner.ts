/**
 * The one way work is submitted: hash it (src/steps/input-hash.ts), then reuse an identical job the
 * user may read, or queue a new one that records its hash. Per-step mutations always run (a user who
 * asks twice gets two jobs) but record their hash, so experiments can reuse what was done by hand.
 */
import type { AuthUser } from '../auth/auth.types.js';
import type { CorpusRepository } from '../corpora/corpus.repository.js';
import type { ModelRepository } from '../models/model.repository.js';
import type { JobService, JobView } from '../jobs/job.service.js';
import type { JobName, JobPayloads } from '../jobs/types.js';
import { inputHash, type ContentHashes } from './input-hash.js';

/** Prefix of the id of an output a dry run plans but nobody has computed (see plannedOutput). */
const PLANNED = 'planned:';

/** Stand-ins for the ids a planned step will make, so the steps after it can be hashed in a dry run. */
export const plannedOutput = (inputHash: string) => ({ modelId: `${PLANNED}${inputHash}`, corpusId: `${PLANNED}${inputHash}` });

export class StepRunner {
  private readonly hashes: ContentHashes;

  constructor(
    private readonly jobs: JobService,
    corpora: Pick<CorpusRepository, 'contentHash'>,
    models: Pick<ModelRepository, 'contentHash'>,
  ) {
    // A planned output not computed yet ("planned:<hash of the step that will make it>") stands for its own content.
    const orPlanned = (lookup: (id: string) => Promise<string>) => (id: string) => (id.startsWith(PLANNED) ? Promise.resolve(id) : lookup(id));
    this.hashes = { corpus: orPlanned((id) => corpora.contentHash(id)), model: orPlanned((id) => models.contentHash(id)) };
  }

  hash<N extends JobName>(kind: N, payload: JobPayloads[N]): Promise<string> {
    return inputHash(kind, payload, this.hashes);
  }

  /** Queues the work as a new job with its input hash. */
  async submit<N extends JobName>(user: AuthUser, kind: N, payload: JobPayloads[N], device = 'cpu'): Promise<JobView> {
    return this.jobs.create(user, kind, payload, device, await this.hash(kind, payload));
  }

  /** An identical job the user may reuse (finished, or theirs and still under way), else a new one. */
  async reuseOrSubmit<N extends JobName>(user: AuthUser, kind: N, payload: JobPayloads[N], device = 'cpu'): Promise<{ job: JobView; reused: boolean; inputHash: string }> {
    const hash = await this.hash(kind, payload);
    const existing = await this.jobs.reusable(user, hash);
    if (existing) return { job: existing, reused: true, inputHash: hash };
    return { job: await this.jobs.create(user, kind, payload, device, hash), reused: false, inputHash: hash };
  }
}
