// A log, virtualised: only the lines in view are rendered and only their pages are fetched
// (`logs/N/contents?offset&limit`), so a log of millions of lines opens at once. It follows
// the end while the log grows (live `num_lines` from the log's events), colours ANSI escape
// sequences and stdio streams, links every line (#L123), searches the loaded lines, and
// offers the raw download.
import {
  memo,
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
  type CSSProperties,
} from "react";
import type { Log, LogChunk } from "../api/generated";
import { apiUrl } from "../api/rest";
import { parseAnsi, segmentPresentation, stripAnsi } from "../lib/ansi";
import { LogLines, splitContent } from "../lib/logLines";
import { scrollTopFor, virtualWindow } from "../lib/virtual";
import { useServices } from "../app/services";

const LINE_HEIGHT = 20;
const STREAMS: Record<string, string> = { o: "stdout", e: "stderr", h: "header" };

interface Props {
  log: Log;
  /** URL of the log's own page: line numbers link to `${linkBase}#L<n>`. */
  linkBase: string;
  /** 1-based line to show highlighted and scrolled to. */
  highlight?: number | null;
  height: string;
}

export function LogViewer({ log, linkBase, highlight, height }: Props) {
  const { rest } = useServices();
  const lines = useMemo(
    () =>
      new LogLines(async (offset, limit) => {
        const page = await rest.get<LogChunk>(`logs/${log.logid}/contents`, { offset, limit });
        return splitContent(page.items[0]?.content ?? "");
      }),
    [rest, log.logid],
  );
  useSyncExternalStore(lines.subscribe, lines.getVersion);
  const box = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(400);
  const [follow, setFollow] = useState(!log.complete && !highlight);
  const [search, setSearch] = useState("");
  const [matchIndex, setMatchIndex] = useState(0);
  const count = log.num_lines;
  const isStdio = log.type === "s";

  useEffect(() => lines.setNumLines(count), [lines, count]);

  useLayoutEffect(() => {
    const element = box.current;
    if (!element) return;
    const measure = () => setViewport(element.clientHeight || 400);
    measure();
    if (typeof ResizeObserver === "undefined") return;
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  const win = virtualWindow({
    count,
    rowHeight: LINE_HEIGHT,
    scrollTop,
    viewportHeight: viewport,
    overscan: 30,
  });
  useEffect(() => lines.ensure(win.first, win.last), [lines, win.first, win.last, count]);

  const scrollToLine = useCallback(
    (index: number, center = true) => {
      const element = box.current;
      if (!element) return;
      const target = center ? index - Math.floor(element.clientHeight / LINE_HEIGHT / 2) : index;
      element.scrollTop = scrollTopFor(
        Math.max(0, target),
        count,
        LINE_HEIGHT,
        element.clientHeight,
      );
      setScrollTop(element.scrollTop);
    },
    [count],
  );

  // Follow the end of a growing log.
  useLayoutEffect(() => {
    if (!follow) return;
    const element = box.current;
    if (!element) return;
    element.scrollTop = element.scrollHeight;
    setScrollTop(element.scrollTop);
  }, [follow, count, viewport]);

  // Jump to the highlighted line once the log is long enough to hold it.
  const jumped = useRef<number | null>(null);
  useEffect(() => {
    if (!highlight || highlight > count || jumped.current === highlight) return;
    jumped.current = highlight;
    setFollow(false);
    scrollToLine(highlight - 1);
  }, [highlight, count, scrollToLine]);

  const version = lines.getVersion();
  const matches = useMemo(() => {
    if (search.length < 2) return [];
    const needle = search.toLowerCase();
    return lines.search((line) => stripAnsi(line).toLowerCase().includes(needle));
    // `version`: the loaded lines changed.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [lines, search, version]);

  const goToMatch = (step: number) => {
    if (matches.length === 0) return;
    const next = (matchIndex + step + matches.length) % matches.length;
    setMatchIndex(next);
    setFollow(false);
    scrollToLine(matches[next] as number);
  };

  const onScroll = () => {
    const element = box.current;
    if (!element) return;
    setScrollTop(element.scrollTop);
    const atBottom = element.scrollTop + element.clientHeight >= element.scrollHeight - LINE_HEIGHT;
    if (!atBottom && follow) setFollow(false);
    else if (atBottom && !follow && !log.complete) setFollow(true);
  };

  const matchSet = useMemo(() => new Set(matches), [matches]);
  const current = matches[matchIndex];
  const rows = [];
  for (let i = win.first; i < win.last; i++) {
    rows.push(
      <LogLine
        key={i}
        index={i}
        text={lines.line(i)}
        isStdio={isStdio}
        top={win.top(i)}
        href={`${linkBase}#L${i + 1}`}
        highlighted={highlight === i + 1}
        match={matchSet.has(i) ? (i === current ? "current" : "match") : null}
      />,
    );
  }

  if (log.type === "h") return <HtmlLog logid={log.logid} />;
  return (
    <div className="log-viewer">
      <div className="log-toolbar">
        <span className="muted">
          {count.toLocaleString()} lines{log.complete ? "" : " (growing)"}
        </span>
        <label className="log-search">
          <span className="sr-only">Search the loaded lines</span>
          <input
            type="search"
            placeholder="Search loaded lines"
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              setMatchIndex(0);
            }}
            onKeyDown={(e) => {
              if (e.key === "Enter") {
                e.preventDefault();
                goToMatch(e.shiftKey ? -1 : 1);
              }
            }}
          />
        </label>
        {search.length >= 2 ? (
          <span className="muted" aria-live="polite">
            {matches.length === 0 ? "no match" : `${matchIndex + 1} of ${matches.length}`} in{" "}
            {lines.loadedLines.toLocaleString()} loaded lines
          </span>
        ) : null}
        <button
          type="button"
          className="small"
          onClick={() => goToMatch(-1)}
          disabled={matches.length === 0}
          aria-label="Previous match"
        >
          ↑
        </button>
        <button
          type="button"
          className="small"
          onClick={() => goToMatch(1)}
          disabled={matches.length === 0}
          aria-label="Next match"
        >
          ↓
        </button>
        {log.complete ? null : (
          <button
            type="button"
            className="small"
            aria-pressed={follow}
            onClick={() => setFollow(!follow)}
          >
            {follow ? "Following" : "Follow"}
          </button>
        )}
        <a className="button small" href={apiUrl(`logs/${log.logid}/raw`)} download={log.slug}>
          Download
        </a>
      </div>
      {lines.error ? <p className="error-text">{lines.error}</p> : null}
      <div
        ref={box}
        className="log-lines"
        style={
          {
            height: `min(${height}, ${Math.max(count, 3) * LINE_HEIGHT + 4}px)`,
            "--line-number-width": `${Math.max(4, String(count).length + 1)}ch`,
          } as CSSProperties
        }
        onScroll={onScroll}
        tabIndex={0}
        role="log"
        aria-label={`Log ${log.name}`}
        data-testid="log-lines"
      >
        <div style={{ height: win.totalHeight, position: "relative" }}>{rows}</div>
      </div>
    </div>
  );
}

const LogLine = memo(function LogLine({
  index,
  text,
  isStdio,
  top,
  href,
  highlighted,
  match,
}: {
  index: number;
  text: string | undefined;
  isStdio: boolean;
  top: number;
  href: string;
  highlighted: boolean;
  match: "match" | "current" | null;
}) {
  let stream = "";
  let body = text ?? "";
  if (isStdio && text !== undefined && text.length > 0) {
    stream = STREAMS[text[0] as string] ?? "";
    body = text.slice(1);
  }
  const { segments } = parseAnsi(body);
  const classes = ["log-line", stream, highlighted ? "highlighted" : "", match ?? ""]
    .filter(Boolean)
    .join(" ");
  return (
    <div
      className={classes}
      style={{ top, height: LINE_HEIGHT }}
      id={`L${index + 1}`}
      data-line={index + 1}
    >
      <a className="line-number" href={href} aria-label={`Line ${index + 1}`}>
        {index + 1}
      </a>
      <span className="line-text">
        {text === undefined ? (
          <span className="loading-line">…</span>
        ) : (
          segments.map((segment, i) => {
            const { className, css } = segmentPresentation(segment.style);
            return className || Object.keys(css).length > 0 ? (
              <span key={i} className={className} style={css}>
                {segment.text}
              </span>
            ) : (
              segment.text
            );
          })
        )}
      </span>
    </div>
  );
});

/** HTML logs are shown in a sandboxed frame (no scripts, no same-origin access). */
function HtmlLog({ logid }: { logid: number }) {
  const { rest } = useServices();
  const [html, setHtml] = useState<string | null>(null);
  useEffect(() => {
    let cancelled = false;
    void rest.get<LogChunk>(`logs/${logid}/contents`).then((page) => {
      if (!cancelled) setHtml(page.items[0]?.content ?? "");
    });
    return () => {
      cancelled = true;
    };
  }, [rest, logid]);
  if (html === null) return <p className="muted">Loading…</p>;
  return <iframe className="html-log" sandbox="" srcDoc={html} title="HTML log" />;
}
