// Buildbot's result codes (data-model.md §9) and how the UI names them.

export const RESULT_NAMES = [
  "success",
  "warnings",
  "failure",
  "skipped",
  "exception",
  "retry",
  "cancelled",
] as const;

export type ResultName = (typeof RESULT_NAMES)[number] | "running" | "pending";

/** The name for a result code; `running` for a started, incomplete build or step. */
export function resultName(results: number | null | undefined, complete = true): ResultName {
  if (results === null || results === undefined || results < 0) {
    return complete ? "pending" : "running";
  }
  return RESULT_NAMES[results] ?? "exception";
}
