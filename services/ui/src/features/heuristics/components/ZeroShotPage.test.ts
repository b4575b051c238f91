import { describe, expect, it } from "vitest";
import { asPrediction } from "./ZeroShotPage";

describe("asPrediction", () => {
  it("reads the embedder's playground answer", () => {
    const p = asPrediction({ labels: [{ name: "ham", confidence: 0.2 }, { name: "spam", confidence: 0.8 }], prediction: "spam", min_confidence: 0.7 });
    expect(p.label).toBe("spam");
    expect(p.scores.map((s) => s.name)).toEqual(["spam", "ham"]);
  });
  it("gives no label below the threshold and survives junk", () => {
    expect(asPrediction({ labels: [{ name: "a", confidence: 0.4 }], prediction: null }).label).toBeNull();
    expect(asPrediction("nonsense")).toEqual({ label: null, scores: [] });
  });
});
