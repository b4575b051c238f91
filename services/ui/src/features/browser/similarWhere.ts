import type { Schemas } from "../../api/client";

export type SimilarFilter = Schemas["FilterIn"];

/** The attribute types a "find similar" restriction can be typed for (the rest compare as text). */
export interface WhereAttribute {
  name: string;
  data_type: string;
}

/**
 * The neural-search filters of "find similar" from what the user typed per filter attribute of the embedding:
 * comma-separated values, each read as the attribute's type; an empty field restricts nothing. Values that do not
 * read as the type (a word for a number) are dropped rather than sent.
 */
export function similarFilters(where: Record<string, string>, filterAttributes: string[], attributes: WhereAttribute[]): SimilarFilter[] {
  const out: SimilarFilter[] = [];
  for (const name of filterAttributes) {
    const typed = (where[name] ?? "")
      .split(",")
      .map((v) => v.trim())
      .filter((v) => v !== "");
    if (!typed.length) continue;
    const type = attributes.find((a) => a.name === name)?.data_type ?? "TEXT";
    const values: (string | number | boolean)[] = [];
    for (const raw of typed) {
      if (type === "INTEGER" || type === "FLOAT") {
        const n = Number(raw);
        if (Number.isFinite(n) && (type === "FLOAT" || Number.isInteger(n))) values.push(n);
      } else if (type === "BOOLEAN") {
        if (/^(true|false)$/i.test(raw)) values.push(raw.toLowerCase() === "true");
      } else values.push(raw);
    }
    if (values.length) out.push({ attribute: name, values });
  }
  return out;
}
