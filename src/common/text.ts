/** Length in Unicode code points: the unit of every offset in this project. */
export function codePointLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
