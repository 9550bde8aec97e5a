import { describe, expect, it } from "vitest";
import { nextCell } from "./gridKeys";

describe("nextCell", () => {
  const cells = [
    { r: 0, c: -1 },
    { r: 0, c: 0 },
    { r: 0, c: 5 },
    { r: 1, c: -1 },
    { r: 1, c: 4 },
  ];
  it("moves along the row and to the nearest cell in the next row", () => {
    expect(nextCell(cells, { r: 0, c: -1 }, "ArrowRight")).toBe(1);
    expect(nextCell(cells, { r: 0, c: 0 }, "ArrowRight")).toBe(2);
    expect(nextCell(cells, { r: 0, c: 5 }, "ArrowRight")).toBeNull();
    expect(nextCell(cells, { r: 0, c: 0 }, "ArrowDown")).toBe(3);
    expect(nextCell(cells, { r: 1, c: 4 }, "ArrowUp")).toBe(2);
    expect(nextCell(cells, { r: 1, c: 4 }, "ArrowLeft")).toBe(3);
  });
});
