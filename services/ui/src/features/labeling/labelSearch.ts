/** A label as the label box lists it. */
export interface PickableLabel {
  id: string;
  name: string;
  hotkey?: string | null;
}

/**
 * The labels matching a search text, best first: names that start with it, then names with a word that starts with it,
 * then names that hold it anywhere (case-insensitive); the original order within each group. An empty search keeps all.
 */
export function searchLabels<T extends PickableLabel>(labels: readonly T[], query: string): T[] {
  const q = query.trim().toLowerCase();
  if (!q) return [...labels];
  const starts: T[] = [];
  const wordStarts: T[] = [];
  const holds: T[] = [];
  for (const label of labels) {
    const name = label.name.toLowerCase();
    if (name.startsWith(q)) starts.push(label);
    else if (name.split(/[\s_\-./]+/).some((word) => word.startsWith(q))) wordStarts.push(label);
    else if (name.includes(q)) holds.push(label);
  }
  return [...starts, ...wordStarts, ...holds];
}

/** The labels shown as buttons (the first `limit`, always including the pressed ones) and how many more there are. */
export function visibleLabels<T extends PickableLabel>(labels: readonly T[], pressed: ReadonlySet<string>, limit: number): { shown: T[]; more: number } {
  if (labels.length <= limit) return { shown: [...labels], more: 0 };
  const shown = labels.filter((label, index) => index < limit || pressed.has(label.id));
  return { shown, more: labels.length - shown.length };
}

/** The next item of a cycle of `count` items from `current` (null: none focused yet) in `direction` (+1 / -1). */
export function cycle(current: number | null, count: number, direction: 1 | -1): number | null {
  if (count === 0) return null;
  if (current === null) return direction === 1 ? 0 : count - 1;
  return (current + direction + count) % count;
}
