import { describe, expect, it } from "vitest";
import { hotkeyProblem, labelForKey, type HotkeyLabel } from "./hotkeys";

const labels: HotkeyLabel[] = [
  { id: "1", name: "positive", hotkey: "p", taskId: "t" },
  { id: "2", name: "negative", hotkey: "n", taskId: "t" },
  { id: "3", name: "neutral", hotkey: null, taskId: "t2" },
];

describe("hotkey rules", () => {
  it("allows letters, digits and punctuation not used elsewhere", () => {
    expect(hotkeyProblem("x", "3", labels)).toBeNull();
    expect(hotkeyProblem("1", "3", labels)).toBeNull();
    expect(hotkeyProblem(",", "3", labels)).toBeNull();
  });

  it("refuses reserved keys", () => {
    for (const key of ["ArrowLeft", "ArrowRight", "Enter", "Escape", "Backspace", "Tab", "?", " "]) {
      expect(hotkeyProblem(key, "3", labels)).toMatch(/reserved/);
    }
  });

  it("refuses a key another label of the project has, in any case, but not the label's own", () => {
    expect(hotkeyProblem("P", "3", labels)).toMatch(/positive/);
    expect(hotkeyProblem("p", "1", labels)).toBeNull();
  });

  it("refuses keys that are not one character", () => {
    expect(hotkeyProblem("Shift", "3", labels)).toMatch(/single character/);
    expect(hotkeyProblem("F1", "3", labels)).toMatch(/single character/);
  });

  it("finds the label of a pressed key regardless of case", () => {
    expect(labelForKey("N", labels)?.name).toBe("negative");
    expect(labelForKey("z", labels)).toBeUndefined();
    expect(labelForKey("ArrowRight", labels)).toBeUndefined();
  });
});
