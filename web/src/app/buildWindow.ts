// A bounded, live window onto the newest builds of the whole master, for the waterfall: the
// first page is `builds?order=-buildid&limit=N&field=...` (never every build), older pages are
// fetched on demand with `buildid__lt=<oldest loaded>` (the view asks when it is scrolled to
// its end), and build events (`builds/*/*`) add new builds and update running ones. At most
// `maxBuilds` are kept (the oldest go first). A reconnect reloads the first page.
import type { Build } from "../api/generated";
import type { LiveConnection, Subscription } from "../api/live";
import type { Query, RestClient } from "../api/rest";
import { SUMMARY_FIELDS, type BuildSummary } from "./latestBuilds";

export type WindowBuild = BuildSummary & Pick<Build, "workerid">;
export const WINDOW_FIELDS = [...SUMMARY_FIELDS, "workerid"] as const;

export interface WindowState {
  builds: readonly WindowBuild[];
  loading: boolean;
  /** No older builds exist than the oldest loaded. */
  exhausted: boolean;
  error: string | null;
}

export class BuildWindow {
  private readonly byId = new Map<number, WindowBuild>();
  private readonly listeners = new Set<() => void>();
  private subscription: Subscription | null = null;
  private unResync: (() => void) | null = null;
  private generation = 0;
  private older: Promise<void> | null = null;
  private state: WindowState = { builds: [], loading: true, exhausted: false, error: null };

  constructor(
    private readonly rest: RestClient,
    private readonly live: LiveConnection | null,
    readonly pageSize = 200,
    readonly maxBuilds = 5000,
  ) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): WindowState => this.state;

  async start(): Promise<void> {
    if (this.subscription) return;
    if (this.live) {
      this.subscription = this.live.subscribe("builds/*/*", (_key, message) =>
        this.upsert(message as unknown as WindowBuild),
      );
      this.unResync = this.live.onResync(() => void this.reload());
      await Promise.race([
        this.subscription.ready,
        new Promise((resolve) => setTimeout(resolve, 3000)),
      ]);
    }
    await this.reload();
  }

  stop(): void {
    this.subscription?.close();
    this.subscription = null;
    this.unResync?.();
    this.unResync = null;
    this.generation += 1;
  }

  private query(extra: Query): Query {
    return { order: "-buildid", limit: this.pageSize, field: [...WINDOW_FIELDS], ...extra };
  }

  /** Reads the newest page again (keeps what was loaded before it). */
  async reload(): Promise<void> {
    const generation = ++this.generation;
    this.older = null;
    this.publish({ loading: true });
    try {
      const page = await this.rest.get<WindowBuild>("builds", this.query({}));
      if (generation !== this.generation) return;
      // Builds older than this page stay only if they join on (a reconnect keeps scrolling).
      const oldest = page.items.at(-1)?.buildid ?? 0;
      for (const [id] of this.byId) if (id >= oldest) this.byId.delete(id);
      for (const build of page.items) this.byId.set(build.buildid, build);
      this.publish({
        loading: false,
        error: null,
        exhausted: page.items.length < this.pageSize && this.byId.size === page.items.length,
      });
    } catch (error) {
      if (generation !== this.generation) return;
      this.publish({
        loading: false,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  /** Fetches the page before the oldest loaded build (one at a time). */
  loadOlder(): Promise<void> {
    if (this.older) return this.older;
    if (this.state.exhausted || this.state.loading) return Promise.resolve();
    const oldest = this.state.builds.at(-1)?.buildid;
    if (oldest === undefined) return Promise.resolve();
    const generation = this.generation;
    this.publish({ loading: true });
    this.older = this.rest
      .get<WindowBuild>("builds", this.query({ buildid__lt: oldest }))
      .then(
        (page) => {
          if (generation !== this.generation) return;
          for (const build of page.items) this.byId.set(build.buildid, build);
          this.publish({
            loading: false,
            error: null,
            exhausted: page.items.length < this.pageSize,
          });
        },
        (error: unknown) => {
          if (generation !== this.generation) return;
          this.publish({
            loading: false,
            error: error instanceof Error ? error.message : String(error),
          });
        },
      )
      .finally(() => {
        if (generation === this.generation) this.older = null;
      });
    return this.older;
  }

  upsert(build: WindowBuild): void {
    if (typeof build.buildid !== "number") return;
    const old = this.byId.get(build.buildid);
    if (!old) {
      if (typeof build.builderid !== "number") return;
      // Only builds newer than the oldest loaded one join (older ones come with their page).
      const oldest = this.state.builds.at(-1)?.buildid;
      if (oldest !== undefined && build.buildid < oldest) return;
    }
    this.byId.set(build.buildid, old ? { ...old, ...build } : build);
    this.publish({});
  }

  private publish(change: Partial<Omit<WindowState, "builds">>): void {
    let builds = [...this.byId.values()].sort((a, b) => b.buildid - a.buildid);
    if (builds.length > this.maxBuilds) {
      for (const dropped of builds.slice(this.maxBuilds)) this.byId.delete(dropped.buildid);
      builds = builds.slice(0, this.maxBuilds);
      change = { ...change, exhausted: true };
    }
    this.state = { ...this.state, ...change, builds };
    for (const listener of [...this.listeners]) listener();
  }
}
