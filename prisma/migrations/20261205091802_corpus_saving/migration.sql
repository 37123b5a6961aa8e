-- AlterTable
ALTER TABLE "Corpus" ADD COLUMN     "saving" BOOLEAN NOT NULL DEFAULT false;
