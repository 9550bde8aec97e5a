// All builders: a virtualised list filtered by name and tags (kept in the URL), each with its
// last results. The builder list is one request; recent results come from LatestBuilds.
import { useCallback, useEffect, useMemo, useRef, useSyncExternalStore } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import type { Builder } from "../api/generated";
import {
  Ago,
  Empty,
  ErrorText,
  Loading,
  PageTitle,
  ResultDot,
  Tags,
  buildPath,
} from "../components/common";
import { VirtualList } from "../components/VirtualList";
import { allBuilders } from "../app/queries";
import { useLive, useServices } from "../app/services";

const ROW_HEIGHT = 52;

export function filterBuilders(
  builders: readonly Builder[],
  name: string,
  tags: readonly string[],
): Builder[] {
  const needle = name.trim().toLowerCase();
  return builders.filter(
    (b) =>
      (needle === "" ||
        b.name.toLowerCase().includes(needle) ||
        (b.description ?? "").toLowerCase().includes(needle)) &&
      tags.every((t) => b.tags.includes(t)),
  );
}

export function Builders() {
  const { latest } = useServices();
  const builders = useLive(allBuilders);
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const name = params.get("name") ?? "";
  const tags = params.getAll("tag");
  useSyncExternalStore(latest.subscribe, latest.getVersion);
  const input = useRef<HTMLInputElement>(null);
  // "/" jumps to the filter (unless the user is typing somewhere).
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      if (event.key !== "/" || target?.closest("input, textarea, select")) return;
      event.preventDefault();
      input.current?.focus();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  const shown = useMemo(
    () => filterBuilders(builders.items, name, tags),
    [builders.items, name, tags],
  );
  const allTags = useMemo(() => {
    const counts = new Map<string, number>();
    for (const b of builders.items) for (const t of b.tags) counts.set(t, (counts.get(t) ?? 0) + 1);
    return [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 30);
  }, [builders.items]);

  const update = (next: { name?: string; tags?: string[] }) => {
    const p = new URLSearchParams();
    const n = next.name ?? name;
    if (n) p.set("name", n);
    for (const t of next.tags ?? tags) p.append("tag", t);
    setParams(p, { replace: true });
  };
  const toggleTag = (tag: string) =>
    update({ tags: tags.includes(tag) ? tags.filter((t) => t !== tag) : [...tags, tag] });

  const onRange = useCallback(
    (first: number, last: number) => latest.want(shown.slice(first, last).map((b) => b.builderid)),
    [latest, shown],
  );

  return (
    <section>
      <PageTitle>Builders</PageTitle>
      <div className="filters" role="search">
        <label>
          <span className="label">Name</span>
          <input
            ref={input}
            type="search"
            value={name}
            placeholder="Filter by name (press /)"
            onChange={(e) => update({ name: e.target.value })}
            aria-label="Filter builders by name"
          />
        </label>
        {allTags.length > 0 ? (
          <div className="tag-filter" aria-label="Filter by tag">
            {allTags.map(([tag, count]) => (
              <button
                type="button"
                key={tag}
                className={`tag${tags.includes(tag) ? " selected" : ""}`}
                aria-pressed={tags.includes(tag)}
                onClick={() => toggleTag(tag)}
              >
                {tag} <span className="count">{count}</span>
              </button>
            ))}
          </div>
        ) : null}
        <span className="muted count-line">
          {shown.length} of {builders.items.length} builders
        </span>
      </div>
      <ErrorText error={builders.error} />
      {builders.loading && builders.items.length === 0 ? (
        <Loading what="builders" />
      ) : shown.length === 0 ? (
        <Empty>No builder matches.</Empty>
      ) : (
        <VirtualList
          label="Builders"
          className="builders-list"
          count={shown.length}
          rowHeight={ROW_HEIGHT}
          height="calc(100vh - 15rem)"
          onRange={onRange}
          onActivate={(i) => {
            const b = shown[i];
            if (b) void navigate(`/builders/${b.builderid}`);
          }}
          renderRow={(i) => {
            const b = shown[i] as Builder;
            const recent = latest.get(b.builderid);
            return (
              <div className="builder-row">
                <div className="builder-name">
                  <Link to={`/builders/${b.builderid}`} tabIndex={-1}>
                    {b.name}
                  </Link>
                  {b.description ? (
                    <span className="muted description">{b.description}</span>
                  ) : null}
                </div>
                <Tags tags={b.tags} onPick={toggleTag} />
                <div className="recent" aria-label={`Last builds of ${b.name}`}>
                  {recent.map((build) => (
                    <ResultDot
                      key={build.buildid}
                      results={build.results}
                      complete={build.complete}
                      to={buildPath(build.builderid, build.number)}
                      label={`${b.name} #${build.number}`}
                    />
                  ))}
                  {recent.length === 0 && latest.isKnown(b.builderid) ? (
                    <span className="muted">no builds</span>
                  ) : null}
                </div>
                <div className="last-time muted">
                  {recent[0] ? <Ago epoch={recent[0].complete_at ?? recent[0].started_at} /> : null}
                </div>
              </div>
            );
          }}
        />
      )}
    </section>
  );
}
