import { describe, expect, it } from "vitest";
import { elapsed, formatAgo, formatDuration } from "./time";

describe("time", () => {
  it("formats durations", () => {
    expect(formatDuration(0.25)).toBe("250 ms");
    expect(formatDuration(42)).toBe("42 s");
    expect(formatDuration(185)).toBe("3 min 5 s");
    expect(formatDuration(7440)).toBe("2 h 4 min");
    expect(formatDuration(3 * 86400 + 7200)).toBe("3 d 2 h");
  });
  it("formats ages", () => {
    expect(formatAgo(1000, 1010)).toBe("just now");
    expect(formatAgo(1000, 1000 + 300)).toBe("5 min ago");
    expect(formatAgo(1000, 1000 + 3 * 3600)).toBe("3 h ago");
  });
  it("measures running and finished spans", () => {
    expect(elapsed(10, 25, 100)).toBe(15);
    expect(elapsed(10, null, 100)).toBe(90);
    expect(elapsed(null, null, 100)).toBeNull();
  });
});
