import { memo, useMemo, type CSSProperties, type MouseEvent } from "react";
import { assignLanes, assignSwimLanes, segmentText, type SpanBox } from "../lanes";
import { snapToTokens, type TokenRange, type TokenizedText } from "../tokens";

export interface DrawnSpan extends SpanBox {
  color: string;
  label: string;
  manual: boolean;
  /** The span's kind for the swim-lane layout (source, task, label). */
  lane?: string;
}

const LANE_PX = 4;

function segmentStyle(spans: DrawnSpan[], lanes: Map<string, number>, laneCount: number): CSSProperties {
  const images: string[] = [];
  const positions: string[] = [];
  for (const span of spans) {
    const lane = lanes.get(span.id) ?? 0;
    const fill = span.manual ? `linear-gradient(${span.color}, ${span.color})` : `repeating-linear-gradient(90deg, ${span.color} 0 4px, transparent 4px 7px)`;
    images.push(fill);
    positions.push(`0 calc(100% - ${lane * LANE_PX}px)`);
  }
  const first = spans[0];
  return {
    backgroundImage: images.join(", "),
    backgroundPosition: positions.join(", "),
    backgroundSize: `100% ${LANE_PX - 1}px`,
    backgroundRepeat: "no-repeat",
    paddingBottom: `${laneCount * LANE_PX}px`,
    backgroundColor: first ? `color-mix(in srgb, ${first.color} 14%, transparent)` : undefined,
  };
}

/** The character offset of a DOM position inside the text: segments carry their start offset in `data-start`. */
function offsetOf(container: HTMLElement, node: Node | null, nodeOffset: number): number | null {
  if (!node || !container.contains(node)) return null;
  const element = node.nodeType === Node.TEXT_NODE ? node.parentElement : (node as HTMLElement);
  const segment = element?.closest<HTMLElement>("[data-start]");
  if (!segment) return null;
  const start = Number(segment.dataset.start);
  if (node.nodeType === Node.TEXT_NODE) return start + nodeOffset;
  return nodeOffset === 0 ? start : start + (segment.textContent?.length ?? 0);
}

/**
 * A text attribute with its spans: a few runs of text (cut at span boundaries) with spans as lane bars under the text;
 * never one element per token. A drag selection is snapped to whole tokens and reported with `onSelect`.
 */
export const SpanText = memo(function SpanText({
  doc,
  spans,
  selection,
  lineBreaks,
  swimLanes = false,
  focusedId = null,
  onSelect,
}: {
  doc: TokenizedText;
  spans: DrawnSpan[];
  selection: TokenRange | null;
  lineBreaks: boolean;
  /** Each kind of span in its own lane (else overlapping spans share lanes first-fit). */
  swimLanes?: boolean;
  /** The span focused with Tab: outlined. */
  focusedId?: string | null;
  onSelect: (range: TokenRange | null, anchor: DOMRect | null) => void;
}) {
  const drawn = useMemo(() => {
    const all: DrawnSpan[] = selection
      ? [
          ...spans,
          { id: "selection", charStart: selection.charStart, charEnd: selection.charEnd, color: "#2563eb", label: "selection", manual: true, lane: "~" },
        ]
      : spans;
    const { lanes, count } = swimLanes ? assignSwimLanes(all.map((s) => ({ ...s, lane: s.lane ?? s.label }))) : assignLanes(all);
    const byId = new Map(all.map((s) => [s.id, s]));
    return { segments: segmentText(doc.text.length, all), lanes, count, byId };
  }, [doc.text.length, spans, selection, swimLanes]);

  function onMouseUp(event: MouseEvent<HTMLDivElement>) {
    const picked = window.getSelection();
    if (!picked || picked.isCollapsed || picked.rangeCount === 0) return;
    const container = event.currentTarget;
    const a = offsetOf(container, picked.anchorNode, picked.anchorOffset);
    const b = offsetOf(container, picked.focusNode, picked.focusOffset);
    if (a === null || b === null) return;
    const range = snapToTokens(doc.tokens, a, b);
    const rect = picked.getRangeAt(0).getBoundingClientRect();
    picked.removeAllRanges();
    onSelect(range, range ? rect : null);
  }

  return (
    <div
      className={`record-text spans${lineBreaks ? " pre" : ""}`}
      data-testid="record-text"
      style={{ lineHeight: `calc(1.6em + ${drawn.count * LANE_PX}px)` }}
      onMouseUp={onMouseUp}
    >
      {drawn.segments.map((segment) => {
        const text = doc.text.slice(segment.start, segment.end);
        if (segment.spanIds.length === 0) {
          return (
            <span key={segment.start} data-start={segment.start}>
              {text}
            </span>
          );
        }
        const covering = segment.spanIds.map((id) => drawn.byId.get(id)).filter((s): s is DrawnSpan => s !== undefined);
        const title = covering.map((s) => s.label).join(", ");
        const isSelected = segment.spanIds.includes("selection");
        const isFocused = focusedId !== null && segment.spanIds.includes(focusedId);
        return (
          <mark
            key={segment.start}
            data-start={segment.start}
            className={`span-seg${isSelected ? " selected" : ""}${isFocused ? " focused" : ""}`}
            style={segmentStyle(covering, drawn.lanes, drawn.count)}
            title={title}
          >
            {text}
          </mark>
        );
      })}
    </div>
  );
});
