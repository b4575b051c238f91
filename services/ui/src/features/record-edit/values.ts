import type { Attribute } from "../labeling/api/labeling";

/** A JSON value an edit sends for one attribute. */
export type EditValue = string | number | boolean | null;

const EDITABLE_TYPES = ["TEXT", "CATEGORY", "INTEGER", "FLOAT", "BOOLEAN"] as const;
const EDITABLE_STATES = ["UPLOADED", "AUTOMATICALLY_CREATED"];

/** Whether the API edits this attribute (uploaded, of a scalar type; calculated ones come from their code). */
export function isEditable(attribute: Attribute): boolean {
  return (
    !attribute.user_created &&
    EDITABLE_STATES.includes(attribute.state) &&
    (EDITABLE_TYPES as readonly string[]).includes(attribute.data_type)
  );
}

/** The text a form field shows for a stored value. */
export function fieldText(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export type Parsed = { ok: true; value: EditValue } | { ok: false; error: string };

/** A field's text as the attribute's type (what the API checks again); an empty number clears it. */
export function parseField(attribute: Attribute, text: string): Parsed {
  const empty = text.trim() === "";
  if (attribute.data_type === "TEXT" || attribute.data_type === "CATEGORY") return { ok: true, value: text };
  if (empty) return attribute.is_primary_key ? { ok: false, error: "a primary-key attribute needs a value" } : { ok: true, value: null };
  if (attribute.data_type === "INTEGER") {
    const n = Number(text.trim());
    return /^-?\d+$/.test(text.trim()) && Number.isSafeInteger(n) ? { ok: true, value: n } : { ok: false, error: "an integer" };
  }
  if (attribute.data_type === "FLOAT") {
    const n = Number(text.trim());
    return Number.isFinite(n) ? { ok: true, value: n } : { ok: false, error: "a number" };
  }
  if (attribute.data_type === "BOOLEAN") {
    if (text === "true" || text === "false") return { ok: true, value: text === "true" };
    return { ok: false, error: "true or false" };
  }
  return { ok: false, error: `${attribute.data_type} is not edited here` };
}

/** The values that differ from the record's (by their field text), and the fields whose text is no valid value. */
export function changedValues(
  attributes: Attribute[],
  data: Record<string, unknown>,
  drafts: Record<string, string>,
): { values: Record<string, EditValue>; errors: Record<string, string> } {
  const values: Record<string, EditValue> = {};
  const errors: Record<string, string> = {};
  for (const attribute of attributes) {
    const draft = drafts[attribute.name];
    if (draft === undefined || draft === fieldText(data[attribute.name])) continue;
    const parsed = parseField(attribute, draft);
    if (parsed.ok) values[attribute.name] = parsed.value;
    else errors[attribute.name] = parsed.error;
  }
  return { values, errors };
}
