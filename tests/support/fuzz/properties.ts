import { ERROR_CODES } from "../../../src/core/domain/errors.ts";
import { targetApp } from "../app.ts";
import { type Auth, type FuzzRequest, refreshTokenOwner, withRefreshTokens } from "./generators.ts";
import type { Operation } from "./openapi.ts";
import type { FuzzActor, World } from "./world.ts";

/**
 * Sends a generated request to the app under test and checks what every response must be:
 * never a 5xx; an X-Request-Id; a status the operation documents, with the documented media
 * type and a body that validates against the documented (closed) schema; every error
 * problem+json with a code from the closed list; nothing served without a valid token on a
 * protected operation; and no other customer's data shown to a depositor.
 */

export interface Exchange {
  request: FuzzRequest;
  /** Path and query as sent. */
  target: string;
  /** Headers as sent (the token as a placeholder naming whose it is). */
  shownHeaders: Record<string, string>;
  actor: FuzzActor | undefined;
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const SERVED_CODES = new Set<string>(ERROR_CODES.filter((code) => code !== "internal"));

function tamper(token: string, how: Exclude<Auth, { kind: "none" | "actor" | "raw" }>["how"]) {
  const middle = Math.floor(token.length / 2);
  const flipped = token[middle] === "A" ? "B" : "A";
  switch (how) {
    case "flip":
      return `Bearer ${token.slice(0, middle)}${flipped}${token.slice(middle + 1)}`;
    case "cut":
      return `Bearer ${token.slice(0, -4)}`;
    case "append":
      return `Bearer ${token}AA`;
    case "no-scheme":
      return token;
    case "basic":
      return `Basic ${token}`;
  }
}

function targetOf(operation: Operation, request: FuzzRequest): string {
  const path = operation.path.replace(
    /\{([^}]+)\}/g,
    (_, name: string) =>
      request.rawPath[name] ?? encodeURIComponent(request.pathParams[name] ?? ""),
  );
  const query = [new URLSearchParams(request.query).toString(), request.rawQuery]
    .filter(Boolean)
    .join("&");
  return query ? `${path}?${query}` : path;
}

