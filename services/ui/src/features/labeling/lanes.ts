/** A span to draw: a half-open character range and an id. */
export interface SpanBox {
  id: string;
  charStart: number;
  charEnd: number;
}

/**
 * First-fit lane layout: each span (by start, longer first) gets the lowest lane whose last span ended at or before
 * its start, so overlapping spans never share a lane. Returns the lane per span id and the number of lanes.
 */
export function assignLanes(spans: readonly SpanBox[]): { lanes: Map<string, number>; count: number } {
  const sorted = [...spans].sort((a, b) => a.charStart - b.charStart || b.charEnd - a.charEnd || a.id.localeCompare(b.id));
  const laneEnds: number[] = [];
  const lanes = new Map<string, number>();
  for (const span of sorted) {
    let lane = laneEnds.findIndex((end) => end <= span.charStart);
    if (lane === -1) {
      lane = laneEnds.length;
      laneEnds.push(span.charEnd);
    } else {
      laneEnds[lane] = span.charEnd;
    }
    lanes.set(span.id, lane);
  }
  return { lanes, count: laneEnds.length };
}

/** A run of text between span boundaries with the spans covering it. */
export interface Segment {
  start: number;
  end: number;
  spanIds: string[];
}

/**
 * Cut a text of `length` characters at every span boundary: the few text runs the record is drawn as (never one element
 * per token). Runs without spans are merged, so the count is at most 2 × spans + 1.
 */
export function segmentText(length: number, spans: readonly SpanBox[]): Segment[] {
  const cuts = new Set<number>([0, length]);
  for (const s of spans) {
    cuts.add(Math.max(0, Math.min(length, s.charStart)));
    cuts.add(Math.max(0, Math.min(length, s.charEnd)));
  }
  const points = [...cuts].sort((a, b) => a - b);
  const starts = [...spans].sort((a, b) => a.charStart - b.charStart);
  const segments: Segment[] = [];
  for (let k = 0; k + 1 < points.length; k++) {
    const start = points[k]!;
    const end = points[k + 1]!;
    if (end <= start) continue;
    const ids: string[] = [];
    for (const s of starts) {
      if (s.charStart >= end) break;
      if (s.charEnd > start) ids.push(s.id);
    }
    const previous = segments[segments.length - 1];
    if (ids.length === 0 && previous && previous.spanIds.length === 0) previous.end = end;
    else segments.push({ start, end, spanIds: ids });
  }
  return segments;
}

/**
 * Swim-lane layout: every kind of span (its `lane` key, e.g. source + task + label) gets a lane of its own, in the keys'
 * sorted order, whether or not its spans overlap others: the same kind is always at the same height.
 */
export function assignSwimLanes(spans: readonly (SpanBox & { lane: string })[]): { lanes: Map<string, number>; count: number } {
  const keys = [...new Set(spans.map((s) => s.lane))].sort();
  const index = new Map(keys.map((key, i) => [key, i] as const));
  return { lanes: new Map(spans.map((s) => [s.id, index.get(s.lane) ?? 0] as const)), count: keys.length };
}
