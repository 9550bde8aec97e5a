// The live queries the views share (same key → one REST fetch and one subscription).
import type { Build, Builder, BuildRequest, Worker } from "../api/generated";
import type { QuerySpec } from "../api/store";

export const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);

/** Every builder (names, tags, descriptions): one request, ~150 bytes per builder. */
export const allBuilders: QuerySpec<Builder> = {
  path: "builders",
  id: "builderid",
  events: ["builders/*/*"],
  compare: byName,
};

export const allWorkers: QuerySpec<Worker> = {
  path: "workers",
  id: "workerid",
  events: ["workers/*/*"],
  compare: byName,
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
