import { describe, expect, it } from "vitest";
import { cycle, searchLabels, visibleLabels } from "./labelSearch";

const labels = ["card_arrival", "lost_card", "balance", "top_up_failed", "card_payment_wrong", "Cardinal"].map((name, i) => ({
  id: String(i),
  name,
}));

describe("searchLabels", () => {
  it("puts names that start with the text first, then word starts, then any match", () => {
    expect(searchLabels(labels, "card").map((l) => l.name)).toEqual(["card_arrival", "card_payment_wrong", "Cardinal", "lost_card"]);
    expect(searchLabels(labels, "up").map((l) => l.name)).toEqual(["top_up_failed"]);
    expect(searchLabels(labels, "AL").map((l) => l.name)).toEqual(["card_arrival", "balance", "Cardinal"]);
  });
  it("keeps every label for an empty search and none for a miss", () => {
    expect(searchLabels(labels, "  ")).toHaveLength(labels.length);
    expect(searchLabels(labels, "zzz")).toEqual([]);
  });
});

describe("visibleLabels", () => {
  it("shows the first ones and counts the rest, keeping a pressed label beyond the limit visible", () => {
    expect(visibleLabels(labels, new Set(), 10)).toEqual({ shown: labels, more: 0 });
    const { shown, more } = visibleLabels(labels, new Set(["4"]), 2);
    expect(shown.map((l) => l.id)).toEqual(["0", "1", "4"]);
    expect(more).toBe(3);
  });
});

describe("cycle", () => {
  it("starts at either end and wraps around", () => {
    expect(cycle(null, 3, 1)).toBe(0);
    expect(cycle(null, 3, -1)).toBe(2);
    expect(cycle(2, 3, 1)).toBe(0);
    expect(cycle(0, 3, -1)).toBe(2);
    expect(cycle(null, 0, 1)).toBeNull();
  });
});
