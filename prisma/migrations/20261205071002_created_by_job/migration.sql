-- AlterTable
ALTER TABLE "Corpus" ADD COLUMN     "createdByJobId" TEXT;

-- AlterTable
ALTER TABLE "Model" ADD COLUMN     "createdByJobId" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "Corpus_createdByJobId_key" ON "Corpus"("createdByJobId");

-- CreateIndex
CREATE UNIQUE INDEX "Model_createdByJobId_key" ON "Model"("createdByJobId");
