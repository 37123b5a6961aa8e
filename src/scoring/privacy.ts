import { ScoringErrorCode as C, ScoringInputError } from './errors.js';
import { NgramTable, hashNgram } from './ngram-table.js';
import { CodePointText, WORD_CHAR, charAt, charBefore } from './text.js';
import type { PlainDocument, ScoringDocument } from './types.js';
import { SCORER_VERSION } from './version.js';

export interface PrivacyOptions {
  /** Words per n-gram for overlap, copied passages and similarity (default 5). */
  n?: number;
  /** Compare words case-sensitively (default false: words are lower-cased, the stricter test for privacy). */
  caseSensitive?: boolean;
  /** Ignore real PHI strings shorter than this many code points (default 1: keep all). */
  phiMinLength?: number;
  /** Examples of reproduced PHI strings to return, most frequent first (default 50). */
  maxPhiExamples?: number;
}

const WORD_RE = /[\p{L}\p{M}\p{N}]+/gu;

interface Words {
  ids: Int32Array;
  /** UTF-16 offset of each word in its text, and its UTF-16 end. */
  starts: Int32Array;
  ends: Int32Array;
}

/** Distinct real PHI string with every label it was annotated with. */
interface PhiString {
  text: string;
  labels: string[];
  /** UTF-16 length of the text before its first word; the first word keys the lookup. */
  prefix: number;
}

/**
 * The real (training) corpus, indexed once and reusable across synthetic corpora:
 * word ids, an n-gram table with every occurrence (for copied passages) and the distinct documents
 * holding each n-gram (an inverted index, for nearest-document similarity), and the gold PHI strings.
 */
export class RealCorpusIndex {
  readonly n: number;
  readonly caseSensitive: boolean;
  readonly docIds: string[];
  readonly texts: string[];
  /** Raw word → canonical id; canonical ids below vocabSize occur in the real corpus. */
  readonly vocab = new Map<string, number>();
  private readonly canonical = new Map<string, number>();
  vocabSize = 0;
  /** All real words, document after document, each document followed by the sentinel -1. */
  readonly words: Int32Array;
  readonly wordStarts: Int32Array;
  readonly wordEnds: Int32Array;
  /** Offset of document d's first word in `words`; docStart[docs] = words.length. */
  readonly docStart: Int32Array;
  readonly table: NgramTable;
  /** CSR: occurrences of n-gram g are occPos[occStart[g] .. occStart[g+1]) (positions in `words`). */
  readonly occStart: Int32Array;
  readonly occPos: Int32Array;
  /** CSR: distinct documents of n-gram g, ascending. */
  readonly postStart: Int32Array;
  readonly postDoc: Int32Array;
  /** Distinct n-grams per real document. */
  readonly docNgrams: Int32Array;
  readonly phi: PhiString[];
  readonly phiByFirstWord = new Map<string, number[]>();
  readonly phiWithoutWord: number[] = [];
  readonly phiMinLength: number;

