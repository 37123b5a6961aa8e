-- AlterTable
ALTER TABLE "Model" ADD COLUMN     "containsPhi" BOOLEAN NOT NULL DEFAULT true;

-- Backfill by lineage: a model is public only if it was trained on a corpus without PHI and its base
-- model (if any) is public. Imported checkpoints stay private, as they were (owner only).
WITH RECURSIVE "PublicModel" AS (
  SELECT m."id" FROM "Model" m JOIN "Corpus" c ON c."id" = m."trainedOnCorpusId"
   WHERE NOT c."containsPhi" AND m."baseModelId" IS NULL
  UNION
  SELECT m."id" FROM "Model" m JOIN "Corpus" c ON c."id" = m."trainedOnCorpusId" JOIN "PublicModel" p ON p."id" = m."baseModelId"
   WHERE NOT c."containsPhi"
)
UPDATE "Model" SET "containsPhi" = false WHERE "id" IN (SELECT "id" FROM "PublicModel");
