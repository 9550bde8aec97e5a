import { describe, expect, it } from "vitest";
import { RestClient } from "../api/rest";
import { fakeFetch } from "../test/fakes";
import { BuildWindow, type WindowBuild } from "./buildWindow";

const build = (buildid: number): WindowBuild => ({
  buildid,
  builderid: 1 + (buildid % 3),
  number: buildid,
  results: 0,
  complete: true,
  started_at: buildid * 10,
  complete_at: buildid * 10 + 5,
  state_string: "",
  workerid: 1,
});

describe("BuildWindow", () => {
  it("reads a bounded page of the newest builds and pages back by buildid", async () => {
    const { impl, calls } = fakeFetch({
      "/api/v2/builds": (url) => {
        const before = Number(new URL(url, "http://x").searchParams.get("buildid__lt") ?? 11);
        const ids = [before - 1, before - 2, before - 3].filter((id) => id > 0);
        return { body: { builds: ids.map(build), meta: {} } };
      },
    });
    const window_ = new BuildWindow(new RestClient(impl), null, 3);
    await window_.start();
    expect(calls[0]?.url).toMatch(/^\/api\/v2\/builds\?order=-buildid&limit=3&field=buildid/);
    expect(window_.getSnapshot().builds.map((b) => b.buildid)).toEqual([10, 9, 8]);
    await window_.loadOlder();
    expect(calls[1]?.url).toContain("buildid__lt=8");
    expect(window_.getSnapshot().builds.map((b) => b.buildid)).toEqual([10, 9, 8, 7, 6, 5]);
    await window_.loadOlder();
    await window_.loadOlder();
    expect(window_.getSnapshot().builds.at(-1)?.buildid).toBe(1);
    expect(window_.getSnapshot().exhausted).toBe(true);
    const before = calls.length;
    await window_.loadOlder();
    expect(calls.length).toBe(before);
  });

  it("takes new builds from events and merges updates of running ones", async () => {
    const { impl } = fakeFetch({
      "/api/v2/builds": { body: { builds: [build(5), build(4)], meta: {} } },
    });
    const window_ = new BuildWindow(new RestClient(impl), null, 2);
    await window_.start();
    window_.upsert({ ...build(6), complete: false, results: null, complete_at: null });
    window_.upsert({ buildid: 6, complete: true, results: 2 } as WindowBuild);
    window_.upsert(build(1)); // older than the window: left to its page
    const builds = window_.getSnapshot().builds;
    expect(builds.map((b) => b.buildid)).toEqual([6, 5, 4]);
    expect(builds[0]).toMatchObject({ complete: true, results: 2, builderid: 1 });
  });

  it("keeps at most maxBuilds", async () => {
    const { impl } = fakeFetch({
      "/api/v2/builds": { body: { builds: [build(5), build(4)], meta: {} } },
    });
    const window_ = new BuildWindow(new RestClient(impl), null, 2, 3);
    await window_.start();
    window_.upsert(build(6));
    window_.upsert(build(7));
    expect(window_.getSnapshot().builds.map((b) => b.buildid)).toEqual([7, 6, 5]);
  });
});
