// Changes: the list (newest first, paged on the server: `changes?limit=50&offset=..`, whose
// meta.total Kiln answers with the real count) and one change with its files and its builds
// (`changes/N/builds`, refetched when a build starts, updated live while they run).
import { useEffect, useMemo } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import type { Build, Builder, Change } from "../api/generated";
import { allBuilders, changesPage, PAGE_SIZE } from "../app/queries";
import { useLive, useServices } from "../app/services";
import { Ago, Empty, ErrorText, Loading, PageTitle } from "../components/common";
import { BuildTable } from "./Builder";
import { firstLine, shortRevision } from "./Console";

export function Changes() {
  const [params, setParams] = useSearchParams();
  const page = Math.max(0, Number(params.get("page") ?? "1") - 1) || 0;
  const changes = useLive(changesPage(page));
  const pages = Math.max(1, Math.ceil((changes.total ?? 0) / PAGE_SIZE));
  const goTo = (p: number) => setParams(p === 0 ? {} : { page: String(p + 1) });
  return (
    <section>
      <PageTitle>Changes</PageTitle>
      <ErrorText error={changes.error} />
      {changes.loading && changes.items.length === 0 ? (
        <Loading what="changes" />
      ) : changes.items.length === 0 ? (
        <Empty>No changes{page > 0 ? " on this page" : " yet"}.</Empty>
      ) : (
        <ChangeTable changes={changes.items} />
      )}
      <nav className="pager" aria-label="Change pages">
        <button type="button" disabled={page === 0} onClick={() => goTo(0)}>
          Newest
        </button>
        <button type="button" disabled={page === 0} onClick={() => goTo(page - 1)}>
          ‹ Newer
        </button>
        <span>
          Page {page + 1} of {Math.max(pages, page + 1)}
          {changes.total !== null ? ` (${changes.total} changes)` : ""}
        </span>
        <button type="button" disabled={page + 1 >= pages} onClick={() => goTo(page + 1)}>
          Older ›
        </button>
        <button type="button" disabled={page + 1 >= pages} onClick={() => goTo(pages - 1)}>
          Oldest
        </button>
      </nav>
    </section>
  );
}

export function ChangeTable({ changes }: { changes: readonly Change[] }) {
  return (
    <table className="table changes">
      <thead>
        <tr>
          <th scope="col">Change</th>
          <th scope="col">Revision</th>
          <th scope="col">Author</th>
          <th scope="col">Comments</th>
          <th scope="col">Branch</th>
          <th scope="col">When</th>
        </tr>
      </thead>
      <tbody>
        {changes.map((c) => (
          <tr key={c.changeid} data-change={c.changeid}>
            <td data-label="Change">
              <Link to={`/changes/${c.changeid}`}>#{c.changeid}</Link>
            </td>
            <td data-label="Revision" className="mono">
              {shortRevision(c.revision)}
            </td>
            <td data-label="Author">{c.author}</td>
            <td data-label="Comments">{firstLine(c.comments)}</td>
            <td data-label="Branch">{c.branch ?? ""}</td>
            <td data-label="When">
              <Ago epoch={c.when_timestamp} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function ChangePage() {
  const changeid = Number(useParams().changeid);
  const { live, store } = useServices();
  const change = useLive<Change>({ path: `changes/${changeid}`, id: "changeid", events: [] });
  const buildsSpec = {
    path: `changes/${changeid}/builds`,
    id: "buildid" as const,
    events: ["builds/*/*"],
    compare: (a: Build, b: Build) => b.buildid - a.buildid,
    acceptNew: false,
  };
  const builds = useLive<Build>(buildsSpec);
  const builders = useLive(allBuilders);
  // A new build may be one of this change's: ask again (which builds are is the server's join).
  useEffect(() => {
    if (!live) return;
    const subscription = live.subscribe("builds/*/new", () =>
      store.refresh(`changes/${changeid}/builds`),
    );
    return () => subscription.close();
  }, [live, store, changeid]);
  const builderNames = useMemo(
    () => new Map(builders.items.map((b: Builder) => [b.builderid, b.name])),
    [builders.items],
  );
  const c = change.items[0];
  if (!c) return change.error ? <ErrorText error={change.error} /> : <Loading what="the change" />;
  const properties = Object.entries(c.properties ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return (
    <section>
      <PageTitle>
        <Link to="/changes" className="crumb">
          Changes
        </Link>{" "}
        / #{c.changeid}
      </PageTitle>
      <dl className="summary">
        <div>
          <dt>Author</dt>
          <dd data-testid="change-author">{c.author}</dd>
        </div>
        {c.committer && c.committer !== c.author ? (
          <div>
            <dt>Committer</dt>
            <dd>{c.committer}</dd>
          </div>
        ) : null}
        <div>
          <dt>Revision</dt>
          <dd className="mono">
            {c.revlink ? (
              <a href={c.revlink} rel="noreferrer noopener" target="_blank">
                {c.revision}
              </a>
            ) : (
              c.revision
            )}
          </dd>
        </div>
        <div>
          <dt>Branch</dt>
          <dd>{c.branch ?? ""}</dd>
        </div>
        <div>
          <dt>Repository</dt>
          <dd className="mono">{c.repository}</dd>
        </div>
        {c.project ? (
          <div>
            <dt>Project</dt>
            <dd>{c.project}</dd>
          </div>
        ) : null}
        {c.codebase ? (
          <div>
            <dt>Codebase</dt>
            <dd>{c.codebase}</dd>
          </div>
        ) : null}
        {c.category ? (
          <div>
            <dt>Category</dt>
            <dd>{c.category}</dd>
          </div>
        ) : null}
        <div>
          <dt>When</dt>
          <dd>
            <Ago epoch={c.when_timestamp} />
          </dd>
        </div>
      </dl>
      <h2>Comments</h2>
      <pre className="comments">{c.comments}</pre>
      <h2>Files</h2>
      {c.files.length === 0 ? (
        <Empty>No files listed.</Empty>
      ) : (
        <ul className="files mono">
          {c.files.map((f) => (
            <li key={f}>{f}</li>
          ))}
        </ul>
      )}
      <h2>Builds</h2>
      <ErrorText error={builds.error} />
      {builds.loading && builds.items.length === 0 ? (
        <Loading what="builds" />
      ) : builds.items.length === 0 ? (
        <Empty>No builds for this change yet.</Empty>
      ) : (
        <BuildTable builds={builds.items} builderNames={builderNames} />
      )}
      {properties.length > 0 ? (
        <>
          <h2>Properties</h2>
          <table className="table properties">
            <tbody>
              {properties.map(([name, [value, source]]) => (
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
        </>
      ) : null}
    </section>
  );
}
