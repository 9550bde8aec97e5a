import { beforeEach, describe, expect, it } from "vitest";
import { LiveConnection } from "./live";
import { RestClient } from "./rest";
import { LiveQuery, Store, type QuerySpec } from "./store";
import { fakeFetch, FakeSocket, flush, ManualTimers } from "../test/fakes";

interface B {
  buildid: number;
  complete: boolean;
  state_string: string;
}

const spec: QuerySpec<B> = {
  path: "builds",
  query: { complete: false },
  id: "buildid",
  accept: (b) => !b.complete,
  compare: (a, b) => b.buildid - a.buildid,
};

function setup(answer: () => { body: unknown }) {
  FakeSocket.instances = [];
  const timers = new ManualTimers();
  const live = new LiveConnection({
    url: "ws://x/ws",
    createSocket: (u) => new FakeSocket(u) as unknown as WebSocket,
    timers,
  });
  live.start();
  const socket = FakeSocket.instances[0]!;
  socket.open();
  const { impl, calls } = fakeFetch({ "/api/v2/builds": answer });
  return { live, socket, rest: new RestClient(impl), calls, timers };
}

describe("LiveQuery", () => {
  beforeEach(() => undefined);

  it("subscribes before it fetches", async () => {
    const { live, socket, rest, calls } = setup(() => ({ body: { builds: [], meta: {} } }));
    const query = new LiveQuery(spec, rest, live);
    const started = query.start();
    expect(socket.sent[0]).toMatchObject({ cmd: "startConsuming", path: "builds/*/*" });
    expect(calls).toHaveLength(0);
    await started;
    expect(calls).toHaveLength(1);
  });

  it("lets an event that arrived during the fetch win over the fetched item", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const state = { socket: null as FakeSocket | null };
    const { live, socket, rest } = setup(() => {
      // The event is published while the server builds its answer (which is older).
      state.socket?.serverSend({
        k: "builds/1/update",
        m: { buildid: 1, complete: false, state_string: "newer" },
      });
      return {
        body: {
          builds: [
            { buildid: 1, complete: false, state_string: "older" },
            { buildid: 2, complete: false, state_string: "x" },
          ],
          meta: {},
        },
      };
    });
    state.socket = socket;
    const query = new LiveQuery(spec, rest, live);
    void gate;
    release();
    await query.start();
    await flush();
    expect(query.getSnapshot().items.map((b) => [b.buildid, b.state_string])).toEqual([
      [2, "x"],
      [1, "newer"],
    ]);
  });

  it("upserts events, merges partial payloads, and drops items that stop matching", async () => {
    const { live, socket, rest } = setup(() => ({
      body: { builds: [{ buildid: 1, complete: false, state_string: "a" }], meta: {} },
    }));
    const query = new LiveQuery(spec, rest, live);
    await query.start();
    socket.serverSend({
      k: "builds/2/new",
      m: { buildid: 2, complete: false, state_string: "starting" },
    });
    socket.serverSend({ k: "builds/1/update", m: { buildid: 1, state_string: "building" } });
    expect(query.getSnapshot().items.map((b) => [b.buildid, b.state_string, b.complete])).toEqual([
      [2, "starting", false],
      [1, "building", false],
    ]);
    socket.serverSend({
      k: "builds/2/finished",
      m: { buildid: 2, complete: true, state_string: "done" },
    });
    expect(query.getSnapshot().items.map((b) => b.buildid)).toEqual([1]);
  });

  it("keeps a first page at its limit, and later pages take no new items", async () => {
    const { live, socket, rest } = setup(() => ({
      body: { builds: [{ buildid: 2, complete: false, state_string: "" }], meta: {} },
    }));
    const first = new LiveQuery({ ...spec, limit: 1 }, rest, live);
    await first.start();
    socket.serverSend({ k: "builds/3/new", m: { buildid: 3, complete: false, state_string: "" } });
    expect(first.getSnapshot().items.map((b) => b.buildid)).toEqual([3]);
    const later = new LiveQuery({ ...spec, acceptNew: false, key: "later" }, rest, live);
    await later.start();
    socket.serverSend({ k: "builds/4/new", m: { buildid: 4, complete: false, state_string: "" } });
    expect(later.getSnapshot().items.map((b) => b.buildid)).toEqual([2]);
  });

  it("merges property updates into one object", async () => {
    FakeSocket.instances = [];
    const live = new LiveConnection({
      url: "ws://x/ws",
      createSocket: (u) => new FakeSocket(u) as unknown as WebSocket,
      timers: new ManualTimers(),
    });
    live.start();
    const socket = FakeSocket.instances[0]!;
    socket.open();
    const { impl } = fakeFetch({
      "/api/v2/builds/1/properties": { body: { properties: [{ a: [1, "x"] }], meta: {} } },
    });
    const query = new LiveQuery<Record<string, unknown>>(
      { path: "builds/1/properties" },
      new RestClient(impl),
      live,
    );
    await query.start();
    expect(socket.sent[0]).toMatchObject({ path: "builds/1/properties/*" });
    socket.serverSend({ k: "builds/1/properties/update", m: { b: [2, "y"] } });
    expect(query.getSnapshot().items[0]).toEqual({ a: [1, "x"], b: [2, "y"] });
  });
});

describe("LiveQuery pageAll", () => {
  it("reads a collection larger than the master's page cap in pages", async () => {
    const all = Array.from({ length: 2500 }, (_, i) => ({
      builderid: i + 1,
      name: `b-${String(i + 1).padStart(4, "0")}`,
    }));
    const { impl, calls } = fakeFetch({
      "/api/v2/builders": (url) => {
        const params = new URL(url, "http://x").searchParams;
        const offset = Number(params.get("offset"));
        const limit = Number(params.get("limit"));
        return {
          body: { builders: all.slice(offset, offset + limit), meta: { total: all.length } },
        };
      },
    });
    const query = new LiveQuery<{ builderid: number; name: string }>(
      { path: "builders", id: "builderid", events: [], pageAll: 1000 },
      new RestClient(impl),
      null,
    );
    await query.start();
    expect(query.getSnapshot().items).toHaveLength(2500);
    expect(calls.map((c) => c.url).sort()).toEqual([
      "/api/v2/builders?limit=1000&offset=0",
      "/api/v2/builders?limit=1000&offset=1000",
      "/api/v2/builders?limit=1000&offset=2000",
    ]);
  });
});

describe("Store", () => {
  it("shares a query between users and refetches live queries after a reconnect", async () => {
    const { live, rest, calls, timers } = setup(() => ({ body: { builds: [], meta: {} } }));
    const store = new Store(rest, live, 10);
    const release1 = store.retain(spec);
    const release2 = store.retain(spec);
    await flush();
    await flush();
    expect(store.size).toBe(1);
    expect(calls).toHaveLength(1);
    FakeSocket.instances[0]!.drop();
    timers.runAll();
    FakeSocket.instances[1]!.open();
    await flush();
    await flush();
    expect(calls).toHaveLength(2);
    release1();
    release2();
  });
});
