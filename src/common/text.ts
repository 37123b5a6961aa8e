/** Length in Unicode code points: the unit of every offset in this project. */
export function codePointLength(text: string): number {
  // Without surrogate pairs, UTF-16 units and code points coincide.
  if (!/[\uD800-\uDFFF]/.test(text)) return text.length;
  let n = 0;
  for (const _ of text) n++;
  return n;
}
