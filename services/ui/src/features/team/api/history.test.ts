import { describe, expect, it } from "vitest";
import { eventText } from "../components/LabelHistory";
import { HISTORY_PAGE, historyQuery, nextBeforeId, viaText } from "./history";
import { assignmentEdit, sharedDueCount, type HistoryEntry } from "./team";

const entry = (id: number): HistoryEntry => ({
  id,
  record_id: 1,
  labeling_task_id: "t",
  annotator_id: "u",
  changed_by: "u",
  via: "UI",
  event: "LABELS",
  old_labels: [],
  new_labels: [],
  created_at: "2026-01-01T00:00:00Z",
});

describe("paging the project's label history", () => {
  it("asks for entries older than the last one of a full page, and stops after a short one", () => {
    const full = Array.from({ length: HISTORY_PAGE }, (_, i) => entry(500 - i));
    expect(nextBeforeId(full)).toBe(500 - HISTORY_PAGE + 1);
    expect(nextBeforeId(full.slice(0, 3))).toBeUndefined();
    expect(nextBeforeId([])).toBeUndefined();
  });
  it("sends only the filters that are set", () => {
    expect(historyQuery({ annotatorId: "", taskId: "" }, undefined)).toEqual({ limit: HISTORY_PAGE });
    expect(historyQuery({ annotatorId: "a", taskId: "t" }, 42, 10)).toEqual({ limit: 10, annotator_id: "a", task_id: "t", before_id: 42 });
  });
  it("names the event and how it was made", () => {
    expect(eventText({ event: "LABELS", via: "UI" })).toBe("labels");
    expect(eventText({ event: "LABELS", via: "REVERT" })).toBe("reverted");
    expect(eventText({ event: "GOLD_STAR_SET", via: "UI" })).toBe("gold star set");
    expect(viaText("SDK")).toBe("with the SDK");
    expect(viaText("BULK")).toBe("bulk action");
  });
});

describe("editing an assignment", () => {
  const current = { name: "double check", dueCount: 4 };
  it("sends only what changed", () => {
    expect(assignmentEdit(current, " second pass ", "4")).toEqual({ patch: { name: "second pass" } });
    expect(assignmentEdit(current, "double check", "2")).toEqual({ patch: { due_count: 2 } });
    expect(assignmentEdit(current, "x", "3")).toEqual({ patch: { name: "x", due_count: 3 } });
  });
  it("says what is wrong", () => {
    expect(assignmentEdit(current, "  ", "4")).toEqual({ error: "Give the assignment a name." });
    expect(assignmentEdit(current, "x", "1.5")).toEqual({ error: "The due count is a whole number of records, 1 or more." });
    expect(assignmentEdit(current, "x", "0")).toEqual({ error: "The due count is a whole number of records, 1 or more." });
    expect(assignmentEdit(current, "double check", "4")).toEqual({ error: "Nothing changed." });
  });
  it("finds the due count the annotators share", () => {
    const progress = (due: number) => ({ annotator_id: "a", assigned: 4, done: 0, skipped: 0, due_count: due, comment: null });
    expect(sharedDueCount({ annotators: [progress(4), progress(4)] })).toBe(4);
    expect(sharedDueCount({ annotators: [progress(4), progress(2)] })).toBeNull();
    expect(sharedDueCount({ annotators: [] })).toBeNull();
  });
});
