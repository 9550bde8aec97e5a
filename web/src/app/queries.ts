// The live queries the views share (same key → one REST fetch and one subscription).
import type { Build, Builder, BuildRequest, Buildset, Change, Worker } from "../api/generated";
import type { QuerySpec } from "../api/store";

// One collator for every comparison (String.localeCompare builds one per call: slow for
// sorting 2,000 builders).
const collator = new Intl.Collator();
export const byName = (a: { name: string }, b: { name: string }) =>
  collator.compare(a.name, b.name);

/** Every builder (names, tags, descriptions): one request, ~150 bytes per builder. */
export const allBuilders: QuerySpec<Builder> = {
  path: "builders",
  id: "builderid",
  events: ["builders/*/*"],
  compare: byName,
  pageAll: 1000,
};

export const allWorkers: QuerySpec<Worker> = {
  path: "workers",
  id: "workerid",
  events: ["workers/*/*"],
  compare: byName,
  pageAll: 1000,
};

export const runningBuilds: QuerySpec<Build> = {
  path: "builds",
  query: { complete: false, order: "-buildid", limit: 500 },
  id: "buildid",
  events: ["builds/*/*"],
  accept: (b) => !b.complete,
  compare: (a, b) => b.buildid - a.buildid,
  limit: 500,
};

export const recentBuilds = (limit: number): QuerySpec<Build> => ({
  path: "builds",
  query: { complete: true, order: "-buildid", limit },
  id: "buildid",
  events: ["builds/*/*"],
  accept: (b) => b.complete,
  compare: (a, b) => b.buildid - a.buildid,
  limit,
});

/** Build requests not yet claimed by a master (the queue). */
export const pendingRequests = (builderid?: number): QuerySpec<BuildRequest> => ({
  path: builderid === undefined ? "buildrequests" : `builders/${builderid}/buildrequests`,
  query: { claimed: false, complete: false, order: "buildrequestid", limit: 500 },
  id: "buildrequestid",
  events: [
    builderid === undefined ? "buildrequests/*/*" : `builders/${builderid}/buildrequests/*/*`,
  ],
  accept: (r) => !r.complete && !r.claimed,
  compare: (a, b) => a.buildrequestid - b.buildrequestid,
  limit: 500,
});

export const PAGE_SIZE = 50;

/** One page of a builder's history, newest first; only the first page takes new builds. */
export const builderHistory = (builderid: number, page: number): QuerySpec<Build> => ({
  path: `builders/${builderid}/builds`,
  query: { order: "-number", limit: PAGE_SIZE, offset: page * PAGE_SIZE },
  id: "buildid",
  events: [`builders/${builderid}/builds/*/*`],
  compare: (a, b) => b.number - a.number,
  limit: PAGE_SIZE,
  acceptNew: page === 0,
});

/** Newest changes first, paged on the server (`changes?limit=..&offset=..`, meta.total). */
export const changesPage = (page: number, size = PAGE_SIZE): QuerySpec<Change> => ({
  path: "changes",
  query: { limit: size, offset: page * size },
  id: "changeid",
  events: ["changes/*/*"],
  compare: (a, b) => b.changeid - a.changeid,
  limit: size,
  acceptNew: page === 0,
});

// The console's and the grid's windows (bounded: the newest of each collection, live).
export const MATRIX_WINDOW = 1000;

export type MatrixBuildRow = Pick<
  Build,
  | "buildid"
  | "number"
  | "builderid"
  | "buildrequestid"
  | "results"
  | "complete"
  | "started_at"
  | "complete_at"
  | "state_string"
>;

export const matrixBuilds: QuerySpec<MatrixBuildRow> = {
  path: "builds",
  query: {
    order: "-buildid",
    limit: MATRIX_WINDOW,
    field: [
      "buildid",
      "number",
      "builderid",
      "buildrequestid",
      "results",
      "complete",
      "started_at",
      "complete_at",
      "state_string",
    ],
  },
  id: "buildid",
  events: ["builds/*/*"],
  compare: (a, b) => b.buildid - a.buildid,
  limit: MATRIX_WINDOW,
};

export type MatrixRequestRow = Pick<
  BuildRequest,
  "buildrequestid" | "buildsetid" | "builderid" | "complete" | "results"
>;

export const matrixRequests: QuerySpec<MatrixRequestRow> = {
  path: "buildrequests",
  query: {
    order: "-buildrequestid",
    limit: MATRIX_WINDOW,
    field: ["buildrequestid", "buildsetid", "builderid", "complete", "results"],
  },
  id: "buildrequestid",
  events: ["buildrequests/*/*"],
  compare: (a, b) => b.buildrequestid - a.buildrequestid,
  limit: MATRIX_WINDOW,
};

export type MatrixBuildsetRow = Pick<
  Buildset,
  "bsid" | "sourcestamps" | "reason" | "submitted_at" | "complete" | "results"
>;

export const matrixBuildsets = (limit: number): QuerySpec<MatrixBuildsetRow> => ({
  path: "buildsets",
  query: {
    order: "-bsid",
    limit,
    field: ["bsid", "sourcestamps", "reason", "submitted_at", "complete", "results"],
  },
  id: "bsid",
  events: ["buildsets/*/*"],
  compare: (a, b) => b.bsid - a.bsid,
  limit,
});
