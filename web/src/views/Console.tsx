// The console: the newest changes as rows, the builders as columns, and in each cell the
// results of the builds made for that change (through buildset → sourcestamp). Each input is a
// bounded live window (changes, buildsets, requests, builds), so it stays current and cheap
// with 100,000 builds. Arrow keys move between cells.
import { useEffect, useMemo, useRef } from "react";
import { Link } from "react-router";
import type { Builder, Change } from "../api/generated";
import {
  allBuilders,
  changesPage,
  matrixBuilds,
  matrixBuildsets,
  matrixRequests,
  type MatrixBuildRow,
} from "../app/queries";
import { useLive, useServices } from "../app/services";
import { BuilderFilter, useBuilderFilter } from "../components/BuilderFilter";
import {
  Ago,
  Empty,
  ErrorText,
  Loading,
  PageTitle,
  ResultDot,
  buildPath,
} from "../components/common";
import { onGridKey } from "../lib/gridKeys";
import { byBuildset, byChange, usedBuilders, type Cell } from "../lib/matrix";

export const CONSOLE_CHANGES = 30;

/** The live windows the console and the grid join. */
export function useMatrixData(buildsets: number) {
  const builds = useLive(matrixBuilds);
  const requests = useLive(matrixRequests);
  const sets = useLive(matrixBuildsets(buildsets));
  const builders = useLive(allBuilders);
  const { store } = useServices();
  // A request of a buildset newer than the window: read the buildsets again (their own
  // events may come later than the request's, or not at all).
  const asked = useRef(0);
  const newestSet = sets.items[0]?.bsid ?? 0;
  const newestWanted = requests.items.reduce((m, r) => Math.max(m, r.buildsetid), 0);
  useEffect(() => {
    if (sets.loading || newestWanted <= newestSet || asked.current >= newestWanted) return;
    asked.current = newestWanted;
    setTimeout(() => store.refresh("buildsets"), 200);
  }, [newestWanted, newestSet, sets.loading, store]);
  const perBuildset = useMemo(
    () => byBuildset(requests.items, builds.items),
    [requests.items, builds.items],
  );
  const builderById = useMemo(
    () => new Map(builders.items.map((b) => [b.builderid, b])),
    [builders.items],
  );
  const order = useMemo(() => builders.items.map((b) => b.builderid), [builders.items]);
  const loading = builds.loading || requests.loading || sets.loading;
  const error = builds.error ?? requests.error ?? sets.error ?? builders.error;
  return { buildsets: sets.items, perBuildset, builderById, order, loading, error };
}

export function CellDots({
  cell,
  builderName,
  r,
  c,
}: {
  cell: Cell<MatrixBuildRow> | undefined;
  builderName: string;
  r: number;
  c: number;
}) {
  if (!cell) return null;
  return (
    <span className="cell-dots">
      {cell.builds.slice(0, 3).map((build, i) => (
        <ResultDot
          key={build.buildid}
          results={build.results}
          complete={build.complete}
          to={buildPath(build.builderid, build.number)}
          label={`${builderName} #${build.number}`}
          data={{ "data-r": r, "data-c": c * 4 + i }}
        />
      ))}
      {cell.builds.length === 0 && cell.waiting.length > 0 ? (
        <ResultDot
          results={null}
          complete
          to={`/builders/${cell.waiting[0]?.builderid ?? ""}`}
          label={`${builderName}: waiting`}
          data={{ "data-r": r, "data-c": c * 4 }}
        />
      ) : null}
    </span>
  );
}

export function firstLine(text: string): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}

export function shortRevision(revision: string | null): string {
  if (!revision) return "";
  return /^[0-9a-f]{12,}$/i.test(revision) ? revision.slice(0, 10) : revision;
}

export function Console() {
  const changes = useLive(changesPage(0, CONSOLE_CHANGES));
  const data = useMatrixData(300);
  const filter = useBuilderFilter();
  const rows = useMemo(
    () => byChange(changes.items, data.buildsets, data.perBuildset),
    [changes.items, data.buildsets, data.perBuildset],
  );
  const used = useMemo(() => usedBuilders(rows.values(), data.order), [rows, data.order]);
  const columns = used.filter(
    (id) =>
      filter.matches(data.builderById.get(id)) ||
      (!data.builderById.has(id) && filter.name === "" && filter.tags.length === 0),
  );
  const usedBuildersList = used
    .map((id) => data.builderById.get(id))
    .filter((b): b is Builder => !!b);
  return (
    <section>
      <PageTitle>Console</PageTitle>
      <BuilderFilter
        filter={filter}
        builders={usedBuildersList}
        shown={columns.length}
        total={used.length}
      />
      <ErrorText error={changes.error ?? data.error} />
      {changes.loading && changes.items.length === 0 ? (
        <Loading what="changes" />
      ) : changes.items.length === 0 ? (
        <Empty>No changes yet.</Empty>
      ) : (
        <div className="matrix-scroll">
          <table className="matrix console" data-testid="console" onKeyDown={onGridKey}>
            <thead>
              <tr>
                <th scope="col" className="matrix-corner">
                  Change
                </th>
                {columns.map((id) => (
                  <th scope="col" key={id} className="matrix-builder">
                    <Link to={`/builders/${id}`} title={data.builderById.get(id)?.name}>
                      <span>{data.builderById.get(id)?.name ?? `builder ${id}`}</span>
                    </Link>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {changes.items.map((change: Change, r) => {
                const row = rows.get(change.changeid);
                return (
                  <tr key={change.changeid} data-change={change.changeid}>
                    <th scope="row" className="matrix-change">
                      <Link to={`/changes/${change.changeid}`} data-r={r} data-c={-1}>
                        <span className="mono">
                          {shortRevision(change.revision) || `#${change.changeid}`}
                        </span>
                      </Link>{" "}
                      <span className="author">{change.author}</span>{" "}
                      <span className="muted">
                        <Ago epoch={change.when_timestamp} />
                      </span>
                      <div className="comment muted">{firstLine(change.comments)}</div>
                    </th>
                    {columns.map((id, c) => (
                      <td key={id} className="matrix-cell" data-builderid={id}>
                        <CellDots
                          cell={row?.get(id)}
                          builderName={data.builderById.get(id)?.name ?? String(id)}
                          r={r}
                          c={c}
                        />
                      </td>
                    ))}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <p className="muted">
        The newest {CONSOLE_CHANGES} changes; <Link to="/changes">all changes</Link>.
      </p>
    </section>
  );
}
