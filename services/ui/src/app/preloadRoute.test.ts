import { describe, expect, it } from "vitest";
import { routeChunk } from "./preloadRoute";

describe("routeChunk", () => {
  it("names the chunk of the page a path opens", () => {
    expect(routeChunk("/projects/p1/overview")).toBe("overview");
    expect(routeChunk("/projects/p1/data-browser")).toBe("data-browser");
    expect(routeChunk("/projects/p1/labeling/s1")).toBe("labeling");
    expect(routeChunk("/projects/p1/settings")).toBeNull();
    expect(routeChunk("/projects")).toBeNull();
  });
});
