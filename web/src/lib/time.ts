// Durations and times as people read them.

/** "850 ms", "42 s", "3 min 5 s", "2 h 4 min", "3 d 2 h". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const s = Math.floor(seconds);
  const days = Math.floor(s / 86400);
  const hours = Math.floor((s % 86400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (days > 0) return `${days} d ${hours} h`;
  if (hours > 0) return `${hours} h ${minutes} min`;
  return `${minutes} min ${rest} s`;
}

/** "just now", "5 min ago", "3 h ago", "2 d ago", or a date for older times. */
export function formatAgo(
  epoch: number | null | undefined,
  now: number = Date.now() / 1000,
): string {
  if (epoch === null || epoch === undefined) return "";
  const age = now - epoch;
  if (age < 45) return "just now";
  if (age < 3600) return `${Math.round(age / 60)} min ago`;
  if (age < 86400) return `${Math.round(age / 3600)} h ago`;
  if (age < 86400 * 14) return `${Math.round(age / 86400)} d ago`;
  return new Date(epoch * 1000).toISOString().slice(0, 10);
}

/** A full local date and time, for titles. */
export function formatTime(epoch: number | null | undefined): string {
  if (epoch === null || epoch === undefined) return "";
  return new Date(epoch * 1000).toLocaleString();
}

/** Seconds from `start` to `end`, or to `now` while running; null when not started. */
export function elapsed(
  start: number | null | undefined,
  end: number | null | undefined,
  now: number = Date.now() / 1000,
): number | null {
  if (start === null || start === undefined) return null;
  return Math.max(0, (end ?? now) - start);
}
