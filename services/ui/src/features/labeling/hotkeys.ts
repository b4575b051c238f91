/** Keys the labeling page uses itself; a label cannot take them as its hotkey. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set([
  "ArrowLeft",
  "ArrowRight",
  "ArrowUp",
  "ArrowDown",
  "Enter",
  "Escape",
  "Backspace",
  "Delete",
  "Tab",
  " ",
  "?",
]);

export interface HotkeyLabel {
  id: string;
  name: string;
  hotkey: string | null | undefined;
  taskId: string;
}

/**
 * Why `key` cannot be the hotkey of label `labelId`, or null when it can: a single printable character (letters,
 * digits, punctuation), not a reserved key, not used by another label of the project (case-insensitive).
 */
export function hotkeyProblem(key: string, labelId: string, labels: readonly HotkeyLabel[]): string | null {
  if (RESERVED_KEYS.has(key)) return `${key === " " ? "Space" : key} is reserved for navigation and editing`;
  if ([...key].length !== 1) return `${key} is not a single character key`;
  if (/\s/.test(key)) return "a whitespace key cannot be a hotkey";
  const other = labels.find((l) => l.id !== labelId && l.hotkey && l.hotkey.toLowerCase() === key.toLowerCase());
  if (other) return `${key} is already the hotkey of label ${other.name}`;
  return null;
}

/** The label whose hotkey is `key` among `labels` (case-insensitive), if any. */
export function labelForKey<T extends HotkeyLabel>(key: string, labels: readonly T[]): T | undefined {
  if ([...key].length !== 1) return undefined;
  const lower = key.toLowerCase();
  return labels.find((l) => l.hotkey?.toLowerCase() === lower);
}

/** Whether a keyboard event comes from a place that types text (so page shortcuts must not act on it). */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  const tag = target.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
}
