/** The only place that reads and writes experiments and their steps in the database. */
import type { Experiment, Prisma, PrismaClient, Step } from '../generated/prisma/client.js';
import type { AuthUser } from '../auth/auth.types.js';

const JOB_FIELDS = { status: true, result: true, error: true, progress: true, etaSeconds: true } as const;
export type StepWithJob = Step & { job: Prisma.JobGetPayload<{ select: typeof JOB_FIELDS }> | null };

export class ExperimentRepository {
  constructor(private readonly prisma: PrismaClient) {}

  create(data: { name: string; ownerId: string; config: Prisma.InputJsonValue; ablationId?: string | null; cell?: Prisma.InputJsonValue; seed?: number }) {
    return this.prisma.experiment.create({ data });
  }

  findById(id: string) {
    return this.prisma.experiment.findUnique({ where: { id } });
  }

  /** Experiments that have not ended: resumed when a process that runs jobs starts. */
  unfinishedIds() {
    return this.prisma.experiment.findMany({ where: { status: { in: ['QUEUED', 'RUNNING'] } }, select: { id: true } }).then((rows) => rows.map((row) => row.id));
  }

  update(id: string, data: Prisma.ExperimentUpdateInput): Promise<Experiment> {
    return this.prisma.experiment.update({ where: { id }, data });
  }

  delete(id: string) {
    return this.prisma.experiment.delete({ where: { id } });
  }

  owner(ownerId: string): Promise<AuthUser> {
    return this.prisma.user.findUniqueOrThrow({ where: { id: ownerId }, select: { id: true, email: true, role: true } });
  }

  steps(experimentId: string): Promise<StepWithJob[]> {
    return this.prisma.step.findMany({
      where: { experimentId },
      orderBy: { createdAt: 'asc' },
      include: { job: { select: JOB_FIELDS } },
    });
  }

  /** Claims the step's name in the experiment; null when another call claimed it first. */
  async claimStep(data: { experimentId: string; name: string; kind: string; params: Prisma.InputJsonValue }): Promise<Step | null> {
    try {
      return await this.prisma.step.create({ data: { ...data, inputHash: '' } });
    } catch (error) {
      if ((error as { code?: string }).code === 'P2002') return null;
      throw error;
    }
  }

  updateStep(id: string, data: Prisma.StepUncheckedUpdateInput) {
    return this.prisma.step.update({ where: { id }, data });
  }

  deleteUnfinishedSteps(experimentId: string) {
    return this.prisma.step.deleteMany({ where: { experimentId, status: { not: 'SUCCEEDED' } } });
  }

  async ablationPaused(ablationId: string): Promise<boolean> {
    const ablation = await this.prisma.ablation.findUnique({ where: { id: ablationId }, select: { paused: true } });
    return ablation?.paused ?? false;
  }

  /** Experiments (other than this one) with a step computed by one of these jobs. */
  async experimentsUsingJobs(jobIds: string[], except: string | null = null) {
    const rows = await this.prisma.step.findMany({ where: { jobId: { in: jobIds }, ...(except ? { experimentId: { not: except } } : {}) }, select: { experimentId: true, jobId: true } });
    return rows;
  }
}
