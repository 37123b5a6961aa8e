// The BPE merge loop shared by both trainers: repeatedly join the most frequent adjacent
// pair of symbols in a bag of words. Pair counts are updated incrementally (only words that
// hold the merged pair are rewritten) and the best pair comes from a max-heap with lazy
// deletion, so training a few thousand merges over a corpus takes seconds, not minutes.
// Ties go to the pair whose symbols sort first, so training is deterministic.

export interface MergeInput {
  /** Each distinct word as its initial symbols, with how often it occurs. */
  words: Array<{ symbols: string[]; count: number }>;
  /** Symbols already in the vocabulary (special tokens, alphabet), in id order. */
  initialVocab: string[];
  /** Stop when the vocabulary reaches this size. */
  vocabSize: number;
  /** Pairs seen fewer times than this are never merged. Default 2. */
  minFrequency?: number;
  /** The symbol a merge creates (WordPiece drops the "##" of the right part). */
  join: (left: string, right: string) => string;
}

export interface MergeResult {
  vocab: string[];
  merges: Array<[string, string]>;
}

type HeapItem = { count: number; key: number };

const SHIFT = 2 ** 21; // symbol ids stay below 2^21, so a pair key fits in a double exactly

export function learnMerges(input: MergeInput): MergeResult {
  const minFrequency = input.minFrequency ?? 2;
  const symbols: string[] = [];
  const idOf = new Map<string, number>();
  const intern = (s: string): number => {
    let id = idOf.get(s);
    if (id === undefined) {
      id = symbols.length;
      symbols.push(s);
      idOf.set(s, id);
    }
    return id;
  };
  const vocab = [...input.initialVocab];
  const inVocab = new Set(vocab);
  const words = input.words.map((w) => Int32Array.from(w.symbols.map(intern)));
  const counts = input.words.map((w) => w.count);
  for (const w of input.words) for (const s of w.symbols) if (!inVocab.has(s)) throw new Error(`symbol "${s}" is not in the initial vocabulary`);

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: 1 | -1): void => {
    const w = words[wi];
    const c = counts[wi] * sign;
    for (let i = 0; i + 1 < w.length; i++) {
      const key = w[i] * SHIFT + w[i + 1];
      pairCount.set(key, (pairCount.get(key) ?? 0) + c);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (!set) pairWords.set(key, (set = new Set()));
        set.add(wi);
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1);

  // Max-heap on (count desc, left symbol asc, right symbol asc).
  const heap: HeapItem[] = [];
  const better = (a: HeapItem, b: HeapItem): boolean => {
    if (a.count !== b.count) return a.count > b.count;
    const al = symbols[Math.floor(a.key / SHIFT)];
    const bl = symbols[Math.floor(b.key / SHIFT)];
    if (al !== bl) return al < bl;
    return symbols[a.key % SHIFT] < symbols[b.key % SHIFT];
  };
  const push = (item: HeapItem): void => {
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!better(heap[i], heap[p])) break;
      [heap[i], heap[p]] = [heap[p], heap[i]];
      i = p;
    }
  };
  const pop = (): HeapItem | undefined => {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length && last) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && better(heap[l], heap[m])) m = l;
        if (r < heap.length && better(heap[r], heap[m])) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m], heap[i]];
        i = m;
      }
    }
    return top;
  };
  for (const [key, count] of pairCount) if (count > 0) push({ count, key });

  const merges: Array<[string, string]> = [];
  while (vocab.length < input.vocabSize) {
    const top = pop();
    if (!top) break;
    const current = pairCount.get(top.key) ?? 0;
    if (current !== top.count) continue; // stale entry
    if (current < minFrequency) break;
    const a = Math.floor(top.key / SHIFT);
    const b = top.key % SHIFT;
    const merged = input.join(symbols[a], symbols[b]);
    const m = intern(merged);
    merges.push([symbols[a], symbols[b]]);
    if (!inVocab.has(merged)) {
      inVocab.add(merged);
      vocab.push(merged);
    }
    const touched = new Set<number>();
    for (const wi of pairWords.get(top.key) ?? []) {
      const w = words[wi];
      for (let i = 0; i + 1 < w.length; i++) touched.add(w[i] * SHIFT + w[i + 1]);
      addPairs(wi, -1);
      const out: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          out.push(m);
          i++;
        } else out.push(w[i]);
      }
      words[wi] = Int32Array.from(out);
      addPairs(wi, 1);
      for (let i = 0; i + 1 < out.length; i++) touched.add(out[i] * SHIFT + out[i + 1]);
    }
    pairWords.delete(top.key);
    pairCount.delete(top.key);
    for (const key of touched) {
      const c = pairCount.get(key) ?? 0;
      if (c > 0) push({ count: c, key });
    }
  }
  return { vocab, merges };
}
