import { describe, expect, it } from "vitest";
import { pct, qualityHeadline } from "./quality";

describe("weak-supervision quality headline", () => {
  it("states the accuracy, its interval, the number of labels and the method", () => {
    const text = qualityHeadline({ available: true, manual_labels: 20, folds: 5, accuracy: 0.9, accuracy_interval_95: [0.699, 0.9721] });
    expect(text).toBe("Accuracy 90.0 % (95 % interval 69.9 % – 97.2 %) on 20 manual labels the model was not fitted on, 5-fold cross-validation.");
  });

  it("gives the reason instead of a number when there is no figure", () => {
    const text = qualityHeadline({ available: false, manual_labels: 9, reason: "9 labeled records (< 10): too few to estimate quality", accuracy: 0.9 });
    expect(text).toBe("No quality figure: 9 labeled records (< 10): too few to estimate quality.");
    expect(text).not.toContain("90");
  });

  it("states the token-level F1 of an extraction run, its interval and the span-level F1", () => {
    const text = qualityHeadline({ available: true, level: "token", manual_labels: 20, folds: 5, accuracy: null, f1: 0.5, f1_interval_95: [0.3, 0.7], span_f1: 0.45, tokens: 60 });
    expect(text).toBe("Token-level F1 50.0 % (95 % interval 30.0 % – 70.0 %) on 20 manually labeled records (60 tokens) the model was not fitted on, 5-fold cross-validation; span-level F1 45.0 %.");
  });

  it("formats missing values as a dash", () => {
    expect(pct(null)).toBe("—");
    expect(pct(0.5)).toBe("50.0 %");
  });
});
