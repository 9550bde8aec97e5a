// Small pieces every view uses: result badges, times, loading and error states.
import type { ReactNode } from "react";
import { Link } from "react-router";
import { resultName } from "../lib/results";
import { elapsed, formatAgo, formatDuration, formatTime } from "../lib/time";
import { useNow } from "../app/services";

export function ResultBadge({
  results,
  complete = true,
  text,
}: {
  results: number | null | undefined;
  complete?: boolean;
  text?: string;
}) {
  const name = resultName(results, complete);
  return (
    <span className={`badge result-${name}`} data-result={name}>
      {text ?? name}
    </span>
  );
}

// A glyph per result, so that results differ by more than their colour.
const GLYPHS: Record<string, string> = {
  success: "✓",
  warnings: "!",
  failure: "✗",
  skipped: "–",
  exception: "!",
  retry: "↻",
  cancelled: "⊘",
  running: "▶",
  pending: "…",
};

/** A small coloured square with the result in its title (for rows of recent results). */
export function ResultDot({
  results,
  complete,
  to,
  label,
  data,
}: {
  results: number | null;
  complete: boolean;
  to: string;
  label: string;
  /** data-* attributes (e.g. a cell's place for arrow keys). */
  data?: Record<`data-${string}`, string | number>;
}) {
  const name = resultName(results, complete);
  return (
    <Link
      {...data}
      to={to}
      className={`dot result-${name}`}
      title={`${label}: ${name}`}
      aria-label={`${label}: ${name}`}
    >
      <span aria-hidden="true">{GLYPHS[name] ?? ""}</span>
    </Link>
  );
}

export function Ago({ epoch }: { epoch: number | null | undefined }) {
  const now = useNow(30_000);
  if (epoch === null || epoch === undefined) return null;
  return (
    <time dateTime={new Date(epoch * 1000).toISOString()} title={formatTime(epoch)}>
      {formatAgo(epoch, now)}
    </time>
  );
}

/** Duration from start to end, ticking while `end` is null. */
export function Duration({
  start,
  end,
}: {
  start: number | null | undefined;
  end: number | null | undefined;
}) {
  const now = useNow(end === null || end === undefined ? 1000 : 3_600_000);
  const seconds = elapsed(start, end, now);
  if (seconds === null) return null;
  return <span className="duration">{formatDuration(seconds)}</span>;
}

export function Loading({ what }: { what?: string }) {
  return (
    <p className="muted" role="status">
      Loading{what ? ` ${what}` : ""}…
    </p>
  );
}

export function ErrorText({ error }: { error: string | null }) {
  if (!error) return null;
  return (
    <p className="error-text" role="alert">
      {error}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="muted empty">{children}</p>;
}

export function Tags({
  tags,
  onPick,
}: {
  tags: readonly string[];
  onPick?: (tag: string) => void;
}) {
  if (tags.length === 0) return null;
  return (
    <span className="tags">
      {tags.map((tag) =>
        onPick ? (
          <button
            type="button"
            key={tag}
            className="tag"
            onClick={() => onPick(tag)}
            title={`Show builders tagged ${tag}`}
          >
            {tag}
          </button>
        ) : (
          <span key={tag} className="tag">
            {tag}
          </span>
        ),
      )}
    </span>
  );
}

export function PageTitle({ children, actions }: { children: ReactNode; actions?: ReactNode }) {
  return (
    <div className="page-title">
      <h1>{children}</h1>
      {actions ? <div className="actions">{actions}</div> : null}
    </div>
  );
}

export function buildPath(builderid: number, number: number): string {
  return `/builders/${builderid}/builds/${number}`;
}
