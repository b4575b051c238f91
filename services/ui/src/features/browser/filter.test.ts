import { describe, expect, it } from "vitest";
import { apiFilter, completeFilter, EMPTY_QUERY, paramsFromQuery, parseGroup, queryFromParams, type BrowserQuery } from "./filter";

const TASK = "11111111-1111-1111-1111-111111111111";

const query: BrowserQuery = {
  filter: {
    kind: "group",
    join: "OR",
    negate: false,
    conditions: [
      { kind: "attribute", attribute: "headline", operator: "CONTAINS", values: ["rise"], case_sensitive: true, negate: false },
      { kind: "manual_label", task_id: TASK, mode: "labels", label_ids: ["a"], annotator_id: "u1", decided: true, negate: true },
      { kind: "full_text", query: 'rise -"stock market"', attribute: "headline", negate: false },
      { kind: "annotators_disagree", task_id: TASK, negate: false },
      { kind: "weak_supervision", task_id: TASK, mode: "any", label_ids: [], min_confidence: 0.5, max_confidence: 0.9, negate: false },
      { kind: "heuristic", heuristic_id: "h1", mode: "none", label_ids: [], negate: false },
      { kind: "heuristics_disagree", task_id: TASK, negate: false },
      { kind: "has_comments", negate: false },
      { kind: "in_slice", slice_id: "s1", negate: false },
      { kind: "similar", embedding_id: "e1", record_id: 7, text: null, top_k: 50, min_score: 0.3, negate: false },
      { kind: "group", join: "AND", negate: true, conditions: [{ kind: "gold_star", task_id: TASK, negate: false }] },
    ],
  },
  sort: [
    { by: "attribute", attribute: "n", direction: "desc" },
    { by: "random", seed: "42", direction: "asc" },
  ],
  slice: "s1",
};

describe("filter in the URL", () => {
  it("round-trips every condition kind, the sort and the slice", () => {
    const params = paramsFromQuery(query);
    expect(queryFromParams(new URLSearchParams(params.toString()))).toEqual(query);
  });

  it("leaves an empty query out of the URL", () => {
    expect(paramsFromQuery(EMPTY_QUERY).toString()).toBe("");
    expect(queryFromParams(new URLSearchParams(""))).toEqual(EMPTY_QUERY);
  });

  it("drops what it cannot read instead of failing", () => {
    const params = new URLSearchParams({ filter: "{not json", sort: JSON.stringify([{ by: "nope" }, { by: "confidence" }]) });
    expect(queryFromParams(params)).toEqual(EMPTY_QUERY);
    const group = parseGroup({ join: "XOR", conditions: [{ kind: "evil" }, { kind: "manual_label" }, { kind: "has_comments", negate: 1 }] });
    expect(group).toEqual({ kind: "group", join: "AND", negate: false, conditions: [{ kind: "has_comments", negate: false }] });
  });
});

describe("completeFilter", () => {
  it("drops unfinished conditions and trims values per operator", () => {
    const done = completeFilter({
      kind: "group",
      join: "AND",
      negate: false,
      conditions: [
        { kind: "attribute", attribute: "a", operator: "EQUAL", values: [""], case_sensitive: false, negate: false },
        { kind: "attribute", attribute: "a", operator: "BETWEEN", values: ["1", ""], case_sensitive: false, negate: false },
        { kind: "attribute", attribute: "a", operator: "IN", values: ["x", "", "y"], case_sensitive: false, negate: false },
        { kind: "manual_label", task_id: TASK, mode: "labels", label_ids: [], decided: false, negate: false },
        { kind: "group", join: "AND", negate: false, conditions: [] },
      ],
    });
    expect(done.conditions).toEqual([{ kind: "attribute", attribute: "a", operator: "IN", values: ["x", "y"], case_sensitive: false, negate: false }]);
    expect(apiFilter({ ...done, conditions: [] })).toBeNull();
  });

  it("reads a similarity condition back within the API's limits and drops one without a target", () => {
    const read = parseGroup({ conditions: [{ kind: "similar", embedding_id: "e1", text: "rise", top_k: 5000 }, { kind: "similar", top_k: 3 }] });
    expect(read.conditions).toEqual([
      { kind: "similar", embedding_id: "e1", record_id: null, text: "rise", top_k: 1000, min_score: null, negate: false },
    ]);
    const done = completeFilter({
      ...read,
      conditions: [{ kind: "similar", embedding_id: "e1", record_id: null, text: "  ", top_k: 10, min_score: null, negate: false }],
    });
    expect(done.conditions).toEqual([]);
  });
});
