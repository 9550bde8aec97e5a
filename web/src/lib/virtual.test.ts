import { describe, expect, it } from "vitest";
import { MAX_SCROLL_PX, scrollTopFor, virtualWindow } from "./virtual";

describe("virtualWindow", () => {
  it("renders only the rows in view (plus overscan)", () => {
    const w = virtualWindow({
      count: 2000,
      rowHeight: 50,
      scrollTop: 5000,
      viewportHeight: 500,
      overscan: 2,
    });
    expect([w.first, w.last]).toEqual([98, 112]);
    expect(w.totalHeight).toBe(100_000);
    expect(w.top(100)).toBe(5000);
  });

  it("scales the scrollbar for lists taller than the browser allows", () => {
    const count = 10_000_000;
    const w = virtualWindow({
      count,
      rowHeight: 20,
      scrollTop: MAX_SCROLL_PX,
      viewportHeight: 400,
      overscan: 0,
    });
    expect(w.totalHeight).toBe(MAX_SCROLL_PX);
    expect(w.last).toBe(count);
    expect(w.first).toBe(count - 20);
    // The last row sits at the bottom of the viewport.
    const scrollTop = MAX_SCROLL_PX - 400;
    expect(w.top(count - 1) - scrollTop).toBe(380);
  });

  it("finds the scroll position of a row, scaled or not", () => {
    expect(scrollTopFor(100, 2000, 50, 500)).toBe(5000);
    const top = scrollTopFor(5_000_000, 10_000_000, 20, 400);
    const w = virtualWindow({
      count: 10_000_000,
      rowHeight: 20,
      scrollTop: top,
      viewportHeight: 400,
      overscan: 0,
    });
    expect(Math.abs(w.first - 5_000_000)).toBeLessThanOrEqual(1);
  });
});
