import { describe, expect, it } from "vitest";
import { layoutWaterfall, MAX_GAP, MIN_BOX, neighbour, PX_PER_SECOND } from "./waterfall";

const b = (buildid: number, builderid: number, started_at: number, complete_at: number | null) => ({
  buildid,
  builderid,
  started_at,
  complete_at,
});

describe("layoutWaterfall", () => {
  it("puts the newest build at the top and draws time to scale", () => {
    const layout = layoutWaterfall([b(2, 1, 1000, 1100), b(1, 2, 800, 900)], [1, 2], 2000);
    const [newer, older] = [...layout.boxes].sort((x, y) => x.top - y.top);
    expect(newer?.build.buildid).toBe(2);
    expect(newer?.top).toBe(0);
    expect(newer?.height).toBe(100 * PX_PER_SECOND);
    expect(older?.column).toBe(1);
    // The 100 s gap between the two is drawn to scale too (under MAX_GAP).
    expect(older?.top).toBe(newer!.height + 100 * PX_PER_SECOND);
  });

  it("compresses idle stretches and keeps every build readable", () => {
    const layout = layoutWaterfall([b(2, 1, 100_000, 100_001), b(1, 1, 0, 1)], [1], 200_000);
    const [newer, older] = [...layout.boxes].sort((x, y) => x.top - y.top);
    expect(newer?.height).toBe(MIN_BOX);
    expect(older!.top - (newer!.top + newer!.height)).toBeLessThanOrEqual(MAX_GAP);
  });

  it("gives overlapping builds of one builder lanes side by side", () => {
    const layout = layoutWaterfall(
      [b(3, 1, 100, 300), b(2, 1, 150, 250), b(1, 2, 100, 200)],
      [1, 2],
      1000,
    );
    const lanes = new Map(layout.boxes.map((x) => [x.build.buildid, x.lane]));
    expect(lanes.get(3)).toBe(0);
    expect(lanes.get(2)).toBe(1);
    expect(layout.columns).toEqual([
      { builderid: 1, lanes: 2, offset: 0 },
      { builderid: 2, lanes: 1, offset: 2 },
    ]);
    expect(layout.width).toBe(3);
  });

  it("leaves out builders not in the column order and grows running builds with now", () => {
    const early = layoutWaterfall([b(1, 1, 100, null), b(2, 9, 100, 150)], [1], 200);
    const later = layoutWaterfall([b(1, 1, 100, null), b(2, 9, 100, 150)], [1], 300);
    expect(early.boxes.map((x) => x.build.buildid)).toEqual([1]);
    expect(later.boxes[0]!.height).toBeGreaterThan(early.boxes[0]!.height);
  });

  it("finds the neighbour for arrow keys", () => {
    const layout = layoutWaterfall(
      [b(4, 1, 400, 450), b(3, 2, 300, 350), b(2, 1, 200, 250), b(1, 2, 100, 150)],
      [1, 2],
      1000,
    );
    const box = (id: number) => layout.boxes.find((x) => x.build.buildid === id)!;
    expect(neighbour(layout, box(4), "ArrowDown")?.build.buildid).toBe(2);
    expect(neighbour(layout, box(2), "ArrowUp")?.build.buildid).toBe(4);
    expect(neighbour(layout, box(4), "ArrowUp")).toBeNull();
    expect(neighbour(layout, box(4), "ArrowRight")?.build.buildid).toBe(3);
    expect(neighbour(layout, box(1), "ArrowLeft")?.build.buildid).toBe(2);
  });
});
