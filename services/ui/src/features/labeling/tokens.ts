/** A token of a text attribute as the tokens view returns it: char start `idx`, char end `end` (exclusive). */
export interface Token {
  i: number;
  text: string;
  idx: number;
  end: number;
}

export interface TokenizedText {
  text: string;
  tokens: Token[];
}

/** Index of the token holding character `offset`, or the nearest token after it (binary search over token starts). */
export function tokenAtOrAfter(tokens: readonly Token[], offset: number): number {
  let lo = 0;
  let hi = tokens.length - 1;
  let found = tokens.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const token = tokens[mid]!;
    if (token.end > offset) {
      found = mid;
      hi = mid - 1;
    } else {
      lo = mid + 1;
    }
  }
  return found;
}

/** Index of the token holding character `offset - 1` (the last one a selection ending at `offset` touches). */
export function tokenBefore(tokens: readonly Token[], offset: number): number {
  let lo = 0;
  let hi = tokens.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid]!.idx < offset) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** A token range [start, end) (end exclusive) with its character range. */
export interface TokenRange {
  tokenStart: number;
  tokenEnd: number;
  charStart: number;
  charEnd: number;
}

/**
 * Snap a character selection [charStart, charEnd) outward to whole tokens. Null when the selection holds no token
 * (only whitespace, or an empty text).
 */
export function snapToTokens(tokens: readonly Token[], charStart: number, charEnd: number): TokenRange | null {
  if (tokens.length === 0) return null;
  const [from, to] = charStart <= charEnd ? [charStart, charEnd] : [charEnd, charStart];
  if (to <= from) return null;
  const first = tokenAtOrAfter(tokens, from);
  const last = tokenBefore(tokens, to);
  if (last < first) return null;
  const a = tokens[first]!;
  const b = tokens[last]!;
  if (a.idx >= to || b.end <= from) return null;
  return { tokenStart: first, tokenEnd: last + 1, charStart: a.idx, charEnd: b.end };
}

/** The character range of a token range [start, end). */
export function charRange(tokens: readonly Token[], tokenStart: number, tokenEnd: number): TokenRange | null {
  const a = tokens[tokenStart];
  const b = tokens[tokenEnd - 1];
  if (!a || !b || tokenEnd <= tokenStart) return null;
  return { tokenStart, tokenEnd, charStart: a.idx, charEnd: b.end };
}

/** Grow or shrink a token range by one token at its end (Shift+→ / Shift+←); it keeps at least one token. */
export function extendRange(tokens: readonly Token[], range: TokenRange, direction: 1 | -1): TokenRange {
  const end = Math.min(tokens.length, Math.max(range.tokenStart + 1, range.tokenEnd + direction));
  return charRange(tokens, range.tokenStart, end) ?? range;
}

/** Move a token range by one token, keeping its length (←/→ while a selection is active). */
export function moveRange(tokens: readonly Token[], range: TokenRange, direction: 1 | -1): TokenRange {
  const length = range.tokenEnd - range.tokenStart;
  const start = Math.max(0, Math.min(tokens.length - length, range.tokenStart + direction));
  return charRange(tokens, start, start + length) ?? range;
}
