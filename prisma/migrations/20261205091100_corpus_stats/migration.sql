-- AlterTable
ALTER TABLE "Corpus" ADD COLUMN     "stats" JSONB;
