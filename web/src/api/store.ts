// Live collections: a REST query kept current by /ws events. Each query subscribes to its
// event paths *before* fetching; events that arrive while the fetch is under way are kept
// and win over the fetched data (Buildbot's rule: an event is newer than any REST answer).
// Items are upserted by their id field (events may be partial: they are merged). After a
// reconnect every live query refetches.
import type { JsonObject } from "./generated";
import { eventPathFor, type LiveConnection, type Subscription } from "./live";
import type { Query, RestClient } from "./rest";

export interface QuerySpec<T> {
  /** REST path under /api/v2, e.g. `builders/3/builds`. */
  path: string;
  query?: Query;
  /** The field that identifies an item (`buildid`); absent: one merged object (properties). */
  id?: keyof T & string;
  /** Event paths to consume (default: derived from `path`); [] for none. */
  events?: string[];
  /** Which items belong to the query (for items that events bring or change). */
  accept?: (item: T) => boolean;
  /** Order of the items (should match the REST `order`). */
  compare?: (a: T, b: T) => number;
  /** Keep at most this many items after sorting (a first page). */
  limit?: number;
  /** May events add items the fetch did not return? (false for pages past the first) */
  acceptNew?: boolean;
  /** Distinguishes queries whose predicates differ although path and query are the same. */
  key?: string;
  /**
   * Read the whole collection in pages of this size (the master answers at most 1000 items a
   * request): the pages after the first are fetched together once `meta.total` tells how many.
   */
  pageAll?: number;
}

export interface LiveState<T> {
  items: readonly T[];
  loading: boolean;
  error: string | null;
  /** `meta.total` of the last fetch. */
  total: number | null;
}

const EMPTY: LiveState<never> = { items: [], loading: true, error: null, total: null };

export function keyOf<T>(spec: QuerySpec<T>): string {
  return JSON.stringify([
    spec.path,
    spec.query ?? {},
    spec.events ?? null,
    spec.limit ?? null,
    spec.key ?? null,
  ]);
}

/** Upsert: an event's fields replace the stored ones, others are kept. */
function merge<T>(old: T | undefined, update: T): T {
  return old === undefined ? update : { ...old, ...update };
}

export class LiveQuery<T> {
  private readonly byId = new Map<unknown, T>();
  private merged: T | null = null;
  private seenDuringFetch = new Map<unknown, T>();
  private mergedDuringFetch: Partial<T> | null = null;
  private fetching = false;
  private fetchSerial = 0;
  private subscriptions: Subscription[] = [];
  private readonly listeners = new Set<() => void>();
  private snapshot: LiveState<T> = EMPTY;
  private started = false;