  constructor(real: readonly ScoringDocument[], options: PrivacyOptions = {}) {
    this.n = options.n ?? 5;
    this.caseSensitive = options.caseSensitive ?? false;
    this.phiMinLength = options.phiMinLength ?? 1;
    if (!Number.isInteger(this.n) || this.n < 1) {
      throw new ScoringInputError(C.INVALID_OPTION, `options.n must be a positive integer (5 is usual); got ${this.n}.`, { option: 'n', value: this.n });
    }
    if (real.length === 0) throw new ScoringInputError(C.EMPTY_GOLD, 'The real corpus is empty; pass the training documents the generator was adapted on.');
    this.docIds = real.map((d) => d.id);
    this.texts = real.map((d) => d.text);

    // 1. words → ids, documents separated by the sentinel -1 so no n-gram or copied run crosses them
    const perDoc = real.map((d) => this.tokenize(d.text, null));
    const total = perDoc.reduce((a, w) => a + w.ids.length + 1, 0);
    this.vocabSize = this.canonical.size;
    this.words = new Int32Array(total);
    this.wordStarts = new Int32Array(total);
    this.wordEnds = new Int32Array(total);
    this.docStart = new Int32Array(real.length + 1);
    let pos = 0;
    perDoc.forEach((w, d) => {
      this.docStart[d] = pos;
      this.words.set(w.ids, pos);
      this.wordStarts.set(w.starts, pos);
      this.wordEnds.set(w.ends, pos);
      pos += w.ids.length;
      this.words[pos++] = -1;
    });
    this.docStart[real.length] = pos;

    // 2. n-gram ids per position, then occurrence and posting lists (CSR)
    const n = this.n;
    const gramAt = new Int32Array(total).fill(-1);
    this.table = new NgramTable(total);
    const h = new Uint32Array(2);
    perDoc.forEach((w, d) => {
      const base = this.docStart[d]!;
      for (let i = 0; i + n <= w.ids.length; i++) {
        hashNgram(this.words, base + i, n, h);
        gramAt[base + i] = this.table.add(h[0]!, h[1]!);
      }
    });
    const grams = this.table.size;
    this.occStart = new Int32Array(grams + 1);
    this.postStart = new Int32Array(grams + 1);
    this.docNgrams = new Int32Array(real.length);
    const lastDoc = new Int32Array(grams).fill(-1);
    const docOf = (p: number): number => this.docOfPosition(p);
    for (let p = 0; p < total; p++) {
      const g = gramAt[p]!;
      if (g < 0) continue;
      this.occStart[g + 1]!++;
      const d = docOf(p);
      if (lastDoc[g] !== d) {
        lastDoc[g] = d;
        this.postStart[g + 1]!++;
        this.docNgrams[d]!++;
      }
    }
    for (let g = 0; g < grams; g++) {
      this.occStart[g + 1]! += this.occStart[g]!;
      this.postStart[g + 1]! += this.postStart[g]!;
    }
    this.occPos = new Int32Array(this.occStart[grams]!);
    this.postDoc = new Int32Array(this.postStart[grams]!);
    const occFill = this.occStart.slice(0, grams);
    const postFill = this.postStart.slice(0, grams);
    lastDoc.fill(-1);
    for (let p = 0; p < total; p++) {
      const g = gramAt[p]!;
      if (g < 0) continue;
      this.occPos[occFill[g]!++] = p;
      const d = docOf(p);
      if (lastDoc[g] !== d) {
        lastDoc[g] = d;
        this.postDoc[postFill[g]!++] = d;
      }
    }

    // 3. distinct gold PHI strings (case-sensitive), keyed by their first word
    const byText = new Map<string, Set<string>>();
    for (const doc of real) {
      const cpt = new CodePointText(doc.text);
      for (const s of doc.spans) {
        if (!(Number.isInteger(s.start) && Number.isInteger(s.end) && s.start >= 0 && s.start < s.end && s.end <= cpt.length)) {
          throw new ScoringInputError(C.OFFSET_OUT_OF_RANGE, `Real document "${doc.id}" has a span [${s.start}, ${s.end}) outside its text (${cpt.length} code points).`, { docId: doc.id, span: s });
        }
        const text = cpt.slice(s.start, s.end);
        if (new CodePointText(text).length < this.phiMinLength) continue;
        let labels = byText.get(text);
        if (!labels) byText.set(text, (labels = new Set()));
        labels.add(s.label);
      }
    }
    this.phi = [...byText].map(([text, labels]) => {
      const m = /[\p{L}\p{M}\p{N}]+/u.exec(text);
      return { text, labels: [...labels].sort(), prefix: m ? m.index : -1, first: m?.[0] };
    }).map(({ first, ...p }, i) => {
      if (first === undefined) this.phiWithoutWord.push(i);
      else {
        const list = this.phiByFirstWord.get(first);
        if (list) list.push(i);
        else this.phiByFirstWord.set(first, [i]);
      }
      return p;
    });
  }

