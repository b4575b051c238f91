import { describe, expect, it } from "vitest";
import { highlightPieces } from "./highlight";
import { MAX_SCROLL_HEIGHT, virtualLayout } from "./virtual";

describe("virtualLayout", () => {
  it("renders only the rows in view plus the overscan", () => {
    const layout = virtualLayout(1000, 500, 1000, 100, 2);
    expect([layout.first, layout.last]).toEqual([8, 17]);
    expect(layout.height).toBe(100_000);
    expect(layout.top(10)).toBe(1000);
  });

  it("reaches the last row of a list taller than the browser allows", () => {
    const count = 100_000;
    const layout = virtualLayout(MAX_SCROLL_HEIGHT, 800, count, 236, 0);
    expect(layout.height).toBe(MAX_SCROLL_HEIGHT);
    expect(layout.last).toBe(count);
    expect(layout.last - layout.first).toBeLessThanOrEqual(5);
    // the last row ends at the bottom of the viewport
    expect(layout.top(count - 1) + 236).toBeCloseTo(MAX_SCROLL_HEIGHT, 3);
    const middle = virtualLayout((MAX_SCROLL_HEIGHT - 800) / 2, 800, count, 236, 0);
    expect(middle.first).toBeGreaterThan(count / 2 - 10);
    expect(middle.first).toBeLessThan(count / 2 + 10);
  });

  it("handles an empty list", () => {
    const layout = virtualLayout(0, 500, 0, 100);
    expect([layout.first, layout.last, layout.height]).toEqual([0, 0, 0]);
  });
});

describe("highlightPieces", () => {
  it("splits a text at the hit ranges, merging overlaps and clipping", () => {
    expect(highlightPieces("apple rises fast", [[6, 11], [0, 5], [3, 4], [14, 99]])).toEqual([
      { text: "apple", hit: true },
      { text: " ", hit: false },
      { text: "rises", hit: true },
      { text: " fa", hit: false },
      { text: "st", hit: true },
    ]);
    expect(highlightPieces("abc", [])).toEqual([{ text: "abc", hit: false }]);
  });
});
