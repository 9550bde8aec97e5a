// The one WebSocket to /ws (Buildbot's protocol): startConsuming/stopConsuming with `_id`s,
// events `{"k": routing key, "m": payload}` dispatched to the subscriptions whose path
// matches, reconnection with backoff, and a "resync" signal once a new socket has every
// subscription again (the data layer then refetches what it shows).
import type { JsonObject } from "./generated";

export type EventHandler = (key: string, message: JsonObject) => void;
export type ConnectionState = "connecting" | "open" | "closed";

/** `builds/*\/*` matches `builds/5/new`: same number of segments, `*` matches any one. */
export function matchesPath(pattern: string, key: string): boolean {
  const want = pattern.split("/");
  const got = key.split("/");
  if (want.length !== got.length) return false;
  return want.every((segment, i) => segment === "*" || segment === got[i]);
}

/**
 * The event path of a REST path, as Buildbot's UI derives it: a collection (odd number of
 * segments) gets `/*\/*`, an entity `/*`, and a path ending in `properties` gets `/*`.
 */
export function eventPathFor(restPath: string): string {
  const segments = restPath.split("/").filter((s) => s.length > 0);
  if (segments[segments.length - 1] === "properties") return `${segments.join("/")}/*`;
  return segments.length % 2 === 1 ? `${segments.join("/")}/*/*` : `${segments.join("/")}/*`;
}

export interface Subscription {
  /** Resolves when the server acknowledged the subscription (or when the socket is down). */
  ready: Promise<void>;
  close(): void;
}

interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface LiveOptions {
  url: string;
  createSocket?: (url: string) => WebSocket;
  timers?: Timers;
  /** Delay before reconnect attempt `n` (0-based), in ms. */
  backoff?: (attempt: number) => number;
  /** Ping interval in ms (0: none); a missing pong within the interval closes the socket. */
  pingInterval?: number;
}

export function defaultBackoff(attempt: number): number {
  return Math.min(30_000, 500 * 2 ** attempt) * (0.8 + Math.random() * 0.4);
}

const OPEN = 1;

export class LiveConnection {
  private socket: WebSocket | null = null;
  private readonly handlers = new Map<string, Set<EventHandler>>();
  private readonly waiting = new Map<number, () => void>();
  private readonly readyWaiters = new Map<string, (() => void)[]>();
  private readonly acknowledged = new Set<string>();
  private readonly stateListeners = new Set<(state: ConnectionState) => void>();
  private readonly resyncListeners = new Set<() => void>();
  private nextId = 1;
  private attempt = 0;
  private everOpened = false;
  private stopped = true;
  private reconnectTimer: unknown = null;
  private pingTimer: unknown = null;
  private awaitingPong = false;
  private currentState: ConnectionState = "closed";
  private readonly timers: Timers;
  private readonly createSocket: (url: string) => WebSocket;
  private readonly backoff: (attempt: number) => number;

