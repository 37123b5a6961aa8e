-- AlterTable
ALTER TABLE "Ablation" ADD COLUMN     "baseSpec" JSONB NOT NULL DEFAULT '{}',
ADD COLUMN     "finishedAt" TIMESTAMP(3),
ADD COLUMN     "paused" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "status" "RunStatus" NOT NULL DEFAULT 'QUEUED';

-- AlterTable
ALTER TABLE "Experiment" ADD COLUMN     "cell" JSONB,
ADD COLUMN     "seed" INTEGER;
