// One builder: its force schedulers (a form each), the requests waiting for a worker (with
// cancel), and its history, paged on the server (50 builds a page, newest first).
import { useMemo, useState } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import type {
  Build,
  Builder as BuilderType,
  BuildRequest,
  ForceScheduler,
  Worker,
} from "../api/generated";
import {
  Ago,
  Duration,
  Empty,
  ErrorText,
  Loading,
  PageTitle,
  ResultBadge,
  Tags,
  buildPath,
} from "../components/common";
import { ForceForm } from "../components/ForceForm";
import { allWorkers, builderHistory, pendingRequests, PAGE_SIZE } from "../app/queries";
import { useControl, useLive, usePermission, useServices } from "../app/services";
import { isAnonymous, isAuthConfigured } from "../lib/permissions";

export function Builder() {
  const builderid = Number(useParams().builderid);
  const [params, setParams] = useSearchParams();
  const page = Math.max(0, Number(params.get("page") ?? "1") - 1) || 0;
  const { config, notifier } = useServices();
  const builder = useLive<BuilderType>({ path: `builders/${builderid}`, id: "builderid" });
  const schedulers = useLive<ForceScheduler>({
    path: `builders/${builderid}/forceschedulers`,
    id: "name",
    events: [],
  });
  const history = useLive(builderHistory(builderid, page));
  const newest = useLive(builderHistory(builderid, 0));
  const requests = useLive(pendingRequests(builderid));
  const workers = useLive(allWorkers);
  const mayForce = usePermission("force", builderid);
  const mayCancel = usePermission("cancel", builderid);
  const [open, setOpen] = useState<string | null>(null);
  const control = useControl();

  const workerNames = useMemo(
    () => new Map(workers.items.map((w: Worker) => [w.workerid, w.name])),
    [workers.items],
  );
  const b = builder.items[0];
  const latestNumber = newest.items[0]?.number ?? 0;
  const pages = Math.max(1, Math.ceil(latestNumber / PAGE_SIZE));
  const goTo = (p: number) => setParams(p === 0 ? {} : { page: String(p + 1) });

  if (!b) {
    if (builder.error) return <ErrorText error={builder.error} />;
    return <Loading what="the builder" />;
  }
  const enabled = schedulers.items.filter((s) => s.enabled !== false);
  const openScheduler = enabled.find((s) => s.name === open);
  return (
    <section>
      <PageTitle
        actions={
          mayForce
            ? enabled.map((s) => (
                <button
                  type="button"
                  key={s.name}
                  className="primary"
                  data-testid="force-button"
                  aria-expanded={open === s.name}
                  onClick={() => setOpen(open === s.name ? null : s.name)}
                >
                  {s.button_name || s.label || "Force build"}
                </button>
              ))
            : null
        }
      >
        <Link to="/builders" className="crumb">
          Builders
        </Link>{" "}
        / {b.name}
      </PageTitle>
      {b.description ? <p className="description">{b.description}</p> : null}
      <Tags tags={b.tags} />
      <BuilderWorkers builderid={builderid} workers={workers.items} />
      {!mayForce && isAuthConfigured(config) && isAnonymous(config) && enabled.length > 0 ? (
        <p className="muted hint">
          <Link to={`/login?redirect=${encodeURIComponent(`/builders/${builderid}`)}`}>Log in</Link>{" "}
          to start builds.
        </p>
      ) : null}
      {openScheduler && mayForce ? (
        <ForceForm
          scheduler={openScheduler}
          builderid={builderid}
          onCancel={() => setOpen(null)}
          onDone={([bsid, requestsByBuilder]) => {
            setOpen(null);
            const brid = requestsByBuilder[String(builderid)];
            notifier.notify(
              `Build requested (buildset ${bsid}${brid ? `, request ${brid}` : ""})`,
              "success",
            );
          }}
        />
      ) : null}

      <h2>Waiting requests</h2>
      <RequestList
        requests={requests.items}
        loading={requests.loading}
        mayCancel={mayCancel}
        onCancel={(r) =>
          void control({
            path: `buildrequests/${r.buildrequestid}`,
            method: "cancel",
            params: { reason: "cancelled from the web UI" },
            scope: builderid,
            success: `Request ${r.buildrequestid} cancelled`,
          }).catch(() => undefined)
        }
      />

      <h2 id="history">History</h2>
      <ErrorText error={history.error} />
      {history.loading && history.items.length === 0 ? (
        <Loading what="builds" />
      ) : history.items.length === 0 ? (
        <Empty>No builds yet.</Empty>
      ) : (
        <BuildTable builds={history.items} workerNames={workerNames} />
      )}
      <nav className="pager" aria-label="History pages">
        <button type="button" disabled={page === 0} onClick={() => goTo(0)}>
          Newest
        </button>
        <button type="button" disabled={page === 0} onClick={() => goTo(page - 1)}>
          ‹ Newer
        </button>
        <span>
          Page {page + 1} of {Math.max(pages, page + 1)}
        </span>
        <button
          type="button"
          disabled={history.items.length < PAGE_SIZE}
          onClick={() => goTo(page + 1)}
        >
          Older ›
        </button>
        <button type="button" disabled={page + 1 >= pages} onClick={() => goTo(pages - 1)}>
          Oldest
        </button>
      </nav>
    </section>
  );
}