  constructor(
    readonly spec: QuerySpec<T>,
    private readonly rest: RestClient,
    private readonly live: LiveConnection | null,
  ) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): LiveState<T> => this.snapshot;

  get isStarted(): boolean {
    return this.started;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const paths = this.spec.events ?? [eventPathFor(this.spec.path)];
    const live = this.live;
    if (live) {
      this.subscriptions = paths.map((path) =>
        live.subscribe(path, (_key, message) => this.onEvent(message as unknown as T)),
      );
      // Wait for the acknowledgements, but not forever: a slow socket must not stall the page.
      await Promise.race([
        Promise.all(this.subscriptions.map((s) => s.ready)),
        new Promise((resolve) => setTimeout(resolve, 3000)),
      ]);
    }
    if (this.started) await this.refresh();
  }

  stop(): void {
    this.started = false;
    for (const subscription of this.subscriptions) subscription.close();
    this.subscriptions = [];
  }

  /** Fetches again (after a reconnect, or when asked); events during the fetch win. */
  async refresh(): Promise<void> {
    const serial = ++this.fetchSerial;
    this.fetching = true;
    this.seenDuringFetch = new Map();
    this.mergedDuringFetch = null;
    this.publish({ ...this.snapshot, loading: true });
    try {
      const page = await this.fetchAll();
      if (serial !== this.fetchSerial) return;
      this.applyFetched(page.items);
      this.fetching = false;
      this.publish({
        items: this.sorted(),
        loading: false,
        error: null,
        total: page.meta.total ?? null,
      });
    } catch (error) {
      if (serial !== this.fetchSerial) return;
      this.fetching = false;
      const message = error instanceof Error ? error.message : String(error);
      this.publish({ ...this.snapshot, loading: false, error: message });
    }
  }

  private async fetchAll(): Promise<{ items: T[]; meta: { total?: number } }> {
    const size = this.spec.pageAll;
    if (!size) return this.rest.get<T>(this.spec.path, this.spec.query);
    const get = (offset: number) =>
      this.rest.get<T>(this.spec.path, { ...this.spec.query, limit: size, offset });
    // The second page is asked for with the first (one round trip less for 1,001-2,000 items;
    // at most one empty answer wasted).
    const [first, second] = await Promise.all([get(0), get(size)]);
    const items = [...first.items];
    if (first.items.length < size) return { items, meta: { total: items.length } };
    items.push(...second.items);
    if (second.items.length < size) return { items, meta: { total: items.length } };
    const total = first.meta.total;
    if (total !== undefined) {
      // Paged in memory on the server: meta.total is the real count; fetch the rest at once.
      const offsets: number[] = [];
      for (let offset = 2 * size; offset < total; offset += size) offsets.push(offset);
      const pages = await Promise.all(offsets.map(get));
      for (const page of pages) items.push(...page.items);
      return { items, meta: { total: items.length } };
    }
    // No count: one page after the other until a short one.
    for (let offset = 2 * size; ; offset += size) {
      const page = await get(offset);
      items.push(...page.items);
      if (page.items.length < size) break;
    }
    return { items, meta: { total: items.length } };
  }

  private applyFetched(items: T[]): void {
    const id = this.spec.id;
    if (!id) {
      const fetched = (items[0] ?? {}) as T;
      this.merged = { ...fetched, ...(this.mergedDuringFetch ?? {}) } as T;
      return;
    }
    this.byId.clear();
    for (const item of items) {
      const key = item[id];
      const event = this.seenDuringFetch.get(key);
      this.byId.set(key, event ? merge(item, event) : item);
    }
    // Items that events brought during the fetch and the answer lacks (created meanwhile).
    for (const [key, event] of this.seenDuringFetch) {
      if (!this.byId.has(key) && this.accepts(event)) this.byId.set(key, event);
    }
  }

  private accepts(item: T): boolean {
    return this.spec.accept ? this.spec.accept(item) : true;
  }

  onEvent(message: T): void {
    const id = this.spec.id;
    if (!id) {
      if (this.fetching) this.mergedDuringFetch = { ...(this.mergedDuringFetch ?? {}), ...message };
      this.merged = { ...(this.merged ?? ({} as T)), ...message };
      if (!this.fetching) this.publish({ ...this.snapshot, items: [this.merged] });
      return;
    }
    const key = message[id];
    if (key === undefined) return;
    if (this.fetching) this.seenDuringFetch.set(key, merge(this.seenDuringFetch.get(key), message));
    const old = this.byId.get(key);
    const next = merge(old, message);
    if (old === undefined) {
      if (this.spec.acceptNew === false || !this.accepts(next)) return;
      this.byId.set(key, next);
    } else if (!this.accepts(next)) {
      this.byId.delete(key);
    } else {
      this.byId.set(key, next);
    }
    if (!this.fetching) this.publish({ ...this.snapshot, items: this.sorted() });
  }

  private sorted(): T[] {
    if (!this.spec.id) return this.merged ? [this.merged] : [];
    let items = [...this.byId.values()];
    if (this.spec.compare) items.sort(this.spec.compare);
    if (this.spec.limit !== undefined && items.length > this.spec.limit) {
      const id = this.spec.id;
      for (const dropped of items.slice(this.spec.limit)) this.byId.delete(dropped[id]);
      items = items.slice(0, this.spec.limit);
    }
    return items;
  }

  private publish(state: LiveState<T>): void {
    this.snapshot = state;
    for (const listener of [...this.listeners]) listener();
  }
}

/** Shares live queries between components (by key); stops them a while after their last user. */
export class Store {
  private readonly queries = new Map<
    string,
    { query: LiveQuery<unknown>; users: number; timer: unknown }
  >();

  constructor(
    readonly rest: RestClient,
    readonly live: LiveConnection | null,
    private readonly lingerMs = 15_000,
  ) {
    live?.onResync(() => {
      // Lingering queries too: they are still subscribed, and a user may come back to them.
      for (const entry of this.queries.values())
        if (entry.query.isStarted) void entry.query.refresh();
    });
  }

  /** The query for a spec (created on first use; not started until retained). */
  get<T>(spec: QuerySpec<T>): LiveQuery<T> {
    const key = keyOf(spec);
    let entry = this.queries.get(key);
    if (!entry) {
      entry = {
        query: new LiveQuery<T>(spec, this.rest, this.live) as LiveQuery<unknown>,
        users: 0,
        timer: null,
      };
      this.queries.set(key, entry);
      this.scheduleDrop(key);
    }
    return entry.query as LiveQuery<T>;
  }

  /** Starts the query of `spec` and keeps it live until the returned function is called. */
  retain<T>(spec: QuerySpec<T>): () => void {
    const key = keyOf(spec);
    const query = this.get(spec);
    const entry = this.queries.get(key);
    if (!entry) throw new Error("the query was dropped while being retained");
    entry.users += 1;
    clearTimeout(entry.timer as number);
    void query.start();
    return () => {
      entry.users -= 1;
      if (entry.users === 0) this.scheduleDrop(key);
    };
  }

  /** Refetches every query whose path starts with `prefix` (after a control call). */
  refresh(prefix: string): void {
    for (const entry of this.queries.values()) {
      if (entry.users > 0 && entry.query.spec.path.startsWith(prefix)) void entry.query.refresh();
    }
  }

  private scheduleDrop(key: string): void {
    const entry = this.queries.get(key);
    if (!entry) return;
    clearTimeout(entry.timer as number);
    entry.timer = setTimeout(() => {
      if (entry.users > 0) return;
      entry.query.stop();
      this.queries.delete(key);
    }, this.lingerMs);
  }

  /** For tests: how many queries exist. */
  get size(): number {
    return this.queries.size;
  }
}

export type { JsonObject };
