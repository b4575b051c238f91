import { describe, expect, it } from "vitest";
import { bands, heat, linearScale, niceTicks } from "./scale";

describe("chart scales", () => {
  it("maps a domain linearly onto a (reversed) range", () => {
    const y = linearScale(0, 100, 200, 0);
    expect(y(0)).toBe(200);
    expect(y(50)).toBe(100);
    expect(y(100)).toBe(0);
    expect(linearScale(3, 3, 10, 20)(3)).toBe(10);
  });

  it("makes round ticks covering the maximum", () => {
    expect(niceTicks(10)).toEqual([0, 5, 10]);
    expect(niceTicks(37)).toEqual([0, 10, 20, 30, 40]);
    expect(niceTicks(0.9)).toEqual([0, 0.5, 1]);
    expect(niceTicks(0)).toEqual([0, 1]);
  });

  it("splits a width into padded bands and colours counts", () => {
    const b = bands(4, 400, 0.2);
    expect(b.width).toBe(80);
    expect(b.x(0)).toBe(10);
    expect(b.x(3)).toBe(310);
    expect(heat(0, 10)).toBe("rgb(255, 255, 255)");
    expect(heat(10, 10)).toBe("rgb(79, 70, 229)");
  });
});
