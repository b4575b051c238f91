import { describe, expect, it } from "vitest";
import { similarFilters } from "./similarWhere";

const ATTRIBUTES = [
  { name: "topic", data_type: "CATEGORY" },
  { name: "year", data_type: "INTEGER" },
  { name: "spam", data_type: "BOOLEAN" },
];

describe("similarFilters", () => {
  it("types each comma-separated value by its attribute and skips empty fields", () => {
    expect(similarFilters({ topic: " tech, sports ,", year: "2020, x, 2021.5", spam: "TRUE, maybe" }, ["topic", "year", "spam", "other"], ATTRIBUTES)).toEqual([
      { attribute: "topic", values: ["tech", "sports"] },
      { attribute: "year", values: [2020] },
      { attribute: "spam", values: [true] },
    ]);
  });

  it("sends nothing for attributes that are not the embedding's filter attributes or hold no usable value", () => {
    expect(similarFilters({ topic: "tech", year: "soon" }, ["year"], ATTRIBUTES)).toEqual([]);
  });
});
