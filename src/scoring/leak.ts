import { ScoringErrorCode as C, ScoringInputError } from './errors.js';
import { matchEntities } from './entity.js';
import { type AlignedDocument, type InputOptions, alignDocuments } from './input.js';
import { ratio } from './prf.js';
import type { PredictedDocument, ScoringDocument } from './types.js';
import { SCORER_VERSION } from './version.js';

// Abbreviations after which FreeLing (which split the official sentence files) does not end a sentence.
const ABBREVIATIONS = new Set(['dr', 'dra', 'drs', 'sr', 'sra', 'srta', 'sres', 'd', 'dña', 'av', 'avda', 'ud', 'uds', 'núm', 'tel', 'telf', 'pág']);
const UPPER = /^\p{Lu}$/u;
const LOWER_OR_DIGIT = /^[\p{Ll}\p{N}]$/u;
const DOTTED_ACRONYM = /^(?:\p{L}\.)+\p{L}$/u;
const TRAILING_LETTERS = /\p{L}+$/u;

/**
 * Approximate sentence count for the leak score. The official script counts the lines of a FreeLing
 * sentence-split file per document (one line per sentence-final token); those files exist only for
 * its 15 sample documents. This rule reproduces all 15 counts exactly (427 sentences); elsewhere it is
 * an approximation of FreeLing (docs/scoring.md):
 * a run of '.', '?' or '!' ends a sentence when followed by whitespace or the end of the text, or,
 * for a single '.', by an uppercase letter right after a lowercase letter or digit ("2014.El"); a
 * single '.' does not end one after a lone uppercase letter (initials, "Sexo: H."), a dotted acronym
 * ("A.I.N.E.") or a title abbreviation ("Dr.", "Dra.", "Av.").
 */
export function countSentences(text: string): number {
  let count = 0;
  const re = /[.?!]+/g;
  for (const m of text.matchAll(re)) {
    const i = m.index;
    const run = m[0];
    const next = text[i + run.length] ?? '';
    const prev = text[i - 1] ?? '';
    const boundary = next === '' || /\s/.test(next) || (run === '.' && UPPER.test(next) && LOWER_OR_DIGIT.test(prev));
    if (!boundary) continue;
    if (run === '.') {
      let j = i;
      while (j > 0 && !/\s/.test(text[j - 1]!)) j--;
      const token = text.slice(j, i);
      if (DOTTED_ACRONYM.test(token)) continue;
      const letters = TRAILING_LETTERS.exec(token)?.[0] ?? '';
      if (letters.length === 1 && UPPER.test(letters)) continue;
      if (ABBREVIATIONS.has(letters.toLowerCase())) continue;
    }
    count++;
  }
  return count;
}

export interface LeakOptions extends InputOptions {
  /** Sentence count per document id, e.g. from the official FreeLing files; default countSentences(text). */
  sentenceCounts?: Readonly<Record<string, number>>;
}

export interface LeakScore {
  scorerVersion: string;
  documents: number;
  /** Σ false negatives of subtrack 1 (typed) / Σ sentences — classes.py micro_leak. 0 when there are no sentences. */
  leak: number;
  falseNegatives: number;
  sentences: number;
  sentenceSource: 'provided' | 'heuristic';
}

export function leakFromDocs(docs: readonly AlignedDocument[], sentenceCounts?: Readonly<Record<string, number>>): LeakScore {
  let falseNegatives = 0;
  let sentences = 0;
  for (const doc of docs) {
    falseNegatives += matchEntities(doc).fn.length;
    if (sentenceCounts) {
      const n = sentenceCounts[doc.id];
      if (n === undefined || !Number.isInteger(n) || n < 0) {
        throw new ScoringInputError(C.MISSING_SENTENCE_COUNT, `sentenceCounts has no valid count for document "${doc.id}" (got ${JSON.stringify(n)}); give a non-negative integer for every scored document, or omit sentenceCounts to use the built-in sentence counter.`, { docId: doc.id });
      }
      sentences += n;
    } else {
      sentences += countSentences(doc.text.text);
    }
  }
  return {
    scorerVersion: SCORER_VERSION,
    documents: docs.length,
    leak: ratio(falseNegatives, sentences),
    falseNegatives,
    sentences,
    sentenceSource: sentenceCounts ? 'provided' : 'heuristic',
  };
}

/** The official leak score: gold PHI mentions the system missed (subtrack-1 false negatives) per sentence. */
export function leakScore(gold: readonly ScoringDocument[], predicted: readonly PredictedDocument[], options: LeakOptions = {}): LeakScore {
  return leakFromDocs(alignDocuments(gold, predicted, options), options.sentenceCounts);
}
