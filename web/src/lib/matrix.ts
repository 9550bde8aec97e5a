// Joins the recent builds to the buildsets (through their requests) and to the changes
// (through the buildsets' sourcestamps), for the console (changes × builders) and the grid
// (builders × buildsets). Everything here comes from bounded, live windows of each collection;
// a request without a build yet is shown as waiting.

export interface MatrixBuild {
  buildid: number;
  number: number;
  builderid: number;
  buildrequestid: number;
  results: number | null;
  complete: boolean;
}

export interface MatrixRequest {
  buildrequestid: number;
  buildsetid: number;
  builderid: number;
  complete: boolean;
  results: number | null;
}

export interface MatrixBuildset {
  bsid: number;
  sourcestamps: readonly { ssid: number }[];
}

export interface MatrixChange {
  changeid: number;
  sourcestamp: { ssid: number } | null;
}

/** What a cell shows: the builds of its requests, or a request still waiting. */
export interface Cell<B> {
  builds: B[];
  /** Requests of the cell that have no build (yet, or never: cancelled or skipped). */
  waiting: MatrixRequest[];
}

export type Row<B> = Map<number, Cell<B>>;

function cellOf<B>(row: Row<B>, builderid: number): Cell<B> {
  let cell = row.get(builderid);
  if (!cell) {
    cell = { builds: [], waiting: [] };
    row.set(builderid, cell);
  }
  return cell;
}

/** Per buildset: builder id → its builds and its requests without a build. */
export function byBuildset<B extends MatrixBuild>(
  requests: readonly MatrixRequest[],
  builds: readonly B[],
): Map<number, Row<B>> {
  const requestById = new Map(requests.map((r) => [r.buildrequestid, r]));
  const built = new Set<number>();
  const rows = new Map<number, Row<B>>();
  for (const build of builds) {
    const request = requestById.get(build.buildrequestid);
    if (!request) continue;
    built.add(request.buildrequestid);
    let row = rows.get(request.buildsetid);
    if (!row) rows.set(request.buildsetid, (row = new Map()));
    cellOf(row, build.builderid).builds.push(build);
  }
  for (const request of requests) {
    if (built.has(request.buildrequestid)) continue;
    // A completed request without a build was cancelled or skipped: nothing to show.
    if (request.complete) continue;
    let row = rows.get(request.buildsetid);
    if (!row) rows.set(request.buildsetid, (row = new Map()));
    cellOf(row, request.builderid).waiting.push(request);
  }
  for (const row of rows.values())
    for (const cell of row.values()) cell.builds.sort((a, b) => b.buildid - a.buildid);
  return rows;
}

/** Per change: builder id → the builds of the buildsets built from its sourcestamp. */
export function byChange<B extends MatrixBuild>(
  changes: readonly MatrixChange[],
  buildsets: readonly MatrixBuildset[],
  perBuildset: Map<number, Row<B>>,
): Map<number, Row<B>> {
  const changesBySsid = new Map<number, number[]>();
  for (const change of changes) {
    const ssid = change.sourcestamp?.ssid;
    if (ssid === undefined) continue;
    const list = changesBySsid.get(ssid) ?? [];
    list.push(change.changeid);
    changesBySsid.set(ssid, list);
  }
  const rows = new Map<number, Row<B>>();
  for (const buildset of buildsets) {
    const row = perBuildset.get(buildset.bsid);
    if (!row) continue;
    for (const { ssid } of buildset.sourcestamps) {
      for (const changeid of changesBySsid.get(ssid) ?? []) {
        let target = rows.get(changeid);
        if (!target) rows.set(changeid, (target = new Map()));
        for (const [builderid, cell] of row) {
          const into = cellOf(target, builderid);
          into.builds.push(...cell.builds);
          into.waiting.push(...cell.waiting);
        }
      }
    }
  }
  for (const row of rows.values())
    for (const cell of row.values()) cell.builds.sort((a, b) => b.buildid - a.buildid);
  return rows;
}

/** The builders that have something in any of the rows, in the given order. */
export function usedBuilders<B>(rows: Iterable<Row<B>>, order: readonly number[]): number[] {
  const used = new Set<number>();
  for (const row of rows) for (const builderid of row.keys()) used.add(builderid);
  const known = order.filter((id) => used.has(id));
  const unknown = [...used].filter((id) => !order.includes(id)).sort((a, b) => a - b);
  return [...known, ...unknown];
}
