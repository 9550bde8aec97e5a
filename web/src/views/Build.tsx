// One build: its state, steps (durations, results, logs), properties, and stop/rebuild.
// Everything is live: the build, its steps, their logs and the properties follow /ws events.
import { useEffect, useMemo, useState } from "react";
import { Link, useLocation, useNavigate, useParams } from "react-router";
import type {
  Build as BuildType,
  Builder,
  Change,
  Log,
  SourcedProperties,
  Step,
  Worker,
} from "../api/generated";
import {
  Ago,
  Duration,
  ErrorText,
  Loading,
  PageTitle,
  ResultBadge,
  buildPath,
} from "../components/common";
import { LogViewer } from "../components/LogViewer";
import { allWorkers } from "../app/queries";
import { useControl, useLive, usePermission } from "../app/services";
import { ChangeTable } from "./Changes";

function useBuild(builderid: number, number: number) {
  const builder = useLive<Builder>({ path: `builders/${builderid}`, id: "builderid" });
  const build = useLive<BuildType>({
    path: `builders/${builderid}/builds/${number}`,
    id: "buildid",
  });
  return { builder: builder.items[0], build: build.items[0], error: build.error ?? builder.error };
}

export function Build() {
  const params = useParams();
  const builderid = Number(params.builderid);
  const number = Number(params.number);
  const { builder, build, error } = useBuild(builderid, number);
  if (!build) return error ? <ErrorText error={error} /> : <Loading what="the build" />;
  return <BuildPage build={build} builderName={builder?.name ?? String(builderid)} />;
}

function BuildPage({ build, builderName }: { build: BuildType; builderName: string }) {
  const steps = useLive<Step>({
    path: `builds/${build.buildid}/steps`,
    id: "stepid",
    compare: (a, b) => a.number - b.number,
  });
  const properties = useLive<SourcedProperties>({ path: `builds/${build.buildid}/properties` });
  // The changes the build is for (back to the previous successful build), and so who is
  // responsible for its result: their authors, and the owner of a forced build.
  const changes = useLive<Change>({
    path: `builds/${build.buildid}/changes`,
    id: "changeid",
    events: [],
    compare: (a, b) => b.changeid - a.changeid,
  });
  const responsible = useMemo(() => {
    const owner = propertyText(properties.items[0], "owner");
    const people = changes.items.map((c) => c.author);
    if (owner) people.push(owner);
    return [...new Set(people.filter((p) => p !== ""))];
  }, [changes.items, properties.items]);
  const workers = useLive(allWorkers);
  const mayStop = usePermission("stop", build.builderid);
  const mayRebuild = usePermission("rebuild", build.builderid);
  const control = useControl();
  const navigate = useNavigate();
  const [showHidden, setShowHidden] = useState(false);
  const worker = workers.items.find((w: Worker) => w.workerid === build.workerid);
  // The next build, if there is one (404 until it exists; its `new` event brings it).
  const next = useLive<BuildType>({
    path: `builders/${build.builderid}/builds/${build.number + 1}`,
    id: "buildid",
    query: { field: ["buildid", "number"] },
  });
  const shownSteps = steps.items.filter((s) => showHidden || !s.hidden);
  const hiddenCount = steps.items.length - steps.items.filter((s) => !s.hidden).length;

  const stop = () =>
    void control({
      path: `builds/${build.buildid}`,
      method: "stop",
      params: { reason: "stopped from the web UI" },
      scope: build.builderid,
      success: `Stopping build #${build.number}`,
    }).catch(() => undefined);
  const rebuild = () =>
    void control<[number, Record<string, number>]>({
      path: `builds/${build.buildid}`,
      method: "rebuild",
      scope: build.builderid,
      success: `Rebuild of #${build.number} requested`,
    })
      .then(() => navigate(`/builders/${build.builderid}`))
      .catch(() => undefined);

  return (
    <section>
      <PageTitle
        actions={
          <>
            {!build.complete && mayStop ? (
              <button type="button" className="danger" onClick={stop} data-testid="stop-button">
                Stop
              </button>
            ) : null}
            {build.complete && mayRebuild ? (
              <button type="button" onClick={rebuild} data-testid="rebuild-button">
                Rebuild
              </button>
            ) : null}
          </>
        }
      >
        <Link to={`/builders/${build.builderid}`} className="crumb">
          {builderName}
        </Link>{" "}
        / #{build.number}
      </PageTitle>
      <dl className="summary">
        <div>
          <dt>Result</dt>
          <dd>
            <ResultBadge results={build.results} complete={build.complete} />
          </dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd data-testid="build-state">{build.state_string}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd>
            <Ago epoch={build.started_at} />
          </dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>
            <Duration start={build.started_at} end={build.complete_at} />
          </dd>
        </div>
        <div>
          <dt>Reason</dt>
          <dd>{propertyText(properties.items[0], "reason")}</dd>
        </div>
        <div>
          <dt>Owner</dt>
          <dd>{propertyText(properties.items[0], "owner")}</dd>
        </div>
        <div>
          <dt>Responsible</dt>
          <dd data-testid="responsible">{responsible.join(", ")}</dd>
        </div>
        <div>
          <dt>Worker</dt>
          <dd>{worker ? <Link to="/workers">{worker.name}</Link> : build.workerid}</dd>
        </div>
        <div>
          <dt>Neighbours</dt>
          <dd>
            {build.number > 1 ? (
              <Link to={buildPath(build.builderid, build.number - 1)}>‹ #{build.number - 1}</Link>
            ) : null}{" "}
            {next.items.length > 0 ? (
              <Link to={buildPath(build.builderid, build.number + 1)}>#{build.number + 1} ›</Link>
            ) : null}
          </dd>
        </div>
      </dl>

      <h2>Steps</h2>
      <ErrorText error={steps.error} />
      {steps.loading && steps.items.length === 0 ? <Loading what="steps" /> : null}
      <ol className="steps">
        {shownSteps.map((step) => (
          <StepItem key={step.stepid} step={step} build={build} />
        ))}
      </ol>
      {hiddenCount > 0 ? (
        <button type="button" className="small" onClick={() => setShowHidden(!showHidden)}>
          {showHidden ? "Hide" : "Show"} {hiddenCount} hidden step{hiddenCount === 1 ? "" : "s"}
        </button>
      ) : null}

      <h2>Changes</h2>
      <ErrorText error={changes.error} />
      {changes.loading && changes.items.length === 0 ? (
        <Loading what="changes" />
      ) : changes.items.length === 0 ? (
        <p className="muted">No changes (a forced build, or the first of its sources).</p>
      ) : (
        <ChangeTable changes={changes.items} />
      )}

      <h2>Properties</h2>
      <PropertyTable properties={properties.items[0]} />
    </section>
  );
}

