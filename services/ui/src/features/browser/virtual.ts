/** Browsers cap an element's height (Chrome near 33.5M px); beyond this the list maps its scroll range onto the rows. */
export const MAX_SCROLL_HEIGHT = 8_000_000;

export interface VirtualLayout {
  /** The height of the scrolled content. */
  height: number;
  /** The first and last (exclusive) row to render. */
  first: number;
  last: number;
  /** Where row `index` goes (px from the content's top). */
  top: (index: number) => number;
}

/**
 * Which rows of a fixed-height list to render for a scroll position, and where. Rows past MAX_SCROLL_HEIGHT are
 * reached by scaling: the scroll position's share of the scroll range picks the same share of the rows, so the last
 * row is shown at the end of the scrollbar however long the list is.
 */
export function virtualLayout(scrollTop: number, viewport: number, count: number, rowHeight: number, overscan = 3): VirtualLayout {
  const full = count * rowHeight;
  const height = Math.min(full, MAX_SCROLL_HEIGHT);
  const maxScroll = Math.max(0, height - viewport);
  const top = Math.min(Math.max(0, scrollTop), maxScroll);
  const realTop = full > height && maxScroll > 0 ? (top / maxScroll) * Math.max(0, full - viewport) : top;
  const first = Math.max(0, Math.floor(realTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((realTop + viewport) / rowHeight) + overscan);
  return { height, first, last, top: (index) => top + index * rowHeight - realTop };
}
