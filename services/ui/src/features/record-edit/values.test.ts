import { describe, expect, it } from "vitest";
import type { Attribute } from "../labeling/api/labeling";
import { changedValues, fieldText, isEditable, parseField } from "./values";

const attr = (name: string, data_type: string, extra: Partial<Attribute> = {}): Attribute => ({
  id: name,
  name,
  data_type,
  is_primary_key: false,
  relative_position: 0,
  state: "UPLOADED",
  user_created: false,
  visibility: "DO_NOT_HIDE",
  ...extra,
});

describe("record edit values", () => {
  it("edits uploaded scalar attributes only", () => {
    expect(isEditable(attr("t", "TEXT"))).toBe(true);
    expect(isEditable(attr("c", "INTEGER", { user_created: true, state: "USABLE" }))).toBe(false);
    expect(isEditable(attr("e", "EMBEDDING_LIST"))).toBe(false);
  });
  it("parses a field as its type", () => {
    expect(parseField(attr("n", "INTEGER"), " 42 ")).toEqual({ ok: true, value: 42 });
    expect(parseField(attr("n", "INTEGER"), "4.2").ok).toBe(false);
    expect(parseField(attr("n", "INTEGER"), "")).toEqual({ ok: true, value: null });
    expect(parseField(attr("id", "INTEGER", { is_primary_key: true }), "").ok).toBe(false);
    expect(parseField(attr("f", "FLOAT"), "1e3")).toEqual({ ok: true, value: 1000 });
    expect(parseField(attr("f", "FLOAT"), "x").ok).toBe(false);
    expect(parseField(attr("b", "BOOLEAN"), "false")).toEqual({ ok: true, value: false });
    expect(parseField(attr("t", "TEXT"), "")).toEqual({ ok: true, value: "" });
  });
  it("sends only what changed", () => {
    const attributes = [attr("t", "TEXT"), attr("n", "INTEGER"), attr("b", "BOOLEAN")];
    const data = { t: "old", n: 3, b: true };
    const drafts = { t: "new", n: fieldText(3), b: "maybe" };
    expect(changedValues(attributes, data, drafts)).toEqual({ values: { t: "new" }, errors: { b: "true or false" } });
  });
});
