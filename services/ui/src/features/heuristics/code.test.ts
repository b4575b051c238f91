import { describe, expect, it } from "vitest";
import { TEMPLATES, perLabel, percent, pickRandom, pyString, pythonIdentifier, showValue, toggled, userErrorLine } from "./code";

describe("templates", () => {
  it("fill in the label, the attribute and the lookup list, as valid Python strings", () => {
    const lookup = TEMPLATES.find((t) => t.id === "lookup");
    const code = lookup?.code({ label: 'say "hi"', attribute: "text", listName: "spam_words" }) ?? "";
    expect(code).toContain("from knowledge import spam_words");
    expect(code).toContain('record["text"].text.lower()');
    expect(code).toContain('return "say \\"hi\\""');
    for (const t of TEMPLATES) expect(t.code({ label: "a", attribute: "b", listName: "c" })).toMatch(/^def lf\(record\):$/m);
  });
  it("quote backslashes", () => {
    expect(pyString("a\\b")).toBe('"a\\\\b"');
  });
});

describe("pythonIdentifier", () => {
  it("turns a name into an identifier", () => {
    expect(pythonIdentifier("  spam words! ")).toBe("spam_words");
    expect(pythonIdentifier("1st try")).toBe("_1st_try");
    expect(pythonIdentifier("???")).toBe("my_function");
  });
});

describe("userErrorLine", () => {
  it("takes the last frame of the user's code", () => {
    const trace = 'Traceback:\n  File "<broken>", line 5, in lf\n    helper()\n  File "<broken>", line 3, in helper\nZeroDivisionError';
    expect(userErrorLine(trace)).toBe(3);
  });
  it("reads a syntax error's line and gives null without one", () => {
    expect(userErrorLine("SyntaxError: expected ':' (line 1)")).toBe(1);
    expect(userErrorLine("returned a float")).toBeNull();
    expect(userErrorLine(null)).toBeNull();
  });
});

describe("values", () => {
  it("show null, strings and JSON", () => {
    expect(showValue(null)).toBe("—");
    expect(showValue("spam")).toBe("spam");
    expect(showValue([["a", 0, 2]])).toBe('[["a",0,2]]');
    expect(percent(0.5)).toBe("50.0 %");
    expect(percent(null)).toBe("—");
  });
  it("list per-label rows sorted, without the label-less ones", () => {
    const rows = [
      { label_name: "spam", est_precision: 1, record_coverage: 2, total_hits: 2 },
      { label_name: null, est_precision: null, record_coverage: 0, total_hits: 0 },
      { label_name: "ham", est_precision: 0.5, record_coverage: 1, total_hits: 1 },
    ];
    expect(perLabel(rows).map((r) => r.label_name)).toEqual(["ham", "spam"]);
  });
});

describe("selection and sampling", () => {
  it("toggles without touching the old set", () => {
    const old = new Set(["a"]);
    expect([...toggled(old, "b")].sort()).toEqual(["a", "b"]);
    expect([...toggled(old, "a")]).toEqual([]);
    expect([...old]).toEqual(["a"]);
  });
  it("picks distinct items", () => {
    const picked = pickRandom([1, 2, 3, 4, 5, 6], 4);
    expect(new Set(picked).size).toBe(4);
    expect(pickRandom([1, 2], 10).sort()).toEqual([1, 2]);
  });
});