  /** Document index of a position in `words` (binary search on docStart). */
  docOfPosition(p: number): number {
    let lo = 0;
    let hi = this.docIds.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.docStart[mid]! <= p) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Word ids of a text. With `extension` null the real vocabulary grows (indexing); otherwise words
   * unseen in the real corpus get fresh ids ≥ vocabSize from `extension`, which never match a real word.
   */
  tokenize(text: string, extension: Map<string, number> | null): Words {
    const ids: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    for (const m of text.matchAll(WORD_RE)) {
      const raw = m[0];
      let id = this.vocab.get(raw) ?? extension?.get(raw);
      if (id === undefined) {
        const key = this.caseSensitive ? raw : raw.toLowerCase();
        if (extension === null) {
          id = this.canonical.get(key);
          if (id === undefined) this.canonical.set(key, (id = this.canonical.size));
          this.vocab.set(raw, id);
        } else {
          id = this.canonical.get(key) ?? extension.get(`\u0000${key}`);
          if (id === undefined) extension.set(`\u0000${key}`, (id = this.vocabSize + extension.size));
          extension.set(raw, id);
        }
      }
      ids.push(id);
      starts.push(m.index);
      ends.push(m.index + raw.length);
    }
    return { ids: Int32Array.from(ids), starts: Int32Array.from(starts), ends: Int32Array.from(ends) };
  }
}

/** Index the real corpus once; pass the index to privacyReport for each synthetic corpus. */
export function indexRealCorpus(real: readonly ScoringDocument[], options: PrivacyOptions = {}): RealCorpusIndex {
  return new RealCorpusIndex(real, options);
}

export interface CopiedPassage {
  /** Length in words. */
  words: number;
  syntheticDocId: string;
  realDocId: string;
  /** The copied text as it reads in the synthetic document. */
  text: string;
}

export interface SyntheticDocumentPrivacy {
  id: string;
  /** Word n-gram positions in the document, and how many of them occur anywhere in the real corpus. */
  ngrams: number;
  matchedNgrams: number;
  /** matchedNgrams / ngrams (0 for a document with no n-gram). */
  overlap: number;
  /** Longest run of words found verbatim in one real document, in words (0 if none reaches n words). */
  longestCopiedWords: number;
  longestCopiedFrom: string | null;
  /** Real document with the highest Jaccard similarity of distinct word n-gram sets, and that similarity. */
  nearestRealDocId: string | null;
  nearestJaccard: number;
  /** Verbatim occurrences of real PHI strings in this document (same matching as phiReproduction). */
  phiOccurrences: number;
}

export interface PhiLabelReproduction {
  /** Distinct real PHI strings carrying this label. */
  realStrings: number;
  /** How many of them occur in the synthetic corpus. */
  reproduced: number;
  share: number;
  /** Total occurrences in the synthetic corpus of the reproduced strings. */
  occurrences: number;
}

export interface PrivacyReport {
  scorerVersion: string;
  n: number;
  caseSensitive: boolean;
  syntheticDocuments: number;
  realDocuments: number;
  ngramOverlap: {
    /** Σ matched n-grams / Σ n-grams over all synthetic documents (the paper's 5-gram overlap). */
    corpus: number;
    /** Mean of per-document overlap over synthetic documents with at least one n-gram. */
    documentMean: number;
    matchedNgrams: number;
    totalNgrams: number;
  };
  phiReproduction: {
    matching: string;
    realStrings: number;
    reproduced: number;
    share: number;
    occurrences: number;
    perLabel: Record<string, PhiLabelReproduction>;
    examples: { text: string; labels: string[]; occurrences: number }[];
  };
  longestCopied: CopiedPassage | null;
  nearestReal: { meanJaccard: number; maxJaccard: number };
  perDocument: SyntheticDocumentPrivacy[];
}

const PHI_MATCHING = 'exact, case-sensitive string; whole-word: a match may not continue a word on either side (no letter/mark/digit just before a PHI string that starts with one, or just after one that ends with one)';

function wholeWordAt(text: string, phi: string, s: number): boolean {
  if (s < 0 || !text.startsWith(phi, s)) return false;
  const e = s + phi.length;
  if (WORD_CHAR.test(charAt(phi, 0)) && WORD_CHAR.test(charBefore(text, s))) return false;
  if (WORD_CHAR.test(charBefore(phi, phi.length)) && WORD_CHAR.test(charAt(text, e))) return false;
  return true;
}

/**
 * Privacy metrics of a synthetic corpus against the real training corpus (docs/scoring.md, "Privacy").
 * `real` is an index from indexRealCorpus (reusable) or the real documents themselves.
 * Words are maximal runs of letters, marks and digits (punctuation is not a word); n-grams never
 * cross a document boundary.
 */