function StepItem({ step, build }: { step: Step; build: BuildType }) {
  const running = step.started_at !== null && !step.complete;
  const failed = step.complete && step.results !== null && step.results >= 2 && step.results !== 3;
  const [expanded, setExpanded] = useState<boolean | null>(null);
  // A step seen running stays open when it finishes (its log was being watched).
  useEffect(() => {
    if (running) setExpanded((current) => current ?? true);
  }, [running]);
  const isOpen = expanded ?? (running || (failed && build.complete));
  const panelId = `step-${step.stepid}-logs`;
  return (
    <li className={`step${running ? " running" : ""}`} data-step={step.name}>
      <div className="step-head">
        <button
          type="button"
          className="disclosure"
          aria-expanded={isOpen}
          aria-controls={panelId}
          onClick={() => setExpanded(!isOpen)}
          aria-label={`${isOpen ? "Hide" : "Show"} logs of step ${step.name}`}
        >
          {isOpen ? "▾" : "▸"}
        </button>
        <span className="step-number muted">{step.number}</span>
        <span className="step-name">{step.name}</span>
        <ResultBadge
          results={step.results}
          complete={step.complete || step.started_at === null}
          text={step.started_at === null ? "pending" : undefined}
        />
        <span className="state">{step.state_string}</span>
        <span className="step-duration muted">
          <Duration start={step.started_at} end={step.complete_at} />
        </span>
      </div>
      {step.urls.length > 0 ? (
        <ul className="step-urls">
          {step.urls.map((u) => (
            <li key={u.url}>
              <a href={u.url} rel="noreferrer noopener" target="_blank">
                {u.name}
              </a>
            </li>
          ))}
        </ul>
      ) : null}
      {isOpen ? <StepLogs step={step} build={build} id={panelId} /> : null}
    </li>
  );
}

