/** Diversity of generated text: word salad scores high, a generator that repeats its own phrases low. */

/** Distinct word n-grams over all n-grams of the texts (lower-cased words of letters and digits); 0 for none. */
export function distinctN(texts: string[], n: number): number {
  const seen = new Set<string>();
  let total = 0;
  for (const text of texts) {
    const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
    for (let i = 0; i + n <= words.length; i++) {
      seen.add(words.slice(i, i + n).join(' '));
      total++;
    }
  }
  return total === 0 ? 0 : seen.size / total;
}
