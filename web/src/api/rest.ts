// The REST client: GET /api/v2/... (compact JSON, repeated query parameters, the
// {"<plural>": [...], "meta": {...}} envelope) and JSON-RPC 2.0 control calls by POST.

export type QueryValue = string | number | boolean;
export type Query = Record<string, QueryValue | readonly QueryValue[] | undefined | null>;

export interface Page<T> {
  items: T[];
  meta: { total?: number };
}

export const API_ROOT = "/api/v2/";

/** `/api/v2/<path>?a=1&field=x&field=y`: lists become repeated parameters, in order. */
export function apiUrl(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    const values: readonly QueryValue[] = Array.isArray(value) ? value : [value as QueryValue];
    for (const v of values) params.append(name, String(v));
  }
  const search = params.toString();
  return API_ROOT + path.replace(/^\/+/, "") + (search ? `?${search}` : "");
}

/** Reads the envelope: the one key besides `meta` holds the items. */
export function parseEnvelope<T>(body: unknown): Page<T> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ApiError(0, "the answer is not a JSON object");
  }
  const record = body as Record<string, unknown>;
  const keys = Object.keys(record).filter((k) => k !== "meta");
  if (keys.length !== 1) throw new ApiError(0, `unexpected envelope keys: ${keys.join(", ")}`);
  const items = record[keys[0] as string];
  if (!Array.isArray(items)) throw new ApiError(0, `'${keys[0]}' is not a list`);
  const meta = (record.meta ?? {}) as { total?: number };
  return { items: items as T[], meta };
}

/** A GET that failed: the HTTP status and the server's `{"error": ...}` text. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/**
 * A control call that failed. `fieldErrors` holds the force form's validation errors
 * (message `{fullName: text}`, JSON-RPC code -32602).
 */
export class ControlError extends Error {
  constructor(
    readonly status: number,
    readonly code: number | null,
    message: string,
    readonly fieldErrors: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ControlError";
  }

  /** Refused by the authorization rules (not by the CSRF checks, which say "cross-site"). */
  get isForbidden(): boolean {
    return this.status === 403 && !this.message.startsWith("cross-site");
  }
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export class RestClient {
  private nextId = 1;

  constructor(private readonly fetchImpl: FetchLike = (input, init) => fetch(input, init)) {}

  async get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<Page<T>> {
    const response = await this.fetchImpl(apiUrl(path, query), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      signal,
    });
    const text = await response.text();
    if (!response.ok) throw new ApiError(response.status, errorText(text, response.status));
    return parseEnvelope<T>(JSON.parse(text));
  }

  /** POSTs `{"jsonrpc": "2.0", "method", "params", "id"}` to the endpoint; resolves to `result`. */
  async control<R = unknown>(path: string, method: string, params: object = {}): Promise<R> {
    const id = this.nextId++;
    const response = await this.fetchImpl(apiUrl(path), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ jsonrpc: "2.0", method, id, params }),
    });
    const text = await response.text();
    let body: { result?: R; error?: { code?: number; message?: unknown } } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new ControlError(response.status, null, text.trim() || `HTTP ${response.status}`);
    }
    if (response.ok && !body.error) return body.result as R;
    const error = body.error ?? {};
    const message = error.message;
    if (typeof message === "object" && message !== null) {
      const fields = Object.fromEntries(
        Object.entries(message as Record<string, unknown>).map(([k, v]) => [k, String(v)]),
      );
      throw new ControlError(
        response.status,
        error.code ?? null,
        Object.entries(fields)
          .map(([k, v]) => `${k}: ${v}`)
          .join("; "),
        fields,
      );
    }
    throw new ControlError(
      response.status,
      error.code ?? null,
      typeof message === "string" ? message : `HTTP ${response.status}`,
    );
  }
}

function errorText(text: string, status: number): string {
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === "string") return parsed.error;
  } catch {
    // not JSON: use the text itself
  }
  return text.trim() || `HTTP ${status}`;
}
