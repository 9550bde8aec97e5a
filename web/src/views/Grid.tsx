// The grid: builders as rows, the newest buildsets (each a change, a force, a rebuild...) as
// columns, newest first; a cell holds the results of that buildset's builds on that builder.
// Live through the same bounded windows as the console. Arrow keys move between cells.
import { useMemo } from "react";
import { Link } from "react-router";
import type { Builder } from "../api/generated";
import { useNow } from "../app/services";
import { BuilderFilter, useBuilderFilter } from "../components/BuilderFilter";
import { Empty, ErrorText, Loading, PageTitle } from "../components/common";
import { onGridKey } from "../lib/gridKeys";
import { usedBuilders } from "../lib/matrix";
import { formatAgo, formatTime } from "../lib/time";
import { CellDots, shortRevision, useMatrixData } from "./Console";

export const GRID_BUILDSETS = 20;

export function Grid() {
  const data = useMatrixData(GRID_BUILDSETS);
  const filter = useBuilderFilter();
  const now = useNow(30_000);
  const sets = data.buildsets;
  const used = useMemo(
    () =>
      usedBuilders(
        sets.map((s) => data.perBuildset.get(s.bsid) ?? new Map()),
        data.order,
      ),
    [sets, data.perBuildset, data.order],
  );
  const rows = used.filter(
    (id) =>
      filter.matches(data.builderById.get(id)) ||
      (!data.builderById.has(id) && filter.name === "" && filter.tags.length === 0),
  );
  return (
    <section>
      <PageTitle>Grid</PageTitle>
      <BuilderFilter
        filter={filter}
        builders={used.map((id) => data.builderById.get(id)).filter((b): b is Builder => !!b)}
        shown={rows.length}
        total={used.length}
      />
      <ErrorText error={data.error} />
      {data.loading && sets.length === 0 ? (
        <Loading what="buildsets" />
      ) : sets.length === 0 ? (
        <Empty>No buildsets yet.</Empty>
      ) : (
        <div className="matrix-scroll">
          <table className="matrix grid" data-testid="grid" onKeyDown={onGridKey}>
            <thead>
              <tr>
                <th scope="col" className="matrix-corner">
                  Builder
                </th>
                {sets.map((s) => {
                  const stamp = s.sourcestamps[0];
                  const revision = shortRevision(stamp?.revision ?? null);
                  return (
                    <th scope="col" key={s.bsid} className="grid-set" data-bsid={s.bsid}>
                      <span className="mono">{revision || `set ${s.bsid}`}</span>
                      {stamp?.branch ? <span className="muted"> {stamp.branch}</span> : null}
                      <div
                        className="muted small-text"
                        title={`${s.reason} (${formatTime(s.submitted_at)})`}
                      >
                        {formatAgo(s.submitted_at, now)}
                      </div>
                    </th>
                  );
                })}
              </tr>
            </thead>
            <tbody>
              {rows.map((id, r) => {
                const name = data.builderById.get(id)?.name ?? `builder ${id}`;
                return (
                  <tr key={id} data-builderid={id}>
                    <th scope="row">
                      <Link to={`/builders/${id}`} data-r={r} data-c={-1}>
                        {name}
                      </Link>
                    </th>
                    {sets.map((s, c) => (
                      <td key={s.bsid} className="matrix-cell">
                        <CellDots
                          cell={data.perBuildset.get(s.bsid)?.get(id)}
                          builderName={name}
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
      <p className="muted">The newest {GRID_BUILDSETS} buildsets, newest first.</p>
    </section>
  );
}
