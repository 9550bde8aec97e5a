// The lines of one log, read by line range (`logs/N/contents?offset=A&limit=B`) in pages and
// kept in a bounded cache: a 1 GB log is never loaded whole. While the log grows
// (`num_lines` from its live entity), the last page is completed with just the new lines.

export type ReadLines = (offset: number, limit: number) => Promise<string[]>;

interface Page {
  lines: string[];
  loading: boolean;
  used: number;
}

export interface LogLinesOptions {
  pageSize?: number;
  maxPages?: number;
}

/** Splits a logchunk's content (`"a\nb\n"`) into lines. */
export function splitContent(content: string): string[] {
  if (content === "") return [];
  const lines = content.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

export class LogLines {
  readonly pageSize: number;
  private readonly maxPages: number;
  private readonly pages = new Map<number, Page>();
  private readonly listeners = new Set<() => void>();
  private wanted: [number, number] = [0, 0];
  private clock = 0;
  private version = 0;
  private count = 0;
  error: string | null = null;

  constructor(
    private readonly read: ReadLines,
    options: LogLinesOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 500;
    this.maxPages = Math.max(4, options.maxPages ?? 200);
  }

  get numLines(): number {
    return this.count;
  }

  /** The log has `n` lines now: completes partial pages in the wanted range. */
  setNumLines(n: number): void {
    if (n === this.count) return;
    this.count = n;
    this.changed();
    this.ensure(this.wanted[0], this.wanted[1]);
  }

  /** Line `i` (0-based), or undefined while it is not loaded. */
  line(i: number): string | undefined {
    const page = this.pages.get(Math.floor(i / this.pageSize));
    return page?.lines[i % this.pageSize];
  }

  /** Loads the pages covering lines [first, last). */
  ensure(first: number, last: number): void {
    this.wanted = [first, last];
    const end = Math.min(last, this.count);
    if (end <= first) return;
    const firstPage = Math.floor(first / this.pageSize);
    const lastPage = Math.floor((end - 1) / this.pageSize);
    for (let p = firstPage; p <= lastPage; p++) this.loadPage(p);
    this.evict(firstPage, lastPage);
  }

  private loadPage(index: number): void {
    let page = this.pages.get(index);
    const start = index * this.pageSize;
    const want = Math.min(this.pageSize, this.count - start);
    if (page) page.used = ++this.clock;
    if (page && (page.loading || page.lines.length >= want)) return;
    if (!page) {
      page = { lines: [], loading: false, used: ++this.clock };
      this.pages.set(index, page);
    }
    const target = page;
    const offset = start + target.lines.length;
    const limit = want - target.lines.length;
    target.loading = true;
    this.read(offset, limit).then(
      (lines) => {
        target.loading = false;
        if (this.pages.get(index) !== target) return;
        // Only append what continues the page (a stale answer must not duplicate lines).
        if (start + target.lines.length === offset) target.lines.push(...lines);
        this.error = null;
        this.changed();
        const stillWanted = target.lines.length < Math.min(this.pageSize, this.count - start);
        if (stillWanted && lines.length > 0) this.ensure(this.wanted[0], this.wanted[1]);
      },
      (error: unknown) => {
        target.loading = false;
        this.error = error instanceof Error ? error.message : String(error);
        this.changed();
      },
    );
  }

  private evict(keepFirst: number, keepLast: number): void {
    if (this.pages.size <= this.maxPages) return;
    const candidates = [...this.pages.entries()]
      .filter(([index, page]) => (index < keepFirst || index > keepLast) && !page.loading)
      .sort((a, b) => a[1].used - b[1].used);
    for (const [index] of candidates) {
      if (this.pages.size <= this.maxPages) break;
      this.pages.delete(index);
    }
  }

  /** Indexes of loaded lines for which `test` holds, ascending (at most `max`). */
  search(test: (line: string) => boolean, max = 10_000): number[] {
    const found: number[] = [];
    for (const [index, page] of [...this.pages.entries()].sort((a, b) => a[0] - b[0])) {
      for (let i = 0; i < page.lines.length; i++) {
        if (test(page.lines[i] as string)) {
          found.push(index * this.pageSize + i);
          if (found.length >= max) return found;
        }
      }
    }
    return found;
  }

  /** How many lines are in memory. */
  get loadedLines(): number {
    let n = 0;
    for (const page of this.pages.values()) n += page.lines.length;
    return n;
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
