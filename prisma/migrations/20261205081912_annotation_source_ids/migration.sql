-- AlterTable
ALTER TABLE "Annotation" ADD COLUMN     "sourceId" TEXT,
ADD COLUMN     "sourceOrder" INTEGER;
