/** Pure helpers of the heuristic pages: templates, function names, errors, value display and statistics. */

export interface Template {
  id: string;
  title: string;
  code: (args: { label: string; attribute: string; listName: string }) => string;
}

/** Templates for common labeling functions; `{label}`, `{attribute}` and `{listName}` come from the page. */
export const TEMPLATES: readonly Template[] = [
  {
    id: "keywords",
    title: "Keyword list",
    code: ({ label, attribute }) =>
      [
        `KEYWORDS = ["free", "winner", "prize"]`,
        ``,
        `def lf(record):`,
        `    text = record[${pyString(attribute)}].text.lower()`,
        `    if any(word in text for word in KEYWORDS):`,
        `        return ${pyString(label)}`,
        ``,
      ].join("\n"),
  },
  {
    id: "regex",
    title: "Regular expression",
    code: ({ label, attribute }) =>
      [
        `import re`,
        ``,
        `PATTERN = re.compile(r"\\b(call|text) now\\b", re.IGNORECASE)`,
        ``,
        `def lf(record):`,
        `    if PATTERN.search(record[${pyString(attribute)}].text):`,
        `        return ${pyString(label)}`,
        ``,
      ].join("\n"),
  },
  {
    id: "lookup",
    title: "Lookup list",
    code: ({ label, attribute, listName }) =>
      [
        `from knowledge import ${listName || "my_list"}`,
        ``,
        `def lf(record):`,
        `    text = record[${pyString(attribute)}].text.lower()`,
        `    if any(term.lower() in text for term in ${listName || "my_list"}):`,
        `        return ${pyString(label)}`,
        ``,
      ].join("\n"),
  },
];

/** A Python string literal for a name (double quotes, backslashes and quotes escaped). */
export function pyString(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** A Python identifier made of a name, as the original sanitised function and class names. */
export function pythonIdentifier(name: string): string {
  const cleaned = name
    .trim()
    .replace(/\s+/g, "_")
    .replace(/[^A-Za-z0-9_]/g, "");
  if (!cleaned) return "my_function";
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned;
}

/** The line of the user's code an error points at: the last `File "<…>", line N` frame (the sandbox names it by the
 * function), else a `line N` of a syntax error; null when the message names none. */
export function userErrorLine(error: string | null | undefined): number | null {
  if (!error) return null;
  const frames = [...error.matchAll(/File "<[^>]*>", line (\d+)/g)];
  const last = frames.at(-1);
  if (last) return Number(last[1]);
  const syntax = /\bline (\d+)\b/.exec(error);
  return syntax ? Number(syntax[1]) : null;
}

/** A result value for a table cell: null is "—", strings as they are, anything else as compact JSON. */
export function showValue(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** A share as a percentage with one decimal, or "—" when it is not known. */
export function percent(value: number | null | undefined): string {
  return value === null || value === undefined || Number.isNaN(value) ? "—" : `${(value * 100).toFixed(1)} %`;
}

export interface StatRow {
  label_name: string | null;
  est_precision: number | null;
  record_coverage: number;
  total_hits: number;
}

/** Per label of a heuristic: its precision and coverage, the rows without a label (never run, no hits) left out. */
export function perLabel<T extends StatRow>(rows: readonly T[]): T[] {
  return rows.filter((r) => r.label_name !== null).sort((a, b) => (a.label_name ?? "").localeCompare(b.label_name ?? ""));
}

/** Toggle one id in a selection set (a new set: zustand and React see the change). */
export function toggled(selection: ReadonlySet<string>, id: string): Set<string> {
  const next = new Set(selection);
  if (next.has(id)) next.delete(id);
  else next.add(id);
  return next;
}

/** Pick `n` distinct items at random (all of them when there are fewer). */
export function pickRandom<T>(items: readonly T[], n: number, random: () => number = Math.random): T[] {
  const pool = [...items];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
  }
  return pool.slice(0, n);
}
