-- DropIndex
DROP INDEX "Step_experimentId_idx";

-- AlterTable
ALTER TABLE "Corpus" ADD COLUMN     "contentHash" TEXT;

-- AlterTable
ALTER TABLE "Experiment" ADD COLUMN     "error" TEXT,
ADD COLUMN     "finishedAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Job" ADD COLUMN     "inputHash" TEXT;

-- AlterTable
ALTER TABLE "Step" ADD COLUMN     "finishedAt" TIMESTAMP(3),
ADD COLUMN     "reused" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE INDEX "Job_inputHash_idx" ON "Job"("inputHash");

-- CreateIndex
CREATE INDEX "Step_jobId_idx" ON "Step"("jobId");

-- CreateIndex
CREATE UNIQUE INDEX "Step_experimentId_name_key" ON "Step"("experimentId", "name");
