import { describe, expect, it } from "vitest";
import { describe as describeEntry } from "../components/RecordHistory";
import { pairOf, parseRecordIds, type Agreement, type HistoryEntry } from "./team";

describe("parseRecordIds", () => {
  it("reads ids, ranges and separators, without duplicates", () => {
    expect(parseRecordIds("3, 1 2;5-7 3")).toEqual({ ids: [3, 1, 2, 5, 6, 7] });
  });
  it("names the first piece that is not an id", () => {
    expect(parseRecordIds("1, two")).toEqual({ error: "two is not a record id" });
    expect(parseRecordIds("9-3")).toEqual({ error: "9-3 is not a range of at most 100,000 ids" });
    expect(parseRecordIds("  ")).toEqual({ error: "give at least one record id" });
  });
});

const pair = (a: string, b: string, p: number) => ({
  annotator_a: a,
  annotator_b: b,
  email_a: `${a}@x`,
  email_b: `${b}@x`,
  percent_agreement: p,
  cohen_kappa: null,
  records: 3,
  units: 3,
});

describe("pairOf", () => {
  it("finds a pair in either order", () => {
    const agreement = { pairs: [pair("a", "b", 0.5), pair("a", "c", 1)] } as unknown as Agreement;
    expect(pairOf(agreement, "b", "a")?.percent_agreement).toBe(0.5);
    expect(pairOf(agreement, "c", "a")?.percent_agreement).toBe(1);
    expect(pairOf(agreement, "b", "c")).toBeUndefined();
  });
});

describe("a label history entry in words", () => {
  const names = new Map([
    ["u1", "ann@x"],
    ["u2", "eng@x"],
  ]);
  const label = (name: string) => ({ label_id: name, name, token_start: null, token_end: null });
  const entry = (over: Partial<HistoryEntry>): HistoryEntry => ({
    id: 1,
    record_id: 7,
    labeling_task_id: "t",
    annotator_id: "u1",
    changed_by: "u1",
    via: "UI",
    event: "LABELS",
    old_labels: [],
    new_labels: [],
    created_at: "2026-01-01T00:00:00Z",
    ...over,
  });
  it("says who set, changed, removed, reverted and gold-starred which label", () => {
    expect(describeEntry(entry({ new_labels: [label("pos")] }), names, "sentiment")).toBe("ann@x set pos (sentiment)");
    expect(describeEntry(entry({ old_labels: [label("pos")], new_labels: [label("neg")] }), names, "sentiment")).toBe("ann@x changed sentiment: pos → neg");
    expect(describeEntry(entry({ old_labels: [label("pos")] }), names, "sentiment")).toBe("ann@x removed pos (sentiment)");
    expect(describeEntry(entry({ via: "REVERT", changed_by: "u2", old_labels: [label("pos")] }), names, "sentiment")).toBe(
      "eng@x reverted ann@x's labels of sentiment: pos → nothing",
    );
    expect(describeEntry(entry({ event: "GOLD_STAR_SET", new_labels: [label("pos")] }), names, "sentiment")).toBe(
      "ann@x made their labels of sentiment (pos) the gold standard",
    );
    expect(describeEntry(entry({ event: "TASK_DELETED", changed_by: "u2", old_labels: [label("pos")] }), names, "a deleted task")).toBe(
      "eng@x deleted the task a deleted task, which removed ann@x's labels: pos → nothing",
    );
  });
});