export function RequestList({
  requests,
  loading,
  mayCancel,
  onCancel,
  builderNames,
}: {
  requests: readonly BuildRequest[];
  loading: boolean;
  mayCancel: boolean | ((r: BuildRequest) => boolean);
  onCancel: (r: BuildRequest) => void;
  builderNames?: Map<number, string>;
}) {
  if (loading && requests.length === 0) return <Loading what="requests" />;
  if (requests.length === 0) return <Empty>No requests are waiting.</Empty>;
  return (
    <table className="table">
      <thead>
        <tr>
          <th scope="col">Request</th>
          {builderNames ? <th scope="col">Builder</th> : null}
          <th scope="col">Submitted</th>
          <th scope="col">Priority</th>
          <th scope="col">
            <span className="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {requests.map((r) => (
          <tr key={r.buildrequestid} data-request={r.buildrequestid}>
            <td data-label="Request">#{r.buildrequestid}</td>
            {builderNames ? (
              <td data-label="Builder">
                <Link to={`/builders/${r.builderid}`}>
                  {builderNames.get(r.builderid) ?? `builder ${r.builderid}`}
                </Link>
              </td>
            ) : null}
            <td data-label="Submitted">
              <Ago epoch={r.submitted_at} />
            </td>
            <td data-label="Priority">{r.priority}</td>
            <td className="row-actions">
              {(typeof mayCancel === "function" ? mayCancel(r) : mayCancel) ? (
                <button type="button" className="danger small" onClick={() => onCancel(r)}>
                  Cancel
                </button>
              ) : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function BuildTable({
  builds,
  workerNames,
  builderNames,
}: {
  builds: readonly Build[];
  workerNames?: Map<number, string>;
  builderNames?: Map<number, string>;
}) {
  return (
    <table className="table builds">
      <thead>
        <tr>
          {builderNames ? <th scope="col">Builder</th> : null}
          <th scope="col">Build</th>
          <th scope="col">Result</th>
          <th scope="col">Status</th>
          <th scope="col">Started</th>
          <th scope="col">Duration</th>
          {workerNames ? <th scope="col">Worker</th> : null}
        </tr>
      </thead>
      <tbody>
        {builds.map((build) => (
          <tr key={build.buildid} data-buildid={build.buildid}>
            {builderNames ? (
              <td data-label="Builder">
                <Link to={`/builders/${build.builderid}`}>
                  {builderNames.get(build.builderid) ?? build.builderid}
                </Link>
              </td>
            ) : null}
            <td data-label="Build">
              <Link to={buildPath(build.builderid, build.number)}>#{build.number}</Link>
            </td>
            <td data-label="Result">
              <ResultBadge results={build.results} complete={build.complete} />
            </td>
            <td data-label="Status" className="state">
              {build.state_string}
            </td>
            <td data-label="Started">
              <Ago epoch={build.started_at} />
            </td>
            <td data-label="Duration">
              <Duration start={build.started_at} end={build.complete_at} />
            </td>
            {workerNames ? (
              <td data-label="Worker">{workerNames.get(build.workerid) ?? build.workerid}</td>
            ) : null}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The workers configured for the builder, and whether they are connected. */
function BuilderWorkers({ builderid, workers }: { builderid: number; workers: readonly Worker[] }) {
  const mine = workers.filter((w) => w.configured_on.some((c) => c.builderid === builderid));
  if (mine.length === 0) return null;
  return (
    <p className="muted builder-workers">
      Workers:{" "}
      {mine.map((w, i) => (
        <span key={w.workerid}>
          {i > 0 ? ", " : ""}
          <Link to="/workers">{w.name}</Link>{" "}
          {w.connected_to.length === 0 ? "(disconnected)" : w.paused ? "(paused)" : ""}
        </span>
      ))}
    </p>
  );
}