  constructor(private readonly options: LiveOptions) {
    this.timers = options.timers ?? {
      setTimeout: (callback, ms) => window.setTimeout(callback, ms),
      clearTimeout: (handle) => window.clearTimeout(handle as number),
    };
    this.createSocket = options.createSocket ?? ((url) => new WebSocket(url));
    this.backoff = options.backoff ?? defaultBackoff;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** Was the socket open at least once (so a closed state is a lost connection)? */
  get hasOpened(): boolean {
    return this.everOpened;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.timers.clearTimeout(this.reconnectTimer);
    this.timers.clearTimeout(this.pingTimer);
    const socket = this.socket;
    this.socket = null;
    socket?.close();
    this.setState("closed");
  }

  /** Tries at once instead of waiting for the next attempt (a user's "Reconnect now"). */
  reconnectNow(): void {
    if (this.stopped || this.socket) return;
    this.timers.clearTimeout(this.reconnectTimer);
    this.attempt = 0;
    this.connect();
  }

  onState(listener: (state: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Called after a reconnect, once every subscription is consumed again. */
  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  subscribe(path: string, handler: EventHandler): Subscription {
    let set = this.handlers.get(path);
    const isNew = !set;
    if (!set) {
      set = new Set();
      this.handlers.set(path, set);
    }
    set.add(handler);
    let ready: Promise<void>;
    if (this.acknowledged.has(path) || this.socket?.readyState !== OPEN) {
      // Already consumed, or the socket is down: the REST fetch need not wait (a resync
      // follows the reconnect).
      ready = Promise.resolve();
      if (isNew && this.socket?.readyState === OPEN) this.send("startConsuming", path);
    } else {
      ready = new Promise((resolve) => {
        const list = this.readyWaiters.get(path) ?? [];
        list.push(resolve);
        this.readyWaiters.set(path, list);
      });
      if (isNew) this.send("startConsuming", path);
    }
    let closed = false;
    return {
      ready,
      close: () => {
        if (closed) return;
        closed = true;
        const current = this.handlers.get(path);
        if (!current) return;
        current.delete(handler);
        if (current.size === 0) {
          this.handlers.delete(path);
          if (this.acknowledged.delete(path) && this.socket?.readyState === OPEN) {
            this.send("stopConsuming", path);
          }
        }
      },
    };
  }

  private send(cmd: string, path?: string): void {
    const id = this.nextId++;
    const frame: Record<string, unknown> = { cmd, _id: id };
    if (path !== undefined) frame.path = path;
    if (path !== undefined && cmd === "startConsuming") {
      this.waiting.set(id, () => {
        this.acknowledged.add(path);
        for (const resolve of this.readyWaiters.get(path) ?? []) resolve();
        this.readyWaiters.delete(path);
      });
    }
    this.socket?.send(JSON.stringify(frame));
  }

  private connect(): void {
    this.setState("connecting");
    let socket: WebSocket;
    try {
      socket = this.createSocket(this.options.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => this.opened(socket);
    socket.onmessage = (event: MessageEvent) => this.received(String(event.data));
    socket.onclose = () => this.closed(socket);
    socket.onerror = () => socket.close();
  }

  private opened(socket: WebSocket): void {
    if (socket !== this.socket) return;
    const isReconnect = this.everOpened;
    this.everOpened = true;
    this.attempt = 0;
    this.acknowledged.clear();
    this.awaitingPong = false;
    this.setState("open");
    const paths = [...this.handlers.keys()];
    let pending = paths.length;
    const done = () => {
      if (isReconnect) for (const listener of [...this.resyncListeners]) listener();
    };
    if (pending === 0) done();
    for (const path of paths) {
      const list = this.readyWaiters.get(path) ?? [];
      list.push(() => {
        pending -= 1;
        if (pending === 0) done();
      });
      this.readyWaiters.set(path, list);
      this.send("startConsuming", path);
    }
    this.schedulePing();
  }

  private received(text: string): void {
    let frame: { _id?: unknown; code?: unknown; msg?: unknown; k?: unknown; m?: unknown };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      return;
    }
    if (typeof frame.k === "string" && typeof frame.m === "object" && frame.m !== null) {
      const key = frame.k;
      for (const [path, set] of [...this.handlers]) {
        if (!matchesPath(path, key)) continue;
        for (const handler of [...set]) handler(key, frame.m as JsonObject);
      }
      return;
    }
    if (frame.msg === "pong") {
      this.awaitingPong = false;
      return;
    }
    if (typeof frame._id === "number") {
      const resolve = this.waiting.get(frame._id);
      this.waiting.delete(frame._id);
      // An error reply (e.g. a path the server refuses) still releases the waiter.
      resolve?.();
    }
  }

  private closed(socket: WebSocket): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.timers.clearTimeout(this.pingTimer);
    this.acknowledged.clear();
    this.waiting.clear();
    // Whoever waits for a subscription may go on: the resync refetches after reconnecting.
    for (const [path, list] of [...this.readyWaiters]) {
      if (this.handlers.has(path)) for (const resolve of list) resolve();
    }
    this.readyWaiters.clear();
    if (this.stopped) return;
    this.setState("closed");
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const delay = this.backoff(this.attempt);
    this.attempt += 1;
    this.reconnectTimer = this.timers.setTimeout(() => {
      if (!this.stopped) this.connect();
    }, delay);
  }

  private schedulePing(): void {
    const interval = this.options.pingInterval ?? 0;
    if (interval <= 0) return;
    this.pingTimer = this.timers.setTimeout(() => {
      const socket = this.socket;
      if (!socket || socket.readyState !== OPEN) return;
      if (this.awaitingPong) {
        socket.close();
        return;
      }
      this.awaitingPong = true;
      this.send("ping");
      this.schedulePing();
    }, interval);
  }

  private setState(state: ConnectionState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    for (const listener of [...this.stateListeners]) listener(state);
  }
}

/** ws[s]://<host>/ws for the page's own origin. */
export function defaultLiveUrl(location: Location = window.location): string {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`;
}
