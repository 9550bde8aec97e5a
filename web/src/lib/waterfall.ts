// The waterfall's geometry: builders are columns, time runs downwards (newest at the top).
// Time is drawn to scale (PX_PER_SECOND) but idle stretches are compressed to at most
// MAX_GAP pixels, and every build gets at least MIN_BOX pixels so that it can be read and
// clicked. Builds of one builder that overlap in time (several workers) get lanes side by side.

export interface WaterfallBuild {
  buildid: number;
  builderid: number;
  started_at: number;
  complete_at: number | null;
}

export interface Box<B> {
  build: B;
  column: number;
  lane: number;
  top: number;
  height: number;
}

export interface Column {
  builderid: number;
  lanes: number;
  /** Offset in lane units from the first column. */
  offset: number;
}

export interface Layout<B> {
  columns: Column[];
  boxes: Box<B>[];
  height: number;
  /** Time labels down the left side: y and epoch seconds. */
  marks: { y: number; time: number }[];
  /** Lane units across all columns. */
  width: number;
}

export const PX_PER_SECOND = 0.5;
export const MIN_BOX = 24;
export const MIN_GAP = 2;
export const MAX_GAP = 90;
const MARK_SPACING = 72;

export function layoutWaterfall<B extends WaterfallBuild>(
  builds: readonly B[],
  columnOrder: readonly number[],
  now: number,
): Layout<B> {
  const columnIndex = new Map(columnOrder.map((id, i) => [id, i]));
  const shown = builds.filter((b) => columnIndex.has(b.builderid) && b.started_at !== null);
  const end = (b: B) => Math.max(b.complete_at ?? now, b.started_at);
  const starts = new Set(shown.map((b) => b.started_at));
  const times = [...new Set([...starts, ...shown.map(end)])].sort((a, b) => b - a);
  const y = new Map<number, number>();
  let at = 0;
  times.forEach((t, i) => {
    if (i > 0) {
      const gap = Math.min(
        MAX_GAP,
        Math.max(MIN_GAP, ((times[i - 1] as number) - t) * PX_PER_SECOND),
      );
      at += starts.has(t) ? Math.max(gap, MIN_BOX) : gap;
    }
    y.set(t, at);
  });
  const height = at + MIN_BOX;

  // Lanes: within a column, boxes in order of their top take the first lane that is free.
  const byColumn = new Map<number, Box<B>[]>();
  for (const build of shown) {
    const top = y.get(end(build)) as number;
    const bottom = Math.max(y.get(build.started_at) as number, top + MIN_BOX);
    const column = columnIndex.get(build.builderid) as number;
    const box: Box<B> = { build, column, lane: 0, top, height: bottom - top };
    const list = byColumn.get(column) ?? [];
    list.push(box);
    byColumn.set(column, list);
  }
  const boxes: Box<B>[] = [];
  const lanesOf = new Map<number, number>();
  for (const [column, list] of byColumn) {
    list.sort((a, b) => a.top - b.top || b.build.buildid - a.build.buildid);
    const laneBottoms: number[] = [];
    for (const box of list) {
      let lane = laneBottoms.findIndex((bottom) => bottom <= box.top);
      if (lane < 0) lane = laneBottoms.length;
      laneBottoms[lane] = box.top + box.height;
      box.lane = lane;
      boxes.push(box);
    }
    lanesOf.set(column, Math.max(1, laneBottoms.length));
  }
  let offset = 0;
  const columns = columnOrder.map((builderid, i) => {
    const lanes = lanesOf.get(i) ?? 1;
    const column = { builderid, lanes, offset };
    offset += lanes;
    return column;
  });

  const marks: { y: number; time: number }[] = [];
  let lastMark = -Infinity;
  for (const t of times) {
    const ty = y.get(t) as number;
    if (ty - lastMark >= MARK_SPACING) {
      marks.push({ y: ty, time: t });
      lastMark = ty;
    }
  }
  return { columns, boxes, height, marks, width: offset };
}

/** The box to move to from `from` with an arrow key (null: none that way). */
export function neighbour<B extends WaterfallBuild>(
  layout: Layout<B>,
  from: Box<B>,
  key: "ArrowUp" | "ArrowDown" | "ArrowLeft" | "ArrowRight",
): Box<B> | null {
  const middle = from.top + from.height / 2;
  if (key === "ArrowUp" || key === "ArrowDown") {
    const same = layout.boxes.filter(
      (b) => b.column === from.column && (key === "ArrowUp" ? b.top < from.top : b.top > from.top),
    );
    same.sort((a, b) => (key === "ArrowUp" ? b.top - a.top : a.top - b.top));
    return same[0] ?? null;
  }
  const step = key === "ArrowLeft" ? -1 : 1;
  for (let c = from.column + step; c >= 0 && c < layout.columns.length; c += step) {
    const candidates = layout.boxes.filter((b) => b.column === c);
    if (candidates.length === 0) continue;
    candidates.sort(
      (a, b) => Math.abs(a.top + a.height / 2 - middle) - Math.abs(b.top + b.height / 2 - middle),
    );
    return candidates[0] ?? null;
  }
  return null;
}
