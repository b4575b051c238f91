/** A text split into plain and highlighted pieces by [start, end) ranges (overlaps merged, out-of-range clipped). */
export function highlightPieces(text: string, ranges: readonly (readonly number[])[]): { text: string; hit: boolean }[] {
  const sorted = ranges
    .map(([s = 0, e = 0]) => [Math.max(0, s), Math.min(text.length, e)] as const)
    .filter(([s, e]) => e > s)
    .sort((a, b) => a[0] - b[0]);
  const pieces: { text: string; hit: boolean }[] = [];
  let at = 0;
  for (const [start, end] of sorted) {
    if (end <= at) continue;
    const from = Math.max(start, at);
    if (from > at) pieces.push({ text: text.slice(at, from), hit: false });
    pieces.push({ text: text.slice(from, end), hit: true });
    at = end;
  }
  if (at < text.length || pieces.length === 0) pieces.push({ text: text.slice(at), hit: false });
  return pieces;
}
