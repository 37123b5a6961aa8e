-- A corpus's content hash now includes its PHI flag (src/corpora/corpus.repository.ts): forget the
-- hashes cached without it, so they are computed again on next use.
UPDATE "Corpus" SET "contentHash" = NULL;
