// Workers: connected or not, paused, what they are building; pause and unpause.
import { useMemo } from "react";
import { Link } from "react-router";
import type { Build, Worker } from "../api/generated";
import { Empty, ErrorText, Loading, PageTitle, buildPath } from "../components/common";
import { allBuilders, allWorkers, runningBuilds } from "../app/queries";
import { useControl, useLive, usePermission } from "../app/services";

export function Workers() {
  const workers = useLive(allWorkers);
  const running = useLive(runningBuilds);
  const builders = useLive(allBuilders);
  const mayPause = usePermission("pause");
  const mayUnpause = usePermission("unpause");
  const control = useControl();
  const builderNames = useMemo(
    () => new Map(builders.items.map((b) => [b.builderid, b.name])),
    [builders.items],
  );
  const byWorker = useMemo(() => {
    const map = new Map<number, Build[]>();
    for (const b of running.items) map.set(b.workerid, [...(map.get(b.workerid) ?? []), b]);
    return map;
  }, [running.items]);

  const act = (w: Worker, method: "pause" | "unpause") =>
    void control({
      path: `workers/${w.workerid}`,
      method,
      params: { reason: `${method}d from the web UI` },
      success: `${w.name} ${method}d`,
    }).catch(() => undefined);

  return (
    <section>
      <PageTitle>Workers</PageTitle>
      <ErrorText error={workers.error} />
      {workers.loading && workers.items.length === 0 ? (
        <Loading what="workers" />
      ) : workers.items.length === 0 ? (
        <Empty>No workers are configured.</Empty>
      ) : (
        <table className="table workers">
          <thead>
            <tr>
              <th scope="col">Worker</th>
              <th scope="col">State</th>
              <th scope="col">Running builds</th>
              <th scope="col">Builders</th>
              <th scope="col">Host</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {workers.items.map((w) => {
              const connected = w.connected_to.length > 0;
              const builds = byWorker.get(w.workerid) ?? [];
              const info = w.workerinfo as Record<string, unknown>;
              return (
                <tr key={w.workerid} data-worker={w.name}>
                  <th scope="row" data-label="Worker">
                    {w.name}
                  </th>
                  <td data-label="State">
                    <span className={`badge ${connected ? "result-success" : "result-pending"}`}>
                      {connected ? "connected" : "disconnected"}
                    </span>{" "}
                    {w.paused ? (
                      <span className="badge result-warnings" data-testid="paused">
                        paused
                      </span>
                    ) : null}{" "}
                    {w.graceful ? <span className="badge result-retry">stopping</span> : null}
                  </td>
                  <td data-label="Running builds">
                    {builds.length === 0 ? (
                      <span className="muted">idle</span>
                    ) : (
                      builds.map((b) => (
                        <Link
                          key={b.buildid}
                          to={buildPath(b.builderid, b.number)}
                          className="inline-build"
                        >
                          {builderNames.get(b.builderid) ?? b.builderid} #{b.number}
                        </Link>
                      ))
                    )}
                  </td>
                  <td data-label="Builders">
                    {new Set(w.configured_on.map((c) => c.builderid)).size}
                  </td>
                  <td data-label="Host" className="muted">
                    {typeof info.host === "string" ? info.host : ""}
                    {typeof info.version === "string" ? ` (${info.version})` : ""}
                  </td>
                  <td className="row-actions">
                    {w.paused && mayUnpause ? (
                      <button type="button" className="small" onClick={() => act(w, "unpause")}>
                        Unpause
                      </button>
                    ) : null}
                    {!w.paused && mayPause ? (
                      <button type="button" className="small" onClick={() => act(w, "pause")}>
                        Pause
                      </button>
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
