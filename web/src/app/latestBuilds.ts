// The last few builds of every builder, for the builders list, without one request per
// builder: one request for the newest builds overall (`builds?order=-buildid&limit=N&field=...`)
// covers the busy builders; a builder shown on screen that it does not cover gets its own
// small request (`builders/N/builds?order=-number&limit=K`), a few at a time. Build events
// (`builds/*/*`) keep it current.
import type { Build } from "../api/generated";
import type { LiveConnection, Subscription } from "../api/live";
import type { RestClient } from "../api/rest";

export type BuildSummary = Pick<
  Build,
  | "buildid"
  | "number"
  | "builderid"
  | "results"
  | "complete"
  | "started_at"
  | "complete_at"
  | "state_string"
>;

export const SUMMARY_FIELDS = [
  "buildid",
  "number",
  "builderid",
  "results",
  "complete",
  "started_at",
  "complete_at",
  "state_string",
] as const;

export class LatestBuilds {
  private readonly byBuilder = new Map<number, BuildSummary[]>();
  /** Builders whose newest `perBuilder` builds are known (or that have fewer). */
  private readonly covered = new Set<number>();
  private readonly requested = new Set<number>();
  private queue: number[] = [];
  private inflight = 0;
  private allCovered = false;
  private readonly listeners = new Set<() => void>();
  private version = 0;
  private subscription: Subscription | null = null;
  private generation = 0;
  private shown: readonly number[] = [];

  constructor(
    private readonly rest: RestClient,
    private readonly live: LiveConnection | null,
    readonly perBuilder = 5,
    private readonly bulkLimit = 1000,
    private readonly concurrency = 4,
  ) {}

  async start(): Promise<void> {
    if (this.subscription || !this.live) {
      if (!this.live && this.generation === 0) await this.reload();
      return;
    }
    this.subscription = this.live.subscribe("builds/*/*", (_key, message) =>
      this.upsert(message as unknown as BuildSummary),
    );
    this.live.onResync(() => void this.reload());
    await this.subscription.ready;
    await this.reload();
  }

  /** Forgets what per-builder requests found and reads the newest builds again. */
  async reload(): Promise<void> {
    const generation = ++this.generation;
    this.requested.clear();
    this.queue = [];
    const page = await this.rest.get<BuildSummary>("builds", {
      order: "-buildid",
      limit: this.bulkLimit,
      field: [...SUMMARY_FIELDS],
    });
    if (generation !== this.generation) return;
    this.byBuilder.clear();
    this.covered.clear();
    for (const build of page.items) this.add(build);
    this.allCovered = page.items.length < this.bulkLimit;
    for (const [builderid, builds] of this.byBuilder)
      if (builds.length >= this.perBuilder) this.covered.add(builderid);
    this.changed();
    this.want(this.shown);
  }

  /** The builders now on screen: fetches the history of those the bulk request missed. */
  want(builderids: readonly number[]): void {
    this.shown = builderids;
    if (this.allCovered || this.generation === 0) return;
    for (const id of builderids) {
      if (this.covered.has(id) || this.requested.has(id)) continue;
      this.requested.add(id);
      this.queue.push(id);
    }
    this.pump();
  }

  private pump(): void {
    while (this.inflight < this.concurrency && this.queue.length > 0) {
      const builderid = this.queue.shift() as number;
      const generation = this.generation;
      this.inflight += 1;
      this.rest
        .get<BuildSummary>(`builders/${builderid}/builds`, {
          order: "-number",
          limit: this.perBuilder,
          field: [...SUMMARY_FIELDS],
        })
        .then(
          (page) => {
            if (generation !== this.generation) return;
            for (const build of page.items) this.add(build);
            this.covered.add(builderid);
            this.changed();
          },
          () => this.requested.delete(builderid),
        )
        .finally(() => {
          this.inflight -= 1;
          this.pump();
        });
    }
  }

  private add(build: BuildSummary): void {
    const list = this.byBuilder.get(build.builderid) ?? [];
    const at = list.findIndex((b) => b.buildid === build.buildid);
    if (at >= 0) list[at] = { ...list[at], ...build } as BuildSummary;
    else list.push(build);
    list.sort((a, b) => b.buildid - a.buildid);
    if (list.length > this.perBuilder) list.length = this.perBuilder;
    this.byBuilder.set(build.builderid, list);
  }

  upsert(build: BuildSummary): void {
    if (typeof build.buildid !== "number" || typeof build.builderid !== "number") return;
    this.add(build);
    this.changed();
  }

  /** Newest first. */
  get(builderid: number): readonly BuildSummary[] {
    return this.byBuilder.get(builderid) ?? [];
  }

  isKnown(builderid: number): boolean {
    return this.allCovered || this.covered.has(builderid);
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getVersion = (): number => this.version;

  private changed(): void {
    this.version += 1;
    for (const listener of [...this.listeners]) listener();
  }
}
