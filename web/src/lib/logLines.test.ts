import { describe, expect, it } from "vitest";
import { LogLines, splitContent } from "./logLines";
import { flush } from "../test/fakes";

function makeLog(total: number) {
  const requests: [number, number][] = [];
  const read = async (offset: number, limit: number) => {
    requests.push([offset, limit]);
    const end = Math.min(total, offset + limit);
    return Array.from({ length: Math.max(0, end - offset) }, (_, i) => `oline ${offset + i}`);
  };
  return { read, requests };
}

describe("LogLines", () => {
  it("splits contents into lines", () => {
    expect(splitContent("")).toEqual([]);
    expect(splitContent("a\nb\n")).toEqual(["a", "b"]);
  });

  it("reads only the pages in view of a huge log", async () => {
    const { read, requests } = makeLog(50_000_000);
    const lines = new LogLines(read, { pageSize: 100 });
    lines.setNumLines(50_000_000);
    lines.ensure(25_000_010, 25_000_050);
    await flush();
    expect(requests).toEqual([[25_000_000, 100]]);
    expect(lines.line(25_000_020)).toBe("oline 25000020");
    expect(lines.loadedLines).toBe(100);
  });

  it("completes the last page with only the new lines while the log grows", async () => {
    let total = 3;
    const requests: [number, number][] = [];
    const read = async (offset: number, limit: number) => {
      requests.push([offset, limit]);
      return Array.from(
        { length: Math.min(total, offset + limit) - offset },
        (_, i) => `o${offset + i}`,
      );
    };
    const lines = new LogLines(read, { pageSize: 100 });
    lines.setNumLines(3);
    lines.ensure(0, 50);
    await flush();
    total = 7;
    lines.setNumLines(7);
    await flush();
    expect(requests).toEqual([
      [0, 3],
      [3, 4],
    ]);
    expect(lines.line(6)).toBe("o6");
  });

  it("evicts the least recently used pages beyond its bound", async () => {
    const { read } = makeLog(10_000);
    const lines = new LogLines(read, { pageSize: 10, maxPages: 4 });
    lines.setNumLines(10_000);
    for (let p = 0; p < 8; p++) {
      lines.ensure(p * 10, p * 10 + 5);
      await flush();
    }
    expect(lines.loadedLines).toBeLessThanOrEqual(40);
    expect(lines.line(75)).toBe("oline 75");
    expect(lines.line(5)).toBeUndefined();
  });

  it("searches the loaded lines", async () => {
    const { read } = makeLog(1000);
    const lines = new LogLines(read, { pageSize: 100 });
    lines.setNumLines(1000);
    lines.ensure(0, 10);
    await flush();
    expect(lines.search((l) => l.endsWith(" 42"))).toEqual([42]);
    expect(lines.search((l) => l.endsWith(" 942"))).toEqual([]);
  });
});