export function privacyReport(synthetic: readonly PlainDocument[], real: RealCorpusIndex | readonly ScoringDocument[], options: PrivacyOptions = {}): PrivacyReport {
  const index = real instanceof RealCorpusIndex ? real : new RealCorpusIndex(real, options);
  // a prebuilt index fixes n, case handling and phiMinLength; a different request here would be silently ignored
  for (const [name, wanted, have] of [['n', options.n, index.n], ['caseSensitive', options.caseSensitive, index.caseSensitive], ['phiMinLength', options.phiMinLength, index.phiMinLength]] as const) {
    if (wanted !== undefined && wanted !== have) {
      throw new ScoringInputError(C.INVALID_OPTION, `options.${name} is ${String(wanted)} but the real-corpus index was built with ${String(have)}; pass it to indexRealCorpus instead.`, { option: name, value: wanted });
    }
  }
  const n = index.n;
  const maxExamples = options.maxPhiExamples ?? 50;
  const extension = new Map<string, number>();
  const grams = index.table.size;
  const stamp = new Int32Array(grams).fill(-1);
  const inter = new Int32Array(index.docIds.length);
  const touched: number[] = [];
  const phiOccurrences = new Int32Array(index.phi.length);
  const h = new Uint32Array(2);
  const perDocument: SyntheticDocumentPrivacy[] = [];
  let totalNgrams = 0;
  let matchedNgrams = 0;
  let longest: (CopiedPassage & { words: number }) | null = null;

  synthetic.forEach((doc, sd) => {
    const w = index.tokenize(doc.text, extension);
    const ids = w.ids;
    const count = Math.max(0, ids.length - n + 1);
    let matched = 0;
    let bestLen = 0;
    let bestReal = -1;
    let bestSynStart = 0;
    const distinct = new Set<number>();
    for (let i = 0; i < count; i++) {
      hashNgram(ids, i, n, h);
      distinct.add((h[0]! & 0x1fffff) * 4294967296 + h[1]!);
      const g = index.table.get(h[0]!, h[1]!);
      if (g < 0) continue;
      matched++;
      // nearest document: each distinct matched n-gram adds 1 to the intersection of every real doc holding it
      if (stamp[g] !== sd) {
        stamp[g] = sd;
        for (let k = index.postStart[g]!; k < index.postStart[g + 1]!; k++) {
          const d = index.postDoc[k]!;
          if (inter[d]++ === 0) touched.push(d);
        }
      }
      // longest copied run: extend every occurrence that starts a maximal common run here
      for (let k = index.occStart[g]!; k < index.occStart[g + 1]!; k++) {
        const q = index.occPos[k]!;
        if (i > 0 && q > 0 && ids[i - 1] === index.words[q - 1]) continue; // run started earlier
        let len = n;
        while (i + len < ids.length && ids[i + len] === index.words[q + len]) len++;
        if (len > bestLen) {
          bestLen = len;
          bestReal = index.docOfPosition(q);
          bestSynStart = i;
        }
      }
    }
    let nearest = -1;
    let nearestJaccard = 0;
    for (const d of touched) {
      const j = inter[d]! / (distinct.size + index.docNgrams[d]! - inter[d]!);
      if (j > nearestJaccard || (j === nearestJaccard && d < nearest)) {
        nearestJaccard = j;
        nearest = d;
      }
      inter[d] = 0;
    }
    touched.length = 0;

    // verbatim PHI: candidate starts come from the first word of each real PHI string
    let phiInDocument = 0;
    for (let t = 0; t < ids.length; t++) {
      const cands = index.phiByFirstWord.get(doc.text.slice(w.starts[t]!, w.ends[t]!));
      if (!cands) continue;
      for (const p of cands) {
        const phi = index.phi[p]!;
        if (wholeWordAt(doc.text, phi.text, w.starts[t]! - phi.prefix)) {
          phiOccurrences[p]!++;
          phiInDocument++;
        }
      }
    }
    for (const p of index.phiWithoutWord) {
      const phi = index.phi[p]!.text;
      for (let s = doc.text.indexOf(phi); s >= 0; s = doc.text.indexOf(phi, s + 1)) {
        phiOccurrences[p]!++;
        phiInDocument++;
      }
    }

    totalNgrams += count;
    matchedNgrams += matched;
    perDocument.push({
      id: doc.id,
      ngrams: count,
      matchedNgrams: matched,
      overlap: count === 0 ? 0 : matched / count,
      longestCopiedWords: bestLen,
      longestCopiedFrom: bestReal >= 0 ? index.docIds[bestReal]! : null,
      nearestRealDocId: nearest >= 0 ? index.docIds[nearest]! : null,
      nearestJaccard,
      phiOccurrences: phiInDocument,
    });
    if (bestLen > 0 && (longest === null || bestLen > longest.words)) {
      longest = {
        words: bestLen,
        syntheticDocId: doc.id,
        realDocId: index.docIds[bestReal]!,
        text: doc.text.slice(w.starts[bestSynStart]!, w.ends[bestSynStart + bestLen - 1]!),
      };
    }
  });

  const perLabel: Record<string, PhiLabelReproduction> = {};
  let reproduced = 0;
  let occurrences = 0;
  index.phi.forEach((phi, p) => {
    const occ = phiOccurrences[p]!;
    if (occ > 0) {
      reproduced++;
      occurrences += occ;
    }
    for (const label of phi.labels) {
      const r = (perLabel[label] ??= { realStrings: 0, reproduced: 0, share: 0, occurrences: 0 });
      r.realStrings++;
      if (occ > 0) {
        r.reproduced++;
        r.occurrences += occ;
      }
    }
  });
  for (const r of Object.values(perLabel)) r.share = r.reproduced / r.realStrings;
  const sortedLabels: Record<string, PhiLabelReproduction> = {};
  for (const k of Object.keys(perLabel).sort()) sortedLabels[k] = perLabel[k]!;
  const examples = index.phi
    .map((phi, p) => ({ text: phi.text, labels: phi.labels, occurrences: phiOccurrences[p]! }))
    .filter((e) => e.occurrences > 0)
    .sort((a, b) => b.occurrences - a.occurrences || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0))
    .slice(0, maxExamples);
  const withGrams = perDocument.filter((d) => d.ngrams > 0);
  const jaccards = perDocument.map((d) => d.nearestJaccard);

  return {
    scorerVersion: SCORER_VERSION,
    n,
    caseSensitive: index.caseSensitive,
    syntheticDocuments: synthetic.length,
    realDocuments: index.docIds.length,
    ngramOverlap: {
      corpus: totalNgrams === 0 ? 0 : matchedNgrams / totalNgrams,
      documentMean: withGrams.length === 0 ? 0 : withGrams.reduce((a, d) => a + d.overlap, 0) / withGrams.length,
      matchedNgrams,
      totalNgrams,
    },
    phiReproduction: {
      matching: PHI_MATCHING,
      realStrings: index.phi.length,
      reproduced,
      share: index.phi.length === 0 ? 0 : reproduced / index.phi.length,
      occurrences,
      perLabel: sortedLabels,
      examples,
    },
    longestCopied: longest,
    nearestReal: {
      meanJaccard: jaccards.length === 0 ? 0 : jaccards.reduce((a, b) => a + b, 0) / jaccards.length,
      maxJaccard: jaccards.length === 0 ? 0 : Math.max(...jaccards),
    },
    perDocument,
  };
}

/** Privacy rows in the platform's metric shape (label null except for per-label PHI reproduction). */
export function privacyMetricRows(report: PrivacyReport, split: string): { name: string; value: number; label: string | null; split: string; ci_low: null; ci_high: null; scorer_version: string }[] {
  const row = (name: string, value: number, label: string | null = null) => ({ name, value, label, split, ci_low: null, ci_high: null, scorer_version: report.scorerVersion });
  const rows = [
    row(`ngram${report.n}_overlap`, report.ngramOverlap.corpus),
    row(`ngram${report.n}_overlap_doc_mean`, report.ngramOverlap.documentMean),
    row('phi_reproduced_share', report.phiReproduction.share),
    row('phi_reproduced_strings', report.phiReproduction.reproduced),
    row('longest_copied_words', report.longestCopied?.words ?? 0),
    row(`nearest_jaccard${report.n}_mean`, report.nearestReal.meanJaccard),
    row(`nearest_jaccard${report.n}_max`, report.nearestReal.maxJaccard),
  ];
  for (const [label, r] of Object.entries(report.phiReproduction.perLabel)) rows.push(row('phi_reproduced_share', r.share, label));
  return rows;
}
