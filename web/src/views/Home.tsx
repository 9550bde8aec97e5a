// The overview: builds running now, requests waiting for a worker, and the latest results.
import { useMemo } from "react";
import { Link } from "react-router";
import { Empty, ErrorText, Loading, PageTitle } from "../components/common";
import {
  allBuilders,
  allWorkers,
  pendingRequests,
  recentBuilds,
  runningBuilds,
} from "../app/queries";
import { useControl, useLive, useServices } from "../app/services";
import { BuildTable, RequestList } from "./Builder";

export function Home() {
  const { config, permissions } = useServices();
  const running = useLive(runningBuilds);
  const queue = useLive(pendingRequests());
  const recent = useLive(recentBuilds(20));
  const builders = useLive(allBuilders);
  const workers = useLive(allWorkers);
  const control = useControl();
  const builderNames = useMemo(
    () => new Map(builders.items.map((b) => [b.builderid, b.name])),
    [builders.items],
  );
  const workerNames = useMemo(
    () => new Map(workers.items.map((w) => [w.workerid, w.name])),
    [workers.items],
  );
  const connected = workers.items.filter((w) => w.connected_to.length > 0).length;
  return (
    <section>
      <PageTitle>{config.title || "Kiln"}</PageTitle>
      <ul className="stats" aria-label="Summary">
        <li>
          <Link to="/builders">
            <strong>{builders.items.length}</strong> builders
          </Link>
        </li>
        <li>
          <Link to="/workers">
            <strong>{connected}</strong> of {workers.items.length} workers connected
          </Link>
        </li>
        <li>
          <strong>{running.items.length}</strong> running
        </li>
        <li>
          <strong>{queue.items.length}</strong> waiting
        </li>
      </ul>

      <h2>Running builds</h2>
      <ErrorText error={running.error} />
      {running.loading && running.items.length === 0 ? (
        <Loading />
      ) : running.items.length === 0 ? (
        <Empty>Nothing is building.</Empty>
      ) : (
        <BuildTable builds={running.items} builderNames={builderNames} workerNames={workerNames} />
      )}

      <h2>Waiting requests</h2>
      <RequestList
        requests={queue.items}
        loading={queue.loading}
        builderNames={builderNames}
        mayCancel={(r) => permissions.may("cancel", r.builderid)}
        onCancel={(r) =>
          void control({
            path: `buildrequests/${r.buildrequestid}`,
            method: "cancel",
            params: { reason: "cancelled from the web UI" },
            scope: r.builderid,
            success: `Request ${r.buildrequestid} cancelled`,
          }).catch(() => undefined)
        }
      />

      <h2>Recent results</h2>
      <ErrorText error={recent.error} />
      {recent.loading && recent.items.length === 0 ? (
        <Loading />
      ) : recent.items.length === 0 ? (
        <Empty>No finished builds yet.</Empty>
      ) : (
        <BuildTable builds={recent.items} builderNames={builderNames} workerNames={workerNames} />
      )}
    </section>
  );
}
