// Test twins of the two I/O seams: fetch (the REST API) and WebSocket (/ws).
import type { FetchLike } from "../api/rest";

export interface FakeRoute {
  status?: number;
  body: unknown;
}

/** A fetch that answers from a table keyed by URL (path + query), recording every call. */
export function fakeFetch(
  routes: Record<string, FakeRoute | ((url: string, init?: RequestInit) => FakeRoute)>,
) {
  const calls: { url: string; init?: RequestInit }[] = [];
  const impl: FetchLike = async (url, init) => {
    calls.push({ url, init });
    const route = routes[url] ?? routes[url.split("?")[0] as string];
    if (!route)
      return new Response(JSON.stringify({ error: `Invalid path: ${url}` }), { status: 404 });
    const answer = typeof route === "function" ? route(url, init) : route;
    return new Response(JSON.stringify(answer.body), { status: answer.status ?? 200 });
  };
  return { impl, calls };
}

/** A WebSocket the test drives: `open()`, `serverSend()`, `drop()`; `sent` holds client frames. */
export class FakeSocket {
  static instances: FakeSocket[] = [];
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  /** Acknowledge subscriptions automatically when true. */
  autoAck = true;

  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }

  send(text: string): void {
    const frame = JSON.parse(text) as Record<string, unknown>;
    this.sent.push(frame);
    if (this.autoAck)
      queueMicrotask(() => this.serverSend({ msg: "OK", code: 200, _id: frame._id }));
  }

  close(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.();
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.();
  }

  serverSend(frame: unknown): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  drop(): void {
    this.close();
  }
}

/** Timers the test runs by hand. */
export class ManualTimers {
  private nextHandle = 1;
  pending = new Map<number, { callback: () => void; ms: number }>();
  setTimeout = (callback: () => void, ms: number): unknown => {
    const handle = this.nextHandle++;
    this.pending.set(handle, { callback, ms });
    return handle;
  };
  clearTimeout = (handle: unknown): void => {
    this.pending.delete(handle as number);
  };
  runAll(): void {
    const due = [...this.pending.entries()];
    this.pending.clear();
    for (const [, timer] of due) timer.callback();
  }
}

export const flush = () => new Promise((resolve) => setTimeout(resolve, 0));
