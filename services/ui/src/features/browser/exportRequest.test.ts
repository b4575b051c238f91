import { describe, expect, it } from "vitest";
import { exportRequest } from "./components/ExportDialog";
import { sliceFilter, type FilterGroup } from "./filter";

const filter: FilterGroup = { kind: "group", join: "AND", negate: false, conditions: [{ kind: "has_comments", negate: false }] };
const base = { format: "csv" as const, filter, sliceId: "s1", attributes: ["a", "b"], allAttributes: ["a", "b"], tasks: ["t"], allTasks: ["t"], sources: ["MANUAL", "WEAK_SUPERVISION"] };

describe("exportRequest", () => {
  it("sends everything chosen as no restriction", () => {
    expect(exportRequest({ ...base, rows: "all" })).toEqual({ format: "csv", filter: null, attributes: null, task_ids: null, sources: null, heuristic_ids: null });
  });
  it("restricts rows to the result or a slice and columns to the choice", () => {
    expect(exportRequest({ ...base, rows: "result", attributes: ["b"], tasks: [], sources: ["MANUAL"] })).toEqual({
      format: "csv",
      filter,
      attributes: ["b"],
      task_ids: [],
      sources: ["MANUAL"],
      heuristic_ids: null,
    });
    expect(exportRequest({ ...base, rows: "slice" }).filter).toEqual(sliceFilter("s1"));
  });
  it("asks for the chosen heuristics' votes as columns", () => {
    expect(exportRequest({ ...base, rows: "all", heuristics: ["h1", "h2"] }).heuristic_ids).toEqual(["h1", "h2"]);
    expect(exportRequest({ ...base, rows: "all", heuristics: [] }).heuristic_ids).toBeNull();
  });
});
