import { describe, expect, it } from "vitest";
import type { JobEvent } from "../api/jobs";
import { queriesAffectedBy } from "./useLiveEvents";

function event(kind: string, state: string): JobEvent {
  return { id: "j", kind, project_id: "p", owner_service: "gateway", state, progress: 1, message: "", error: null, result: {} };
}

describe("live events invalidate the queries they affect", () => {
  it("a running job refreshes the project lists and jobs only", () => {
    expect(queriesAffectedBy(event("upload", "running"))).toEqual([["projects"], ["project", "p"], ["jobs", "p"]]);
  });

  it("a finished upload refreshes attributes, tasks and the labeling session", () => {
    const keys = queriesAffectedBy(event("upload", "done"));
    expect(keys).toContainEqual(["attributes", "p"]);
    expect(keys).toContainEqual(["tasks", "p"]);
    expect(keys).toContainEqual(["session", "p"]);
  });

  it("a finished weak-supervision run refreshes the record labels", () => {
    expect(queriesAffectedBy(event("weak_supervision", "done"))).toContainEqual(["labels", "p"]);
  });

  it("a finished heuristic or zero-shot run refreshes the heuristics (last run, run history) and their statistics", () => {
    for (const kind of ["heuristic_run", "zero_shot"]) {
      const keys = queriesAffectedBy(event(kind, "done"));
      expect(keys).toContainEqual(["heuristics", "p"]);
      expect(keys).toContainEqual(["heuristic-statistics", "p"]);
    }
    expect(queriesAffectedBy(event("heuristic_statistics", "done"))).toContainEqual(["heuristic-statistics", "p"]);
    expect(queriesAffectedBy(event("zero_shot", "running"))).not.toContainEqual(["heuristics", "p"]);
  });
});
