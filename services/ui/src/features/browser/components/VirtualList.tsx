import { useEffect, useLayoutEffect, useRef, useState, type ReactNode } from "react";
import styles from "../browser.module.css";
import { virtualLayout } from "../virtual";

// Rows are placed by transform (a move is compositing, not layout: in a list past MAX_SCROLL_HEIGHT every row moves on
// every scroll event) and contained (a row's layout and paint never reach the others).
const ROW_STYLE = { position: "absolute", left: 0, right: 0, top: 0, contain: "strict" } as const;

/**
 * A vertical list of `count` rows of a fixed height that renders only the rows in view (plus a few around), so the
 * DOM stays small at any depth. `onNearEnd` fires when the view comes within a page of row `loaded` (load more).
 */
export function VirtualList({
  count,
  rowHeight,
  loaded,
  onNearEnd,
  renderRow,
  label,
  resetKey,
}: {
  count: number;
  rowHeight: number;
  loaded: number;
  onNearEnd: () => void;
  renderRow: (index: number) => ReactNode;
  label: string;
  resetKey: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(800);
  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return;
    // never more than the window: should a layout let the list grow to its content, it still draws one screen
    const measure = () => setViewport(Math.min(element.clientHeight, window.innerHeight));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  useEffect(() => {
    ref.current?.scrollTo({ top: 0 });
    setScrollTop(0);
  }, [resetKey]); // a new result starts at the top
  const layout = virtualLayout(scrollTop, viewport, count, rowHeight);
  useEffect(() => {
    if (layout.last + 50 >= loaded && loaded < count) onNearEnd();
  }, [layout.last, loaded, count, onNearEnd]);
  const rows: ReactNode[] = [];
  for (let i = layout.first; i < layout.last; i++) {
    rows.push(
      <div key={i} role="listitem" aria-setsize={count} aria-posinset={i + 1} style={{ ...ROW_STYLE, height: rowHeight, transform: `translateY(${layout.top(i)}px)` }}>
        {renderRow(i)}
      </div>,
    );
  }
  return (
    <div
      ref={ref}
      className={styles.vlist}
      tabIndex={0}
      aria-label={label}
      onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}
      data-testid="results-scroller"
      data-loaded={loaded}
    >
      <div role="list" aria-label={label} style={{ position: "relative", height: layout.height }}>
        {rows}
      </div>
    </div>
  );
}
