// The builder filter the waterfall, the console and the grid share: a name and tags, kept in
// the URL (`?name=..&tag=..`), applied in the browser to the builders that have builds shown.
import { useMemo } from "react";
import { useSearchParams } from "react-router";
import type { Builder } from "../api/generated";

export interface BuilderFilterState {
  name: string;
  tags: string[];
  matches: (b: Builder | undefined) => boolean;
  set: (next: { name?: string; tags?: string[] }) => void;
}

export function useBuilderFilter(): BuilderFilterState {
  const [params, setParams] = useSearchParams();
  const name = params.get("name") ?? "";
  const tagsKey = params.getAll("tag").join("\u0000");
  return useMemo(() => {
    const tags = tagsKey === "" ? [] : tagsKey.split("\u0000");
    const needle = name.trim().toLowerCase();
    return {
      name,
      tags,
      matches: (b: Builder | undefined) =>
        b !== undefined &&
        (needle === "" || b.name.toLowerCase().includes(needle)) &&
        tags.every((t) => b.tags.includes(t)),
      set: (next: { name?: string; tags?: string[] }) => {
        const p = new URLSearchParams(params);
        p.delete("name");
        p.delete("tag");
        const n = next.name ?? name;
        if (n) p.set("name", n);
        for (const t of next.tags ?? tags) p.append("tag", t);
        setParams(p, { replace: true });
      },
    };
  }, [name, tagsKey, params, setParams]);
}

/** Name input and the tags of the given builders (most used first). */
export function BuilderFilter({
  filter,
  builders,
  shown,
  total,
  noun = "builders",
}: {
  filter: BuilderFilterState;
  builders: readonly Builder[];
  shown: number;
  total: number;
  noun?: string;
}) {
  const allTags = useMemo(() => {
    const counts = new Map<string, number>();
    for (const b of builders) for (const t of b.tags) counts.set(t, (counts.get(t) ?? 0) + 1);
    return [...counts.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 20)
      .map(([tag]) => tag);
  }, [builders]);
  const toggle = (tag: string) =>
    filter.set({
      tags: filter.tags.includes(tag)
        ? filter.tags.filter((t) => t !== tag)
        : [...filter.tags, tag],
    });
  return (
    <div className="filters" role="search">
      <label>
        <span className="label">Builder</span>
        <input
          type="search"
          value={filter.name}
          placeholder="Filter builders by name"
          onChange={(e) => filter.set({ name: e.target.value })}
          aria-label="Filter builders by name"
        />
      </label>
      {allTags.length > 0 ? (
        <div className="tag-filter" aria-label="Filter by tag">
          {allTags.map((tag) => (
            <button
              type="button"
              key={tag}
              className={`tag${filter.tags.includes(tag) ? " selected" : ""}`}
              aria-pressed={filter.tags.includes(tag)}
              onClick={() => toggle(tag)}
            >
              {tag}
            </button>
          ))}
        </div>
      ) : null}
      <span className="muted count-line">
        {shown} of {total} {noun}
      </span>
    </div>
  );
}
