import { describe, expect, it } from "vitest";
import { byBuildset, byChange, usedBuilders } from "./matrix";

const build = (buildid: number, builderid: number, buildrequestid: number, results = 0) => ({
  buildid,
  number: buildid,
  builderid,
  buildrequestid,
  results,
  complete: true,
});
const request = (
  buildrequestid: number,
  buildsetid: number,
  builderid: number,
  complete = false,
) => ({
  buildrequestid,
  buildsetid,
  builderid,
  complete,
  results: null,
});

describe("matrix joins", () => {
  const requests = [
    request(1, 10, 1, true),
    request(2, 10, 2, true),
    request(3, 11, 1),
    request(4, 11, 3, true), // cancelled: no build, complete
  ];
  const builds = [build(100, 1, 1), build(101, 2, 2, 2), build(102, 1, 1)];

  it("groups builds by buildset and builder, waiting requests too", () => {
    const rows = byBuildset(requests, builds);
    expect(
      rows
        .get(10)
        ?.get(1)
        ?.builds.map((b) => b.buildid),
    ).toEqual([102, 100]);
    expect(
      rows
        .get(10)
        ?.get(2)
        ?.builds.map((b) => b.results),
    ).toEqual([2]);
    expect(
      rows
        .get(11)
        ?.get(1)
        ?.waiting.map((r) => r.buildrequestid),
    ).toEqual([3]);
    expect(rows.get(11)?.has(3)).toBe(false);
  });

  it("finds a change's builds through the buildsets of its sourcestamp", () => {
    const perSet = byBuildset(requests, builds);
    const rows = byChange(
      [
        { changeid: 7, sourcestamp: { ssid: 50 } },
        { changeid: 8, sourcestamp: { ssid: 51 } },
      ],
      [
        { bsid: 10, sourcestamps: [{ ssid: 50 }] },
        { bsid: 11, sourcestamps: [{ ssid: 99 }] },
      ],
      perSet,
    );
    expect([...(rows.get(7)?.keys() ?? [])].sort()).toEqual([1, 2]);
    expect(rows.has(8)).toBe(false);
    expect(usedBuilders(rows.values(), [2, 1])).toEqual([2, 1]);
  });
});