function StepLogs({ step, build, id }: { step: Step; build: BuildType; id: string }) {
  const logs = useLive<Log>({
    path: `steps/${step.stepid}/logs`,
    id: "logid",
    compare: (a, b) => a.logid - b.logid,
  });
  const [chosen, setChosen] = useState<number | null>(null);
  if (logs.loading && logs.items.length === 0) return <Loading what="logs" />;
  if (logs.items.length === 0)
    return (
      <p id={id} className="muted">
        No logs.
      </p>
    );
  const log = logs.items.find((l) => l.logid === chosen) ?? (logs.items[0] as Log);
  const base = `${buildPath(build.builderid, build.number)}/steps/${step.number}/logs/${log.slug}`;
  return (
    <div id={id} className="step-logs">
      <div className="log-tabs" role="tablist">
        {logs.items.map((l) => (
          <button
            type="button"
            role="tab"
            key={l.logid}
            aria-selected={l.logid === log.logid}
            className={l.logid === log.logid ? "selected" : ""}
            onClick={() => setChosen(l.logid)}
          >
            {l.name}
          </button>
        ))}
        <Link to={base} className="muted open-log">
          Open full page
        </Link>
      </div>
      <LogViewer log={log} linkBase={base} height="min(24rem, 60vh)" />
    </div>
  );
}

function PropertyTable({ properties }: { properties: SourcedProperties | undefined }) {
  const entries = useMemo(
    () => Object.entries(properties ?? {}).sort(([a], [b]) => a.localeCompare(b)),
    [properties],
  );
  if (!properties) return <Loading what="properties" />;
  if (entries.length === 0) return <p className="muted">No properties.</p>;
  return (
    <table className="table properties">
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Value</th>
          <th scope="col">Source</th>
        </tr>
      </thead>
      <tbody>
        {entries.map(([name, [value, source]]) => (
          <tr key={name}>
            <th scope="row" data-label="Name">
              {name}
            </th>
            <td data-label="Value" className="mono">
              {typeof value === "string" ? value : JSON.stringify(value)}
            </td>
            <td data-label="Source" className="muted">
              {source}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A log on its own page: `/builders/B/builds/N/steps/S/logs/SLUG#L123`. */
export function LogPage() {
  const params = useParams();
  const location = useLocation();
  const builderid = Number(params.builderid);
  const number = Number(params.number);
  const { builder, build } = useBuild(builderid, number);
  const path = `builders/${builderid}/builds/${number}/steps/${params.step}/logs/${params.slug}`;
  // Log events are keyed by step id (`steps/N/logs/SLUG/*`): find the step first.
  const step = useLive<Step>(
    build ? { path: `builds/${build.buildid}/steps/${params.step}`, id: "stepid" } : null,
  );
  const stepid = step.items[0]?.stepid;
  const log = useLive<Log>(
    stepid === undefined ? null : { path: `steps/${stepid}/logs/${params.slug}`, id: "logid" },
  );
  const [line, setLine] = useState<number | null>(null);
  useEffect(() => {
    const match = /^#L(\d+)$/.exec(location.hash);
    setLine(match ? Number(match[1]) : null);
  }, [location.hash]);
  const entity = log.items[0];
  return (
    <section className="log-page">
      <PageTitle
        actions={
          entity ? (
            <a className="button" href={`/api/v2/logs/${entity.logid}/raw`} download={entity.slug}>
              Download raw
            </a>
          ) : null
        }
      >
        <Link to={`/builders/${builderid}`} className="crumb">
          {builder?.name ?? builderid}
        </Link>{" "}
        /{" "}
        <Link to={buildPath(builderid, number)} className="crumb">
          #{number}
        </Link>{" "}
        / {params.step} / {params.slug}
      </PageTitle>
      <ErrorText error={log.error} />
      {entity ? (
        <LogViewer
          log={entity}
          linkBase={`/${path}`}
          highlight={line}
          height="calc(100vh - 13rem)"
        />
      ) : (
        <Loading what="the log" />
      )}
    </section>
  );
}

function propertyText(properties: SourcedProperties | undefined, name: string): string {
  const value = properties?.[name]?.[0];
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}
