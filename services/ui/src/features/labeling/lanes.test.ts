import { describe, expect, it } from "vitest";
import { assignLanes, assignSwimLanes, segmentText } from "./lanes";

describe("lane layout", () => {
  it("puts overlapping spans in different lanes and reuses a freed lane", () => {
    const { lanes, count } = assignLanes([
      { id: "a", charStart: 0, charEnd: 10 },
      { id: "b", charStart: 5, charEnd: 15 },
      { id: "c", charStart: 10, charEnd: 12 },
      { id: "d", charStart: 20, charEnd: 25 },
    ]);
    expect(count).toBe(2);
    expect(lanes.get("a")).toBe(0);
    expect(lanes.get("b")).toBe(1);
    expect(lanes.get("c")).toBe(0);
    expect(lanes.get("d")).toBe(0);
  });

  it("stacks three spans over the same text in three lanes", () => {
    const same = ["x", "y", "z"].map((id) => ({ id, charStart: 3, charEnd: 8 }));
    expect(assignLanes(same).count).toBe(3);
  });
});

describe("text segments", () => {
  it("cuts the text at span boundaries only", () => {
    const segments = segmentText(30, [
      { id: "a", charStart: 0, charEnd: 10 },
      { id: "b", charStart: 5, charEnd: 15 },
    ]);
    expect(segments).toEqual([
      { start: 0, end: 5, spanIds: ["a"] },
      { start: 5, end: 10, spanIds: ["a", "b"] },
      { start: 10, end: 15, spanIds: ["b"] },
      { start: 15, end: 30, spanIds: [] },
    ]);
  });

  it("draws a text without spans as one run and 200 spans as at most 401 runs", () => {
    expect(segmentText(100, [])).toEqual([{ start: 0, end: 100, spanIds: [] }]);
    const spans = Array.from({ length: 200 }, (_, k) => ({ id: String(k), charStart: k * 10, charEnd: k * 10 + 4 }));
    expect(segmentText(2000, spans).length).toBeLessThanOrEqual(401);
  });
});

describe("swim lanes", () => {
  it("gives each kind of span its own lane in key order, overlapping or not", () => {
    const { lanes, count } = assignSwimLanes([
      { id: "a", charStart: 0, charEnd: 5, lane: "1|person" },
      { id: "b", charStart: 10, charEnd: 15, lane: "0|place" },
      { id: "c", charStart: 20, charEnd: 25, lane: "1|person" },
      { id: "d", charStart: 2, charEnd: 4, lane: "0|person" },
    ]);
    expect(count).toBe(3);
    expect(Object.fromEntries(lanes)).toEqual({ a: 2, b: 1, c: 2, d: 0 });
  });
});
