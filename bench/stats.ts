/** Figures shared by the benchmarks. */

/** The median of `xs`: the middle value, or the mean of the two middle ones when their count is even. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
