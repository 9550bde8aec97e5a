import { describe, expect, it } from "vitest";
import { RestClient } from "../api/rest";
import { fakeFetch, flush } from "../test/fakes";
import { LatestBuilds, type BuildSummary } from "./latestBuilds";

const build = (buildid: number, builderid: number, number: number): BuildSummary => ({
  buildid,
  builderid,
  number,
  results: 0,
  complete: true,
  started_at: 1,
  complete_at: 2,
  state_string: "",
});

describe("LatestBuilds", () => {
  it("covers busy builders with one request and asks for the others only when shown", async () => {
    const { impl, calls } = fakeFetch({
      // The newest builds overall (limit 3 here): builder 1 has enough of them.
      "/api/v2/builds": {
        body: { builds: [build(9, 1, 3), build(8, 1, 2), build(7, 1, 1)], meta: {} },
      },
      "/api/v2/builders/2/builds": { body: { builds: [build(2, 2, 1)], meta: {} } },
    });
    const latest = new LatestBuilds(new RestClient(impl), null, 3, 3);
    await latest.start();
    expect(calls[0]?.url).toBe(
      "/api/v2/builds?order=-buildid&limit=3&field=buildid&field=number&field=builderid&field=results&field=complete&field=started_at&field=complete_at&field=state_string",
    );
    expect(latest.get(1).map((b) => b.number)).toEqual([3, 2, 1]);
    expect(latest.isKnown(2)).toBe(false);
    latest.want([1, 2]);
    await flush();
    await flush();
    expect(calls.map((c) => c.url.split("?")[0])).toEqual([
      "/api/v2/builds",
      "/api/v2/builders/2/builds",
    ]);
    expect(latest.get(2).map((b) => b.buildid)).toEqual([2]);
    latest.want([2]);
    expect(calls).toHaveLength(2);
    // After a reconnect it reads the newest builds again and the rows on screen again.
    await latest.reload();
    await flush();
    await flush();
    expect(calls.map((c) => c.url.split("?")[0]).slice(2)).toEqual([
      "/api/v2/builds",
      "/api/v2/builders/2/builds",
    ]);
    expect(latest.get(2).map((b) => b.buildid)).toEqual([2]);
  });

  it("needs no other request when the newest builds are all there are", async () => {
    const { impl, calls } = fakeFetch({
      "/api/v2/builds": { body: { builds: [build(1, 1, 1)], meta: {} } },
    });
    const latest = new LatestBuilds(new RestClient(impl), null, 5, 1000);
    await latest.start();
    latest.want([1, 2, 3]);
    expect(calls).toHaveLength(1);
    expect(latest.isKnown(3)).toBe(true);
  });

  it("takes build events, newest first, keeping a few per builder", () => {
    const latest = new LatestBuilds(new RestClient(fakeFetch({}).impl), null, 2);
    latest.upsert(build(1, 1, 1));
    latest.upsert(build(2, 1, 2));
    latest.upsert(build(3, 1, 3));
    latest.upsert({ ...build(3, 1, 3), results: 2 });
    expect(latest.get(1).map((b) => [b.number, b.results])).toEqual([
      [3, 2],
      [2, 0],
    ]);
  });
});
