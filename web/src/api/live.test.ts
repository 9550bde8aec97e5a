import { beforeEach, describe, expect, it } from "vitest";
import { eventPathFor, LiveConnection, matchesPath } from "./live";
import { FakeSocket, flush, ManualTimers } from "../test/fakes";

describe("paths", () => {
  it("derives event paths as Buildbot's UI does", () => {
    expect(eventPathFor("builds")).toBe("builds/*/*");
    expect(eventPathFor("builders/1/builds")).toBe("builders/1/builds/*/*");
    expect(eventPathFor("builds/5")).toBe("builds/5/*");
    expect(eventPathFor("builds/5/properties")).toBe("builds/5/properties/*");
  });
  it("matches keys segment by segment", () => {
    expect(matchesPath("builds/*/*", "builds/5/new")).toBe(true);
    expect(matchesPath("builds/*/*", "builds/5/steps/9/new")).toBe(false);
    expect(matchesPath("logs/7/*", "logs/8/append")).toBe(false);
  });
});

describe("LiveConnection", () => {
  let timers: ManualTimers;
  const make = () =>
    new LiveConnection({
      url: "ws://x/ws",
      createSocket: (url) => new FakeSocket(url) as unknown as WebSocket,
      timers,
      backoff: () => 10,
    });
  beforeEach(() => {
    FakeSocket.instances = [];
    timers = new ManualTimers();
  });

  it("subscribes with startConsuming and an _id, and resolves on the reply", async () => {
    const live = make();
    live.start();
    const socket = FakeSocket.instances[0]!;
    socket.open();
    const events: string[] = [];
    const sub = live.subscribe("builds/*/*", (key) => events.push(key));
    await sub.ready;
    expect(socket.sent[0]).toMatchObject({ cmd: "startConsuming", path: "builds/*/*" });
    expect(typeof socket.sent[0]?._id).toBe("number");
    socket.serverSend({ k: "builds/1/new", m: { buildid: 1 } });
    socket.serverSend({ k: "builds/1/steps/2/new", m: { stepid: 2 } });
    expect(events).toEqual(["builds/1/new"]);
  });

  it("shares one consumer per path and stops consuming after the last user", async () => {
    const live = make();
    live.start();
    const socket = FakeSocket.instances[0]!;
    socket.open();
    const a = live.subscribe("workers/*/*", () => undefined);
    const b = live.subscribe("workers/*/*", () => undefined);
    await Promise.all([a.ready, b.ready]);
    expect(socket.sent.filter((f) => f.cmd === "startConsuming")).toHaveLength(1);
    a.close();
    expect(socket.sent.filter((f) => f.cmd === "stopConsuming")).toHaveLength(0);
    b.close();
    expect(socket.sent.at(-1)).toMatchObject({ cmd: "stopConsuming", path: "workers/*/*" });
  });

  it("reconnects after a lost connection, consumes every path again, then resyncs", async () => {
    const live = make();
    const states: string[] = [];
    live.onState((s) => states.push(s));
    let resyncs = 0;
    live.onResync(() => (resyncs += 1));
    live.start();
    FakeSocket.instances[0]!.open();
    await live.subscribe("builds/*/*", () => undefined).ready;
    FakeSocket.instances[0]!.drop();
    expect(live.state).toBe("closed");
    expect(resyncs).toBe(0);
    timers.runAll();
    const second = FakeSocket.instances[1]!;
    second.open();
    await flush();
    expect(second.sent[0]).toMatchObject({ cmd: "startConsuming", path: "builds/*/*" });
    expect(resyncs).toBe(1);
    expect(states).toEqual(["connecting", "open", "closed", "connecting", "open"]);
  });

  it("does not hold up a subscription while the socket is down", async () => {
    const live = make();
    live.start();
    await expect(live.subscribe("builds/*/*", () => undefined).ready).resolves.toBeUndefined();
  });

  it("closes a socket that stops answering pings", () => {
    const live = new LiveConnection({
      url: "ws://x/ws",
      createSocket: (url) => new FakeSocket(url) as unknown as WebSocket,
      timers,
      backoff: () => 10,
      pingInterval: 1000,
    });
    live.start();
    const socket = FakeSocket.instances[0]!;
    socket.autoAck = false;
    socket.open();
    timers.runAll();
    expect(socket.sent.at(-1)).toMatchObject({ cmd: "ping" });
    timers.runAll();
    expect(live.state).toBe("closed");
  });
});

describe("LiveConnection.reconnectNow", () => {
  it("skips the backoff wait", () => {
    FakeSocket.instances = [];
    const timers = new ManualTimers();
    const live = new LiveConnection({
      url: "ws://x/ws",
      createSocket: (url) => new FakeSocket(url) as unknown as WebSocket,
      timers,
      backoff: () => 60_000,
    });
    live.start();
    FakeSocket.instances[0]!.open();
    FakeSocket.instances[0]!.drop();
    expect(FakeSocket.instances).toHaveLength(1);
    live.reconnectNow();
    expect(FakeSocket.instances).toHaveLength(2);
    expect(timers.pending.size).toBe(0);
    live.reconnectNow();
    expect(FakeSocket.instances).toHaveLength(2);
  });
});
