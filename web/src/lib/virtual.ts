// Which rows of a long list to render. Browsers cap an element's height (~16-33 M px), so
// past kMaxScrollPx the scrollbar is scaled: scrollTop maps linearly onto the virtual height
// and rows are placed relative to the viewport (a 10-million-line log still scrolls).

export const MAX_SCROLL_PX = 8_000_000;

export interface WindowInput {
  count: number;
  rowHeight: number;
  scrollTop: number;
  viewportHeight: number;
  overscan?: number;
}

export interface VirtualWindow {
  /** First and last (exclusive) row to render. */
  first: number;
  last: number;
  /** Height of the scrollable content, in px. */
  totalHeight: number;
  /** Virtual px per physical px (1 unless the list is taller than MAX_SCROLL_PX). */
  scale: number;
  /** Top of row `row` inside the scroll content, in px. */
  top(row: number): number;
}

function scaleOf(
  count: number,
  rowHeight: number,
  viewportHeight: number,
): { total: number; scale: number } {
  const virtual = count * rowHeight;
  if (virtual <= MAX_SCROLL_PX) return { total: virtual, scale: 1 };
  const range = Math.max(1, MAX_SCROLL_PX - viewportHeight);
  return { total: MAX_SCROLL_PX, scale: Math.max(1, virtual - viewportHeight) / range };
}

export function virtualWindow(input: WindowInput): VirtualWindow {
  const { count, rowHeight, viewportHeight } = input;
  const overscan = input.overscan ?? 10;
  const { total, scale } = scaleOf(count, rowHeight, viewportHeight);
  const scrollTop = Math.max(0, Math.min(input.scrollTop, Math.max(0, total - viewportHeight)));
  const virtualTop = scrollTop * scale;
  const first = Math.max(0, Math.floor(virtualTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((virtualTop + viewportHeight) / rowHeight) + overscan);
  return {
    first,
    last,
    totalHeight: total,
    scale,
    top: (row) => scrollTop + (row * rowHeight - virtualTop),
  };
}

/** The scrollTop that puts `row` at the top of the viewport. */
export function scrollTopFor(
  row: number,
  count: number,
  rowHeight: number,
  viewportHeight: number,
): number {
  const { total, scale } = scaleOf(count, rowHeight, viewportHeight);
  return Math.max(0, Math.min(total - viewportHeight, (row * rowHeight) / scale));
}