export async function send(
  world: World,
  operation: Operation,
  request: FuzzRequest,
): Promise<Exchange> {
  const headers: Record<string, string> = { ...request.headers };
  const shownHeaders: Record<string, string> = { ...request.headers };
  const auth = request.auth;
  let actor: FuzzActor | undefined;
  if (auth.kind === "actor" || auth.kind === "tampered") {
    const token = await world.tokenOf(auth.actor);
    if (auth.kind === "actor") {
      actor = world.actors[auth.actor];
      headers.Authorization = `${auth.scheme} ${token}`;
      shownHeaders.Authorization = `${auth.scheme} <${auth.actor}'s access token>`;
    } else {
      headers.Authorization = tamper(token, auth.how);
      shownHeaders.Authorization = `<${auth.actor}'s access token, ${auth.how}>`;
    }
  } else if (auth.kind === "raw") {
    headers.Authorization = auth.value;
    shownHeaders.Authorization = auth.value;
  }
  const target = targetOf(operation, request);
  const app = await targetApp();
  const body =
    request.body === undefined
      ? undefined
      : withRefreshTokens(request.body, (name) => world.actors[name]?.user.refreshToken ?? "");
  const res = await app.request(target, { method: request.method, headers, body });
  const text = await res.text();
  let json: unknown;
  if (/json/.test(res.headers.get("Content-Type") ?? "") && text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return {
    request,
    target,
    shownHeaders,
    actor,
    status: res.status,
    headers: res.headers,
    text,
    json,
  };
}

function parsedBody(request: FuzzRequest): Record<string, unknown> {
  try {
    const value = JSON.parse(request.body ?? "");
    return value && typeof value === "object" ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Keeps the world in step with what the request did: a dead token (401) is renewed by a new
 * login, an account opened is its owner's, a changed password or email is remembered.
 */
export function track(world: World, operation: Operation, exchange: Exchange): void {
  const { request, status, json } = exchange;
  if (request.auth.kind === "actor" && status === 401)
    world.actors[request.auth.actor].stale = true;
  if (exchange.actor && operation.label === "POST /users/logout" && status === 204) {
    exchange.actor.stale = true;
  }
  if (status < 200 || status > 299 || !json || typeof json !== "object") return;
  const body = json as Record<string, unknown>;
  // A renewal with an actor's refresh token rotated it: theirs is now the new pair.
  const renewed = refreshTokenOwner(request.body ?? "");
  if (renewed && operation.path === "/tokens/renew_access") {
    const pair = body as { access_token?: string; refresh_token?: string };
    const actor = world.actors[renewed];
    if (pair.access_token && pair.refresh_token) {
      actor.user.accessToken = pair.access_token;
      actor.user.refreshToken = pair.refresh_token;
      actor.stale = false;
    }
  }
  if (operation.label === "POST /accounts" && exchange.actor) {
    if (body.owner === exchange.actor.user.username) exchange.actor.accounts.add(Number(body.id));
  }
  if (operation.method === "PATCH") {
    const user = (body.user ?? body) as { username?: string; email?: string };
    const changed = user.username ? world.byUsername(user.username) : undefined;
    if (!changed) return;
    const sent = parsedBody(request);
    if (typeof sent.password === "string") {
      changed.passwords.push(sent.password);
      changed.stale = true;
    }
  }
}

/** Every property one exchange must have; the failures, described (empty: all hold). */
export function check(world: World, operation: Operation, exchange: Exchange): string[] {
  const failures: string[] = [];
  const { status, headers, text, json } = exchange;
  if (status >= 500) failures.push(`a ${status}`);
  const requestId = headers.get("X-Request-Id");
  if (!requestId) failures.push("no X-Request-Id header");
  const sentId = exchange.request.headers["X-Request-Id"];
  if (sentId && UUID.test(sentId) && requestId !== sentId) {
    failures.push(`X-Request-Id ${requestId}: the client's ${sentId} not echoed`);
  }
  // Documented response headers hold their documented values; Retry-After is always there
  // on a 429 or 503 (contract).
  for (const [name, validate] of operation.responseHeaders.get(String(status)) ?? []) {
    const value = headers.get(name);
    if (value === null) {
      if (name === "retry-after") failures.push(`no ${name} header on a ${status}`);
    } else if (!validate(/^\d+$/.test(value) && name === "retry-after" ? Number(value) : value)) {
      failures.push(`header ${name}: ${value} is not as documented`);
    }
  }

  const documented = operation.responses.get(String(status));
  const type = (headers.get("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (!documented) {
    failures.push(`status ${status} is not documented for ${operation.label}`);
  } else if (documented.size === 0) {
    if (text !== "") failures.push(`a body on a response documented without one: ${short(text)}`);
  } else {
    const validate = documented.get(type);
    if (!validate) {
      failures.push(`Content-Type ${type || "(none)"}; documented: ${[...documented.keys()]}`);
    } else if (type.endsWith("json")) {
      if (json === undefined) failures.push("the body is not JSON");
      else if (!validate(json)) {
        failures.push(`the body does not match the schema: ${JSON.stringify(validate.errors)}`);
      }
    }
  }

  if (status >= 400) {
    const problem = (json ?? {}) as Record<string, unknown>;
    if (type !== "application/problem+json") failures.push(`an error as ${type || "(no type)"}`);
    if (!SERVED_CODES.has(String(problem.code))) failures.push(`code ${problem.code} not served`);
    if (problem.status !== status) failures.push(`problem status ${problem.status} ≠ ${status}`);
    if (problem.type !== `/problems/${problem.code}`) failures.push(`problem type ${problem.type}`);
    if (problem.request_id !== headers.get("X-Request-Id")) {
      failures.push("problem request_id differs from X-Request-Id");
    }
  }

  const authenticated = exchange.request.auth.kind === "actor";
  if (operation.secured && !authenticated && status < 300) {
    failures.push(`${status} without a valid token on a protected operation`);
  }
  if (operation.secured && exchange.actor?.role === "depositor" && status < 300 && json) {
    failures.push(...leaks(world, exchange.actor, exchange.request, json));
  }
  return failures;
}

/**
 * What a depositor must not see: another customer's account with its balance (a counterpart
 * account is shown without), another user, an entry of someone else's account (outside the
 * transfer it belongs to), a transfer touching none of theirs, another actor's email.
 */
function leaks(world: World, me: FuzzActor, request: FuzzRequest, body: unknown): string[] {
  const found: string[] = [];
  const sent = `${request.body ?? ""} ${JSON.stringify(request.query)} ${JSON.stringify(request.pathParams)} ${request.rawQuery}`;
  const foreignEmails = Object.values(world.actors)
    .filter((a) => a !== me)
    .map((a) => a.user.email);
  const walk = (value: unknown, key: string) => {
    if (typeof value === "string") {
      if (foreignEmails.includes(value) && !sent.includes(value)) found.push(`email ${value}`);
      return;
    }
    if (!value || typeof value !== "object") return;
    if (Array.isArray(value)) {
      for (const item of value) walk(item, key);
      return;
    }
    const o = value as Record<string, unknown>;
    const mine = (id: unknown) => me.accounts.has(Number(id));
    if ("owner" in o && "currency" in o && "id" in o && o.owner !== me.user.username) {
      if ("balance" in o) found.push(`${key}: account ${o.id} of ${o.owner} with its balance`);
      else if (key !== "to_account") found.push(`${key}: account ${o.id} of ${o.owner}`);
    }
    if ("username" in o && "email" in o && o.username !== me.user.username) {
      found.push(`${key}: user ${o.username}`);
    }
    if ("account_id" in o && "transfer_id" in o && key !== "to_entry" && !mine(o.account_id)) {
      found.push(`${key}: entry ${o.id} of account ${o.account_id}`);
    }
    if ("from_account_id" in o && "to_account_id" in o) {
      if (!mine(o.from_account_id) && !mine(o.to_account_id)) {
        found.push(`${key}: transfer ${o.id} between ${o.from_account_id} and ${o.to_account_id}`);
      }
    }
    for (const [k, v] of Object.entries(o)) walk(v, k);
  };
  walk(body, "body");
  return found.map((leak) => `${me.name} (${me.user.username}) sees ${leak}`);
}

function short(text: string, max = 400): string {
  return text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
}

/** The exchange as a replayable description: a curl command line and the reply. */
export function describe(exchange: Exchange): string {
  const { request } = exchange;
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const parts = [`curl -X ${request.method} ${quote(`$BASE${exchange.target}`)}`];
  for (const [name, value] of Object.entries(exchange.shownHeaders)) {
    parts.push(`-H ${quote(`${name}: ${short(value, 120)}`)}`);
  }
  if (request.body !== undefined) parts.push(`--data-raw ${quote(short(request.body))}`);
  return [
    parts.join(" \\\n     "),
    `  body: ${request.notes.join("; ") || "(none)"} (${request.body?.length ?? 0} chars)`,
    `→ ${exchange.status} ${exchange.headers.get("Content-Type") ?? ""} ${short(exchange.text)}`,
  ].join("\n");
}
