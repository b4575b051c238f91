import { describe, expect, it } from "vitest";
import { filterTerms, rowWindow, termsCsv } from "./terms";

describe("rowWindow", () => {
  it("draws only the rows in view plus the overscan, at any depth", () => {
    expect(rowWindow(100_000, 36, 0, 360, 5)).toEqual({ start: 0, end: 16, total: 3_600_000 });
    const deep = rowWindow(100_000, 36, 36 * 50_000, 360, 5);
    expect(deep.start).toBe(49_995);
    expect(deep.end - deep.start).toBeLessThan(30);
  });
  it("reaches the last row and copes with empty lists", () => {
    const end = rowWindow(1000, 36, 36 * 1000, 360, 5);
    expect(end.end).toBe(1000);
    expect(end.start).toBeLessThan(1000);
    expect(rowWindow(0, 36, 0, 360)).toEqual({ start: 0, end: 0, total: 0 });
  });
});

describe("termsCsv", () => {
  it("quotes commas, quotes and line breaks", () => {
    const csv = termsCsv([
      { value: "free", comment: null, blacklisted: false },
      { value: 'say "hi", now', comment: "two\nlines", blacklisted: true },
    ]);
    expect(csv).toBe('value,comment,blacklisted\nfree,,false\n"say ""hi"", now","two\nlines",true\n');
  });
});

describe("filterTerms", () => {
  it("matches value or comment, ignoring case", () => {
    const terms = [
      { value: "Apple", comment: null },
      { value: "pear", comment: "an apple's cousin" },
      { value: "plum", comment: null },
    ];
    expect(filterTerms(terms, "APPLE").map((t) => t.value)).toEqual(["Apple", "pear"]);
    expect(filterTerms(terms, " ").length).toBe(3);
  });
});
