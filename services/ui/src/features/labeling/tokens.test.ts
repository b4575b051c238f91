import { describe, expect, it } from "vitest";
import { extendRange, snapToTokens, tokenAtOrAfter, tokenBefore, type Token } from "./tokens";

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  for (const match of text.matchAll(/\S+/g)) {
    const idx = match.index ?? 0;
    tokens.push({ i: tokens.length, text: match[0], idx, end: idx + match[0].length });
  }
  return tokens;
}

const text = "The quick brown fox jumps";
const tokens = tokenize(text); // The(0-3) quick(4-9) brown(10-15) fox(16-19) jumps(20-25)

describe("token snapping", () => {
  it("finds the token holding an offset, or the next one from whitespace", () => {
    expect(tokenAtOrAfter(tokens, 0)).toBe(0);
    expect(tokenAtOrAfter(tokens, 5)).toBe(1);
    expect(tokenAtOrAfter(tokens, 3)).toBe(1); // the space after "The"
    expect(tokenBefore(tokens, 9)).toBe(1);
    expect(tokenBefore(tokens, 10)).toBe(1); // the selection ends before "brown" begins
    expect(tokenBefore(tokens, 11)).toBe(2);
  });

  it("snaps a partial selection outward to whole tokens", () => {
    // "ick bro" -> "quick brown"
    expect(snapToTokens(tokens, 6, 13)).toEqual({ tokenStart: 1, tokenEnd: 3, charStart: 4, charEnd: 15 });
    expect(text.slice(4, 15)).toBe("quick brown");
  });

  it("accepts a reversed selection and a selection of exactly one token", () => {
    expect(snapToTokens(tokens, 19, 16)).toEqual({ tokenStart: 3, tokenEnd: 4, charStart: 16, charEnd: 19 });
  });

  it("ignores empty and whitespace-only selections", () => {
    expect(snapToTokens(tokens, 5, 5)).toBeNull();
    expect(snapToTokens(tokens, 3, 4)).toBeNull();
    expect(snapToTokens([], 0, 3)).toBeNull();
  });

  it("snaps in a long text by binary search", () => {
    const long = tokenize(Array.from({ length: 20000 }, (_, k) => `w${k}`).join(" "));
    const target = long[12345]!;
    expect(snapToTokens(long, target.idx + 1, target.end - 1)?.tokenStart).toBe(12345);
  });

  it("extends and shrinks a range by one token, keeping at least one", () => {
    const one = snapToTokens(tokens, 4, 9)!;
    const two = extendRange(tokens, one, 1);
    expect([two.tokenStart, two.tokenEnd, two.charEnd]).toEqual([1, 3, 15]);
    expect(extendRange(tokens, one, -1)).toEqual(one);
    const all = extendRange(tokens, extendRange(tokens, extendRange(tokens, extendRange(tokens, one, 1), 1), 1), 1);
    expect(all.tokenEnd).toBe(5);
  });
});

describe("moving a selection", () => {
  it("moves by one token, keeps its length and stops at the ends", async () => {
    const { moveRange } = await import("./tokens");
    const two = snapToTokens(tokens, 0, 9)!; // The quick
    const moved = moveRange(tokens, two, 1);
    expect([moved.tokenStart, moved.tokenEnd]).toEqual([1, 3]);
    expect(moveRange(tokens, two, -1)).toEqual(two);
    let last = two;
    for (let k = 0; k < 10; k++) last = moveRange(tokens, last, 1);
    expect([last.tokenStart, last.tokenEnd]).toEqual([3, 5]);
  });
});
