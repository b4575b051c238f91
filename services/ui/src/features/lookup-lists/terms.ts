/** Pure helpers of the lookup-list pages: the terms grid's visible window and the CSV download. */

export interface RowWindow {
  /** First row to draw (inclusive). */
  start: number;
  /** Row after the last one to draw. */
  end: number;
  /** Height of all rows: the scroll area's content height. */
  total: number;
}

/** Which rows of a fixed-height list to draw for a scroll position, with `overscan` rows above and below. */
export function rowWindow(count: number, rowHeight: number, scrollTop: number, viewport: number, overscan = 8): RowWindow {
  const total = count * rowHeight;
  if (count === 0 || rowHeight <= 0) return { start: 0, end: 0, total };
  const first = Math.floor(Math.max(0, scrollTop) / rowHeight);
  const visible = Math.ceil(Math.max(0, viewport) / rowHeight) + 1;
  const start = Math.max(0, Math.min(first, count - 1) - overscan);
  const end = Math.min(count, first + visible + overscan);
  return { start, end, total };
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) || value !== value.trim() ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The terms as the CSV the import route reads back: value, comment, blacklisted (a header row first). */
export function termsCsv(terms: readonly { value: string; comment: string | null; blacklisted: boolean }[]): string {
  const rows = terms.map((t) => [csvField(t.value), csvField(t.comment ?? ""), t.blacklisted ? "true" : "false"].join(","));
  return ["value,comment,blacklisted", ...rows].join("\n") + "\n";
}

/** Terms whose value or comment contains the query (case-insensitive). */
export function filterTerms<T extends { value: string; comment: string | null }>(terms: readonly T[], query: string): T[] {
  const q = query.trim().toLowerCase();
  if (!q) return [...terms];
  return terms.filter((t) => t.value.toLowerCase().includes(q) || (t.comment ?? "").toLowerCase().includes(q));
}
