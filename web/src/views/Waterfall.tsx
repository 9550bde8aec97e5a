// The waterfall: builders as columns, builds as boxes down a time axis (newest at the top).
// It reads a bounded window of the newest builds (BuildWindow: 200 a page, never all of
// them), pages back when scrolled to its end, renders only the boxes in view, and follows
// build events live. Arrow keys move between builds (Up/Down in a column, Left/Right across).
import { useEffect, useLayoutEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import type { KeyboardEvent } from "react";
import { Link } from "react-router";
import type { Builder } from "../api/generated";
import { BuildWindow, type WindowBuild } from "../app/buildWindow";
import { allBuilders } from "../app/queries";
import { useLive, useNow, useServices } from "../app/services";
import { BuilderFilter, useBuilderFilter } from "../components/BuilderFilter";
import { Empty, ErrorText, Loading, PageTitle, buildPath } from "../components/common";
import { resultName } from "../lib/results";
import { formatDuration } from "../lib/time";
import { layoutWaterfall, neighbour, type Box } from "../lib/waterfall";

const LANE = 84;
const TIME_WIDTH = 64;
const OVERSCAN = 400;

function useBuildWindow(): [BuildWindow, ReturnType<BuildWindow["getSnapshot"]>] {
  const { rest, live } = useServices();
  const window_ = useMemo(() => new BuildWindow(rest, live), [rest, live]);
  useEffect(() => {
    void window_.start();
    return () => window_.stop();
  }, [window_]);
  const state = useSyncExternalStore(window_.subscribe, window_.getSnapshot);
  return [window_, state];
}

function clock(epoch: number): string {
  const d = new Date(epoch * 1000);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function Waterfall() {
  const [buildWindow, state] = useBuildWindow();
  const builders = useLive(allBuilders);
  const filter = useBuilderFilter();
  const now = useNow(5000);
  const box = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, left: 0, width: 1200, height: 700 });
  const [focusId, setFocusId] = useState<number | null>(null);

  const byId = useMemo(
    () => new Map(builders.items.map((b) => [b.builderid, b])),
    [builders.items],
  );
  const inWindow = useMemo(() => {
    const ids = new Set(state.builds.map((b) => b.builderid));
    return [...ids];
  }, [state.builds]);
  const columns = useMemo(
    () =>
      inWindow
        .filter(
          (id) =>
            filter.matches(byId.get(id)) ||
            (!byId.has(id) && filter.name === "" && filter.tags.length === 0),
        )
        .sort((a, b) =>
          (byId.get(a)?.name ?? String(a)).localeCompare(byId.get(b)?.name ?? String(b)),
        ),
    [inWindow, byId, filter],
  );
  // Running builds grow with `now`; finished ones do not depend on it.
  const hasRunning = state.builds.some((b) => !b.complete);
  const layoutNow = hasRunning ? now : 0;
  const layout = useMemo(
    () =>
      layoutWaterfall(
        state.builds.filter((b) => b.started_at !== null) as (WindowBuild & {
          started_at: number;
        })[],
        columns,
        layoutNow || Date.now() / 1000,
      ),
    [state.builds, columns, layoutNow],
  );
  const boxById = useMemo(() => new Map(layout.boxes.map((b) => [b.build.buildid, b])), [layout]);

  useLayoutEffect(() => {
    const element = box.current;
    if (!element) return;
    const measure = () =>
      setView((v) => ({
        ...v,
        width: element.clientWidth || 1200,
        height: element.clientHeight || 700,
      }));
    measure();
    if (typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    if (focusId === null) return;
    const element = box.current?.querySelector<HTMLElement>(`[data-buildid="${focusId}"]`);
    element?.focus({ preventScroll: true });
  });

  const onScroll = () => {
    const element = box.current;
    if (!element) return;
    setView((v) => ({ ...v, top: element.scrollTop, left: element.scrollLeft }));
    if (element.scrollTop + element.clientHeight > element.scrollHeight - OVERSCAN)
      void buildWindow.loadOlder();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const key = event.key;
    if (key !== "ArrowUp" && key !== "ArrowDown" && key !== "ArrowLeft" && key !== "ArrowRight")
      return;
    const id = Number((event.target as HTMLElement).dataset.buildid);
    let from = boxById.get(id);
    if (!from) {
      // From the scrolling box itself: start at the newest build.
      from = layout.boxes.reduce<Box<WindowBuild> | undefined>(
        (best, b) => (!best || b.top < best.top ? b : best),
        undefined,
      );
      if (!from) return;
      event.preventDefault();
      setFocusId(from.build.buildid);
      return;
    }
    const to = neighbour(layout, from, key);
    event.preventDefault();
    if (!to) {
      if (key === "ArrowDown") void buildWindow.loadOlder();
      return;
    }
    const element = box.current;
    if (element) {
      const header = 48;
      if (to.top < element.scrollTop) element.scrollTop = Math.max(0, to.top - 20);
      else if (to.top + to.height + header > element.scrollTop + element.clientHeight)
        element.scrollTop = to.top + to.height + header - element.clientHeight + 20;
      const left = TIME_WIDTH + (layout.columns[to.column]?.offset ?? 0) * LANE;
      if (left < element.scrollLeft + TIME_WIDTH)
        element.scrollLeft = Math.max(0, left - TIME_WIDTH);
      else if (left + LANE > element.scrollLeft + element.clientWidth)
        element.scrollLeft = left + LANE - element.clientWidth + 20;
    }
    setFocusId(to.build.buildid);
  };

  const visibleBoxes = layout.boxes.filter((b) => {
    const left = (layout.columns[b.column]?.offset ?? 0) * LANE + b.lane * LANE;
    return (
      b.top + b.height >= view.top - OVERSCAN &&
      b.top <= view.top + view.height + OVERSCAN &&
      left + LANE >= view.left - OVERSCAN &&
      left <= view.left + view.width + OVERSCAN
    );
  });
  const visibleColumns = layout.columns.filter((c) => {
    const left = c.offset * LANE;
    return (
      left + c.lanes * LANE >= view.left - OVERSCAN && left <= view.left + view.width + OVERSCAN
    );
  });

  const shownBuilders = columns.map((id) => byId.get(id)).filter((b): b is Builder => !!b);
  return (
    <section>
      <PageTitle>Waterfall</PageTitle>
      <BuilderFilter
        filter={filter}
        builders={inWindow.map((id) => byId.get(id)).filter((b): b is Builder => !!b)}
        shown={shownBuilders.length}
        total={inWindow.length}
        noun="builders with recent builds"
      />
      <ErrorText error={state.error} />
      {state.builds.length === 0 ? (
        state.loading ? (
          <Loading what="builds" />
        ) : (
          <Empty>No builds yet.</Empty>
        )
      ) : (
        <div
          ref={box}
          className="waterfall"
          data-testid="waterfall"
          onScroll={onScroll}
          onKeyDown={onKeyDown}
          tabIndex={0}
          role="region"
          aria-label={`Waterfall of the newest ${state.builds.length} builds; arrow keys move between builds`}
        >
          <div className="wf-head" style={{ width: TIME_WIDTH + layout.width * LANE }}>
            <div className="wf-corner" style={{ width: TIME_WIDTH }}>
              time
            </div>
            <div className="wf-names" style={{ width: layout.width * LANE }}>
              {visibleColumns.map((c) => {
                const b = byId.get(c.builderid);
                return (
                  <Link
                    key={c.builderid}
                    to={`/builders/${c.builderid}`}
                    className="wf-name"
                    style={{ left: c.offset * LANE, width: c.lanes * LANE }}
                    title={b?.name}
                    tabIndex={-1}
                  >
                    {b?.name ?? `builder ${c.builderid}`}
                  </Link>
                );
              })}
            </div>
          </div>
          <div
            className="wf-body"
            style={{ width: TIME_WIDTH + layout.width * LANE, height: layout.height }}
          >
            <div
              className="wf-times"
              style={{ width: TIME_WIDTH, height: layout.height }}
              aria-hidden="true"
            >
              {layout.marks
                .filter(
                  (m) => m.y >= view.top - OVERSCAN && m.y <= view.top + view.height + OVERSCAN,
                )
                .map((m) => (
                  <span key={m.time} className="wf-time" style={{ top: m.y }}>
                    {clock(m.time)}
                  </span>
                ))}
            </div>
            <div
              className="wf-builds"
              style={{ width: layout.width * LANE, height: layout.height }}
            >
              {visibleBoxes.map((b) => {
                const build = b.build;
                const name = resultName(build.results, build.complete);
                const builderName = byId.get(build.builderid)?.name ?? String(build.builderid);
                const seconds =
                  build.started_at === null ? null : (build.complete_at ?? now) - build.started_at;
                return (
                  <Link
                    key={build.buildid}
                    to={buildPath(build.builderid, build.number)}
                    className={`wf-build result-${name}`}
                    data-buildid={build.buildid}
                    data-result={name}
                    tabIndex={
                      focusId === build.buildid || (focusId === null && b === layout.boxes[0])
                        ? 0
                        : -1
                    }
                    onFocus={() => setFocusId(build.buildid)}
                    style={{
                      left: ((layout.columns[b.column]?.offset ?? 0) + b.lane) * LANE + 2,
                      top: b.top,
                      height: Math.max(b.height - 2, 20),
                      width: LANE - 4,
                    }}
                    title={`${builderName} #${build.number}: ${name}${build.state_string ? ` (${build.state_string})` : ""}${seconds !== null ? `, ${formatDuration(seconds)}` : ""}`}
                    aria-label={`${builderName} #${build.number}: ${name}`}
                  >
                    #{build.number}
                  </Link>
                );
              })}
            </div>
          </div>
        </div>
      )}
      <p className="muted wf-foot">
        {state.builds.length} builds loaded
        {state.exhausted ? " (all)" : ""}.{" "}
        {!state.exhausted ? (
          <button
            type="button"
            className="small"
            disabled={state.loading}
            onClick={() => void buildWindow.loadOlder()}
            data-testid="load-older"
          >
            {state.loading ? "Loading…" : "Load older builds"}
          </button>
        ) : null}
      </p>
    </section>
  );
}
