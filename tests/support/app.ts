import { consoleAssets } from "../../src/bun/console-assets.ts";
import { docsAssets } from "../../src/bun/docs-assets.ts";
import type { Role } from "../../src/core/domain/types.ts";
import { type AppType, createApp } from "../../src/core/http/app.ts";
import type { HttpDeps } from "../../src/core/http/env.ts";
import { silentLogger } from "../../src/core/lib/logger.ts";
import { grantRole } from "../../src/core/services/users.ts";
import { type TestContext, testDatabase } from "./database.ts";
import { startEdge } from "./edge.ts";
import { uniqueName } from "./fixtures.ts";

/**
 * The REST app on the test database, driven through `app.request()` (no socket): real
 * routing, middleware, services and Postgres. Tokens are real, minted by logging in.
 */
export async function testHttpDeps(overrides: Partial<HttpDeps> = {}): Promise<HttpDeps> {
  return httpDepsFor((await testDatabase()).deps, overrides);
}

/** HTTP dependencies whose services and database are those of `ctx`. */
export function httpDepsFor(ctx: TestContext, overrides: Partial<HttpDeps> = {}): HttpDeps {
  return {
    services: ctx,
    database: () => ctx.db,
    logger: silentLogger,
    readiness: {},
    production: false,
    allowedOrigins: ["http://localhost:3000"],
    trustProxyHops: 0,
    connectionIp: () => undefined,
    docsAssets,
    consoleAssets,
    ...overrides,
  };
}

let shared: Promise<AppType> | undefined;

/** One in-process app for the whole run (tests that need other settings build their own). */
export function testApp(): Promise<AppType> {
  shared ??= testHttpDeps().then(createApp);
  return shared;
}

/**
 * Which runtime `call()`, `targetApp()` and `targetUrl()` reach: the Bun app in this process
 * (default), or with TEST_TARGET=edge the Worker's bundle in workerd. The HTTP suites run
 * against both, so the two runtimes cannot drift apart; a test that builds an app with other
 * settings stays in process either way.
 */
export const TEST_TARGET: "bun" | "edge" = process.env.TEST_TARGET === "edge" ? "edge" : "bun";

let target: Promise<{ app: RequestApp; url: () => Promise<string> }> | undefined;

function testTarget() {
  target ??= (async () => {
    if (TEST_TARGET === "edge") {
      const worker = await startEdge();
      const url = worker.url;
      // A new connection per request: workerd closes a connection whose request body a
      // response did not read (401 before the body), and Bun's fetch would reuse it.
      const app: RequestApp = {
        request: (path, init) => fetch(new URL(path, url), { ...init, keepalive: false }),
      };
      return { app, url: async () => url };
    }
    const app = await testApp();
    let server: ReturnType<typeof Bun.serve> | undefined;
    const url = async () => {
      server ??= Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
      return `http://127.0.0.1:${server.port}`;
    };
    return { app, url };
  })();
  return target;
}

/** The app under test as `app.request()` takes requests (no socket for the Bun app). */
export async function targetApp(): Promise<RequestApp> {
  return (await testTarget()).app;
}

/** A live server of the app under test (a Bun.serve of the shared app, or the Worker). */
export async function targetUrl(): Promise<string> {
  return (await testTarget()).url();
}

export interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface CallOptions {
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
}

/** Anything with Hono's `request()`: an app built with other dependencies or settings. */
export type RequestApp = {
  request: (path: string, init: RequestInit) => Response | Promise<Response>;
};

/**
 * One request to `app` (no socket); a body is sent as JSON (a string as it is), the reply parsed
 * as JSON when it is JSON.
 */
export async function callOn<T = Record<string, unknown>>(
  app: RequestApp,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers["Content-Type"] ??= "application/json";
  if (options.token) headers.Authorization ??= `Bearer ${options.token}`;
  const res = await app.request(path, {
    method,
    headers,
    body:
      options.body === undefined
        ? undefined
        : typeof options.body === "string"
          ? options.body
          : JSON.stringify(options.body),
  });
  const text = await res.text();
  const type = res.headers.get("Content-Type") ?? "";
  const body = (/json/.test(type) && text ? JSON.parse(text) : text) as T;
  return { status: res.status, headers: res.headers, body };
}

/** One request to the app under test (see TEST_TARGET). */
export async function call<T = Record<string, unknown>>(
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<Reply<T>> {
  return callOn<T>(await targetApp(), method, path, options);
}

export interface TestUser {
  username: string;
  password: string;
  email: string;
  fullName: string;
  role: Role;
  accessToken: string;
  refreshToken: string;
  sessionId: string;
}

/** Registers a user over HTTP (optionally made a banker, as the CLI does) and logs in. */
export async function signUp(options: { role?: Role } = {}): Promise<TestUser> {
  const username = uniqueName("u");
  const password = `pw-${crypto.randomUUID()}`;
  const email = `${username}@example.com`;
  const fullName = "Test User";
  const created = await call("POST", "/users", {
    body: { username, password, full_name: fullName, email },
  });
  if (created.status !== 201) throw new Error(`sign-up failed: ${JSON.stringify(created.body)}`);
  const role = options.role ?? "depositor";
  if (role !== "depositor") await grantRole((await testDatabase()).deps, username, role);
  return { username, password, email, fullName, role, ...(await logIn(username, password)) };
}

export async function logIn(username: string, password: string) {
  const res = await call<{ access_token: string; refresh_token: string; session_id: string }>(
    "POST",
    "/users/login",
    { body: { username, password } },
  );
  if (res.status !== 200) throw new Error(`login failed: ${JSON.stringify(res.body)}`);
  return {
    accessToken: res.body.access_token,
    refreshToken: res.body.refresh_token,
    sessionId: res.body.session_id,
  };
}

export interface AccountJson {
  id: number;
  owner: string;
  balance: number;
  currency: string;
  created_at: string;
}

export async function openAccountFor(user: TestUser, currency = "USD"): Promise<AccountJson> {
  const res = await call<AccountJson>("POST", "/accounts", {
    token: user.accessToken,
    body: { currency },
  });
  if (res.status !== 201) throw new Error(`open account failed: ${JSON.stringify(res.body)}`);
  return res.body;
}

let banker: Promise<TestUser> | undefined;

/** A banker shared by the run, for deposits. */
export function testBanker(): Promise<TestUser> {
  banker ??= signUp({ role: "banker" });
  return banker;
}

/** Funds an account over HTTP, as a banker's deposit from the treasury. */
export async function depositTo(account: AccountJson, amount: number): Promise<void> {
  const res = await call("POST", `/accounts/${account.id}/deposits`, {
    token: (await testBanker()).accessToken,
    body: { amount, currency: account.currency },
  });
  if (res.status !== 201) throw new Error(`deposit failed: ${JSON.stringify(res.body)}`);
}

export function expectProblem(reply: Reply, status: number, code: string): void {
  if (reply.status !== status) {
    throw new Error(
      `expected ${status} ${code}, got ${reply.status}: ${JSON.stringify(reply.body)}`,
    );
  }
  const contentType = reply.headers.get("Content-Type");
  if (contentType !== "application/problem+json") {
    throw new Error(`expected application/problem+json, got ${contentType}`);
  }
  const body = reply.body as Record<string, unknown>;
  if (body.code !== code || body.status !== status || body.type !== `/problems/${code}`) {
    throw new Error(`expected code ${code}: ${JSON.stringify(body)}`);
  }
}
