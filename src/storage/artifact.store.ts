/**
 * Content-addressed files (uploads, weights, exports) under <dataDir>/artifacts/<sha[0:2]>/<sha>.
 * The database keeps one Artifact row per content; writing the same bytes twice stores them once.
 * With several worker machines, dataDir must be shared storage (see README, "Scaling out").
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { PrismaClient } from '../generated/prisma/client.js';
import { AppError } from '../common/errors.js';

export class ArtifactStore {
  private readonly root: string;

  constructor(
    dataDir: string,
    private readonly prisma: PrismaClient,
  ) {
    this.root = path.join(dataDir, 'artifacts');
  }

  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new AppError('BAD_USER_INPUT', `"${sha256}" is not a sha256 artifact address.`);
    return path.join(this.root, sha256.slice(0, 2), sha256);
  }

  async put(bytes: Uint8Array, kind: string): Promise<{ id: string; sha256: string; size: number }> {
    const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
    const file = this.pathOf(sha256);
    if (!fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      // Write then rename, so a crash never leaves a truncated file under the final name.
      const partial = `${file}.${process.pid}.partial`;
      fs.writeFileSync(partial, bytes);
      fs.renameSync(partial, file);
    }
    const row = await this.prisma.artifact.upsert({
      where: { sha256 },
      update: {},
      create: { sha256, size: BigInt(bytes.byteLength), kind },
    });
    return { id: row.id, sha256, size: bytes.byteLength };
  }

  /**
   * Deletes these artifacts unless a model or a job (other than `exceptJobId`) still names them: how
   * an upload of PHI, an export or a report's details leave the disk once what they belong to is gone.
   */
  async release(sha256s: Iterable<string>, exceptJobId: string | null = null): Promise<number> {
    let removed = 0;
    for (const sha256 of new Set(sha256s)) {
      const row = await this.prisma.artifact.findUnique({ where: { sha256 }, include: { _count: { select: { modelWeights: true, modelTokenizer: true } } } });
      if (row && row._count.modelWeights + row._count.modelTokenizer > 0) continue;
      const [{ n }] = await this.prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM "Job" WHERE id <> ${exceptJobId ?? ''} AND (strpos(payload::text, ${sha256}) > 0 OR strpos(coalesce(result::text, ''), ${sha256}) > 0)`;
      if (n > 0) continue;
      if (row) await this.prisma.artifact.delete({ where: { sha256 } });
      fs.rmSync(this.pathOf(sha256), { force: true });
      removed++;
    }
    return removed;
  }

  read(sha256: string): Uint8Array {
    const file = this.pathOf(sha256);
    if (!fs.existsSync(file)) throw new AppError('NOT_FOUND', `Artifact ${sha256} is missing from ${this.root}; was the data directory moved?`);
    return fs.readFileSync(file);
  }
}
