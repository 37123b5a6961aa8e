/** How generation prompts are cut from real notes (the method: the first few words of each). */

/** The first n whitespace-separated words, with the spacing between them as written. */
export function firstWords(text: string, n: number): string {
  const match = new RegExp(`^\\s*(\\S+(?:\\s+\\S+){0,${n - 1}})`, 'u').exec(text.replace(/^\uFEFF/, ''));
  return match ? match[1]! : '';
}
