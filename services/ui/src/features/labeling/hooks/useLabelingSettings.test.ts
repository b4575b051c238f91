import { describe, expect, it } from "vitest";
import { DEFAULT_LABELING_SETTINGS, mergeSettings } from "./useLabelingSettings";

describe("mergeSettings", () => {
  it("takes known keys of the right type over the defaults", () => {
    expect(mergeSettings({ autoNext: true, labelButtons: 8, hiddenSources: ["MANUAL", 3], extra: 1 })).toEqual({
      ...DEFAULT_LABELING_SETTINGS,
      autoNext: true,
      labelButtons: 8,
      hiddenSources: ["MANUAL"],
    });
  });
  it("ignores values of the wrong type and clamps the number of label buttons", () => {
    expect(mergeSettings({ autoNext: "yes", swimLanes: 1, labelButtons: 500 })).toEqual({ ...DEFAULT_LABELING_SETTINGS, labelButtons: 50 });
    expect(mergeSettings({ labelButtons: 0 }).labelButtons).toBe(1);
    expect(mergeSettings(null)).toEqual(DEFAULT_LABELING_SETTINGS);
    expect(mergeSettings([1])).toEqual(DEFAULT_LABELING_SETTINGS);
  });
});
