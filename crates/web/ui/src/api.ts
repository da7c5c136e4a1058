// The one way the dashboard talks to Steward: its public HTTP API, same origin, with the
// browser's session cookie. Errors become `ApiError` carrying the server's own message, so
// every view can show it inline.

/** An HTTP error with the message the server gave (never a generic "request failed"). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null,
    /** The parsed response body, for errors that carry more (a policy's diagnostics). */
    readonly body: unknown = null,
  ) {
    super(message);
    this.name = "ApiError";
  }

  get forbidden(): boolean {
    return this.status === 403;
  }
}

let csrfToken: string | null = null;

/** Set once from `/v1/me`; sent as `X-CSRF-Token` on every unsafe request. */
export function setCsrfToken(token: string | null | undefined): void {
  csrfToken = token ?? null;
}

export const SIGN_IN_URL = "/auth/sign-in?return_to=/";

/** Where an expired or missing session goes: the server-rendered sign-in page. */
function goSignIn(): void {
  window.location.assign(SIGN_IN_URL);
}

type Json = unknown;

/**
 * Reads the message of any Steward error body: `{"error":{"code","message"}}`, the
 * Analytics API's `{"detail": "..."}`, `{"detail": {"code","message"}}` (403s) and FastAPI's
 * `{"detail": [{"loc","msg"}]}` (422s).
 */
export function errorMessage(body: Json, fallback: string): { message: string; code: string | null } {
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    const err = b.error;
    if (err && typeof err === "object") {
      const e = err as Record<string, unknown>;
      if (typeof e.message === "string") return { message: e.message, code: str(e.code) };
    }
    if (typeof err === "string") return { message: err, code: str(b.code) };
    const detail = b.detail;
    if (typeof detail === "string") return { message: detail, code: str(b.code) };
    if (Array.isArray(detail)) {
      const parts = detail.map((d) => {
        if (d && typeof d === "object") {
          const item = d as Record<string, unknown>;
          const loc = Array.isArray(item.loc) ? item.loc.filter((l) => l !== "query" && l !== "body").join(".") : "";
          const msg = typeof item.msg === "string" ? item.msg : JSON.stringify(d);
          return loc ? `${loc}: ${msg}` : msg;
        }
        return String(d);
      });
      return { message: parts.join("; "), code: "validation_error" };
    }
    if (detail && typeof detail === "object") {
      const d = detail as Record<string, unknown>;
      if (typeof d.message === "string") return { message: d.message, code: str(d.code) };
    }
    if (typeof b.message === "string") return { message: b.message, code: str(b.code) };
  }
  return { message: fallback, code: null };
}

function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "DELETE";
  body?: unknown;
  signal?: AbortSignal;
  /** `/v1/me` handles its own 401 (it decides whether to redirect). */
  noRedirectOn401?: boolean;
}

/** Sends a request; resolves with the parsed JSON body (or `null` for 204). */
export async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const method = opts.method ?? "GET";
  const headers: Record<string, string> = { Accept: "application/json" };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, "Steward is not reachable (network error). Check that the server is running.", "network");
  }
  if (res.status === 204) return null as T;
  const text = await res.text();
  let body: Json = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (!res.ok) {
    if (res.status === 401 && !opts.noRedirectOn401) goSignIn();
    const fallback = typeof body === "string" && body ? body : `${res.status} ${res.statusText || "error"}`;
    const { message, code } = errorMessage(body, fallback);
    throw new ApiError(res.status, withDates(message), code, body);
  }
  return body as T;
}

/**
 * The lookback error names its limit in Unix seconds ("on or after 1787443200"); people read
 * dates, so the UTC day is added next to the number.
 */
function withDates(message: string): string {
  return message.replace(/\b(on or after|before|after) (\d{9,10})\b/g, (_m, word: string, secs: string) => {
    const day = new Date(Number(secs) * 1000).toISOString().slice(0, 10);
    return `${word} ${day} (${secs})`;
  });
}

/** Builds `path?k=v&...`, skipping empty values. */
export function withQuery(path: string, params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** Path segment escaping for names and emails in URLs. */
export const seg = encodeURIComponent;
