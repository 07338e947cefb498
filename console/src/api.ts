/**
 * The console's one way to the API: Hono's typed client (`hc<AppType>`), over a fetch that adds
 * the access token, renews it once on a 401 and retries, and turns failures into errors a page
 * can show: `ApiError` from a problem+json answer (its `detail`, and its field errors by field),
 * `NetworkError` when the API cannot be reached (down, or CORS refused this origin).
 */
import { hc } from "hono/client";
import type { AppType } from "../../src/core/http/app.ts";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    /** Field errors by the field's name as the request sent it. */
    readonly fields: Record<string, string>,
  ) {
    super(detail);
  }
}

export class NetworkError extends Error {}

/** The API's origin: "" is this page's own; a host serving the console apart sets it. */
let apiBase = "";

function apiOrigin(): string {
  return apiBase || location.origin;
}

/**
 * Reads /console-config.json from wherever the console is served: `{"api_base": "https://…"}`
 * points a console hosted apart at its API (no rebuild); the API's own copy says "" (itself).
 */
export async function loadConsoleConfig(): Promise<void> {
  try {
    const res = await fetch("/console-config.json", { headers: { Accept: "application/json" } });
    if (!res.ok) return;
    const config = (await res.json()) as { api_base?: unknown };
    if (typeof config.api_base === "string") apiBase = config.api_base.replace(/\/+$/, "");
  } catch {
    // No configuration: the API is this origin.
  }
}

/** What the token holder gives this module (src/session.ts), set once at start-up. */
export interface TokenSource {
  accessToken(): string;
  /** Renews the access token; false when the session is over. */
  renew(): Promise<boolean>;
}

let tokens: TokenSource = { accessToken: () => "", renew: async () => false };

export function useTokens(source: TokenSource): void {
  tokens = source;
}

async function reach(input: RequestInfo | URL, init: RequestInit): Promise<Response> {
  try {
    return await fetch(input, init);
  } catch {
    throw new NetworkError(
      `Cannot reach the bank at ${apiOrigin()}. Check your connection and try again. ` +
        `(If this console is hosted apart from the API, the API must list ${location.origin} in ALLOWED_ORIGINS.)`,
    );
  }
}

async function authorizedFetch(input: RequestInfo | URL, init: RequestInit = {}) {
  const attempt = () => {
    const headers = new Headers(init.headers);
    headers.set("Accept", "application/json");
    const token = tokens.accessToken();
    if (token) headers.set("Authorization", `Bearer ${token}`);
    return reach(input, { ...init, headers });
  };
  const res = await attempt();
  if (res.status === 401 && tokens.accessToken() && (await tokens.renew())) return attempt();
  return res;
}

async function plainFetch(input: RequestInfo | URL, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set("Accept", "application/json");
  return reach(input, { ...init, headers });
}

/** The typed client, with the access token (and one renewal on a 401). */
export const api = () => hc<AppType>(apiOrigin(), { fetch: authorizedFetch });
/** The typed client without tokens: sign-up, login, renewal, verification. */
export const publicApi = () => hc<AppType>(apiOrigin(), { fetch: plainFetch });

/** The ApiError of a failed answer (problem+json; anything else gets a generic detail). */
export async function problemOf(res: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  try {
    body = (await res.json()) as Record<string, unknown>;
  } catch {
    // Not JSON: the status says it.
  }
  const fields: Record<string, string> = {};
  if (Array.isArray(body.errors)) {
    for (const item of body.errors as { field?: unknown; message?: unknown }[]) {
      if (typeof item.field === "string" && typeof item.message === "string") {
        fields[item.field] = fields[item.field]
          ? `${fields[item.field]}; ${item.message}`
          : item.message;
      }
    }
  }
  const detail =
    typeof body.detail === "string" && body.detail
      ? body.detail
      : `The bank answered ${res.status}${res.statusText ? ` ${res.statusText}` : ""}.`;
  return new ApiError(res.status, typeof body.code === "string" ? body.code : "", detail, fields);
}

type Answer = { ok: boolean; status: number; json(): Promise<unknown> };
type Success<R> = R extends { ok: true } ? R : never;

/** The body of a successful answer; a failed one throws its ApiError. */
export async function data<R extends Answer>(
  res: R,
): Promise<Awaited<ReturnType<Success<R>["json"]>>> {
  if (!res.ok) throw await problemOf(res as unknown as Response);
  return (await res.json()) as Awaited<ReturnType<Success<R>["json"]>>;
}

/** A successful answer without a body (204); a failed one throws its ApiError. */
export async function done(res: Answer): Promise<void> {
  if (!res.ok) throw await problemOf(res as unknown as Response);
}

/** The `starting_after` of a `Link: <…>; rel="next"` header, if any. */
export function nextCursor(link: string | null): string | undefined {
  const match = /<([^>]*)>\s*;\s*rel="?next"?/.exec(link ?? "");
  if (!match?.[1]) return undefined;
  return new URL(match[1], apiOrigin()).searchParams.get("starting_after") ?? undefined;
}
