import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createRoute, z } from "@hono/zod-openapi";
import { type DatabaseHandle, openDatabase } from "../../src/core/db/client.ts";
import { type AppType, createApp, MAX_BODY_BYTES } from "../../src/core/http/app.ts";
import { createRouter } from "../../src/core/http/create-router.ts";
import type { Logger } from "../../src/core/lib/logger.ts";
import {
  type AccountJson,
  depositTo,
  expectProblem,
  httpDepsFor,
  logIn,
  openAccountFor,
  type Reply,
  type RequestApp,
  signUp,
  type TestUser,
  targetApp,
  targetUrl,
  testHttpDeps,
} from "../support/app.ts";
import { TEST_CONFIG, testContext, testDatabase } from "../support/database.ts";
import { uniqueName } from "../support/fixtures.ts";
import { captureLogs } from "../support/logs.ts";
import { freePort } from "../support/process.ts";

/**
 * The contract's Conventions, for the whole app: request ids, 404 / 405 / 413 / 415 /
 * malformed JSON as problem+json, 5xx without internals, security headers, CORS, and the one
 * log line per request.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ALLOWED_ORIGIN = "http://localhost:3000";
const PROBLEM_KEYS = ["type", "title", "status", "detail", "code", "request_id", "errors"];

interface SendOptions {
  token?: string;
  /** An object is sent as JSON; anything else as is (strings, bytes, streams, forms). */
  body?: unknown;
  headers?: Record<string, string>;
}

/** One request to `app` (no socket); the reply parsed like `call()` does. */
async function send(
  app: RequestApp,
  method: string,
  path: string,
  options: SendOptions = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.Authorization ??= `Bearer ${options.token}`;
  let body: RequestInit["body"];
  if (options.body === undefined) body = undefined;
  else if (
    typeof options.body === "string" ||
    options.body instanceof Uint8Array ||
    options.body instanceof ReadableStream ||
    options.body instanceof FormData
  ) {
    body = options.body as RequestInit["body"];
  } else {
    body = JSON.stringify(options.body);
    headers["Content-Type"] ??= "application/json";
  }
  const init: RequestInit & { duplex?: "half" } = { method, headers, body };
  if (body instanceof ReadableStream) init.duplex = "half";
  const res = await app.request(path, init);
  const text = await res.text();
  const type = res.headers.get("Content-Type") ?? "";
  return {
    status: res.status,
    headers: res.headers,
    body: /json/.test(type) && text ? JSON.parse(text) : text,
  };
}

/** Text that must never reach a client in a 5xx body. */
const INTERNALS =
  /select|insert|update |from |ECONNREFUSED|postgres|drizzle|stack|\bat \S+ \(|\.ts:\d+|secret/i;

function expectNoInternals(reply: Reply): void {
  const body = reply.body as Record<string, unknown>;
  for (const key of Object.keys(body)) expect(PROBLEM_KEYS).toContain(key);
  expect(JSON.stringify(body)).not.toMatch(INTERNALS);
}

function streamOf(bytes: number, chunk = 4096): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= bytes) {
        controller.close();
        return;
      }
      const size = Math.min(chunk, bytes - sent);
      controller.enqueue(new TextEncoder().encode("x".repeat(size)));
      sent += size;
    },
  });
}

// ---- the world -------------------------------------------------------------------------------

let app: RequestApp;
let user: TestUser;
let account: AccountJson;
let strangerAccount: AccountJson;
let unreachableUrl: string;
const unreachableHandles: DatabaseHandle[] = [];
let unavailableLog: Record<string, unknown>[];
let unavailableLogger: Logger;
let buggyApp: AppType;
let buggyLog: Record<string, unknown>[];

const LEAKED = "SELECT secret FROM x";

beforeAll(async () => {
  app = await targetApp();
  user = await signUp();
  account = await openAccountFor(user, "USD");
  await depositTo(account, 1_000);
  strangerAccount = await openAccountFor(await signUp(), "USD");

  // The services' database is a port nobody listens on.
  unreachableUrl = `postgres://postgres@127.0.0.1:${await freePort()}/x`;
  const down = captureLogs();
  unavailableLog = down.lines;
  unavailableLogger = down.logger;

  // An unexpected bug: a dependency throws a plain Error carrying internal text.
  const { deps } = await testDatabase();
  const buggy = captureLogs();
  buggyLog = buggy.lines;
  buggyApp = createApp(
    await testHttpDeps({
      services: {
        ...deps,
        passwords: {
          hash: async () => {
            throw new Error(LEAKED);
          },
          verify: deps.passwords.verify,
        },
      },
      logger: buggy.logger,
    }),
  );
});

afterAll(async () => {
  await Promise.all(unreachableHandles.map((handle) => handle.close()));
});

/**
 * An app whose services' database cannot be reached. A fresh pool per app: postgres.js backs
 * off between reconnection attempts (up to 20 s after a few failures), and each request here
 * should meet the outage at once.
 */
async function unavailableApp(): Promise<AppType> {
  const handle = openDatabase({ url: unreachableUrl, poolMax: 1 });
  unreachableHandles.push(handle);
  return createApp(
    httpDepsFor(testContext(TEST_CONFIG, handle.db, { logger: unavailableLogger }), {
      logger: unavailableLogger,
    }),
  );
}

const newUserBody = () => {
  const username = uniqueName("c");
  return {
    username,
    password: "correct horse",
    full_name: "Conventions Test",
    email: `${username}@example.com`,
  };
};

// ---- one request of every outcome class --------------------------------------------------------

interface Exchange {
  name: string;
  status: number;
  code?: string;
  run(headers: Record<string, string>): Promise<Reply>;
}

const EXCHANGES: Exchange[] = [
  {
    name: "GET /healthz",
    status: 200,
    run: (headers) => send(app, "GET", "/healthz", { headers }),
  },
  {
    name: "POST /users",
    status: 201,
    run: (headers) => send(app, "POST", "/users", { headers, body: newUserBody() }),
  },
  {
    name: "POST /users/logout",
    status: 204,
    run: async (headers) => {
      const session = await logIn(user.username, user.password);
      return send(app, "POST", "/users/logout", { headers, token: session.accessToken });
    },
  },
  {
    name: "CORS preflight",
    status: 204,
    run: (headers) =>
      send(app, "OPTIONS", "/transfers", {
        headers: { ...headers, Origin: ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST" },
      }),
  },
  {
    name: "validation",
    status: 400,
    code: "validation_failed",
    run: (headers) => send(app, "POST", "/users", { headers, body: {} }),
  },
  {
    name: "malformed JSON",
    status: 400,
    code: "malformed_json",
    run: (headers) =>
      send(app, "POST", "/users", {
        headers: { ...headers, "Content-Type": "application/json" },
        body: "{",
      }),
  },
  {
    name: "no token",
    status: 401,
    code: "unauthenticated",
    run: (headers) => send(app, "GET", "/users/me", { headers }),
  },
  {
    name: "another user's account",
    status: 403,
    code: "forbidden",
    run: (headers) =>
      send(app, "GET", `/accounts/${strangerAccount.id}`, { headers, token: user.accessToken }),
  },
  {
    name: "unknown route",
    status: 404,
    code: "not_found",
    run: (headers) => send(app, "GET", "/no/such/route", { headers }),
  },
  {
    name: "missing account",
    status: 404,
    code: "not_found",
    run: (headers) =>
      send(app, "GET", `/accounts/${Number.MAX_SAFE_INTEGER}`, {
        headers,
        token: user.accessToken,
      }),
  },
  {
    name: "wrong method",
    status: 405,
    code: "method_not_allowed",
    run: (headers) => send(app, "DELETE", "/accounts", { headers }),
  },
  {
    name: "second USD account",
    status: 409,
    code: "account_exists",
    run: (headers) =>
      send(app, "POST", "/accounts", {
        headers,
        token: user.accessToken,
        body: { currency: "USD" },
      }),
  },
  {
    name: "body over 64 KiB",
    status: 413,
    code: "payload_too_large",
    run: (headers) =>
      send(app, "POST", "/users", {
        headers: { ...headers, "Content-Type": "application/json" },
        body: "x".repeat(MAX_BODY_BYTES + 1),
      }),
  },
  {
    name: "text/plain body",
    status: 415,
    code: "unsupported_media_type",
    run: (headers) =>
      send(app, "POST", "/users", {
        headers: { ...headers, "Content-Type": "text/plain" },
        body: "{}",
      }),
  },
  {
    name: "insufficient funds",
    status: 422,
    code: "insufficient_funds",
    run: (headers) =>
      send(app, "POST", "/transfers", {
        headers,
        token: user.accessToken,
        body: {
          from_account_id: account.id,
          to_account_id: strangerAccount.id,
          amount: 1_000_000,
          currency: "USD",
        },
      }),
  },
  {
    name: "a bug",
    status: 500,
    code: "internal",
    run: (headers) => send(buggyApp, "POST", "/users", { headers, body: newUserBody() }),
  },
  {
    name: "database down",
    status: 503,
    code: "unavailable",
    run: async (headers) =>
      send(await unavailableApp(), "POST", "/users/login", {
        headers,
        body: { username: user.username, password: user.password },
      }),
  },
];

function expectOutcome(exchange: Exchange, reply: Reply): void {
  if (exchange.code) expectProblem(reply, exchange.status, exchange.code);
  else expect(reply.status).toBe(exchange.status);
}

describe("X-Request-Id on every response", () => {
  for (const exchange of EXCHANGES) {
    test(`${exchange.status} (${exchange.name}): generated, and echoed when the client sent a sane one`, async () => {
      const generated = await exchange.run({});
      expectOutcome(exchange, generated);
      const id = generated.headers.get("X-Request-Id") ?? "";
      expect(id).toMatch(UUID);
      if (exchange.code) expect((generated.body as { request_id: string }).request_id).toBe(id);

      const mine = `conv-${exchange.status}-${crypto.randomUUID().slice(0, 8)}`;
      const echoed = await exchange.run({ "X-Request-Id": mine });
      expectOutcome(exchange, echoed);
      expect(echoed.headers.get("X-Request-Id")).toBe(mine);
      if (exchange.code) expect((echoed.body as { request_id: string }).request_id).toBe(mine);

      const insane = await exchange.run({ "X-Request-Id": "<not sane> ".repeat(3) });
      expect(insane.headers.get("X-Request-Id") ?? "").toMatch(UUID);
    });
  }
});

describe("security headers on every response", () => {
  for (const exchange of EXCHANGES) {
    test(`${exchange.status} (${exchange.name}): nosniff, DENY, no-referrer, no HSTS outside production`, async () => {
      const reply = await exchange.run({});
      expectOutcome(exchange, reply);
      expect(reply.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(reply.headers.get("X-Frame-Options")).toBe("DENY");
      expect(reply.headers.get("Referrer-Policy")).toBe("no-referrer");
      expect(reply.headers.get("Strict-Transport-Security")).toBeNull();
    });
  }

  test("the /docs page and its assets carry them too", async () => {
    for (const path of ["/docs", "/docs/assets/init.js", "/problems/not_found", "/openapi.json"]) {
      const reply = await send(app, "GET", path);
      expect(reply.status).toBe(200);
      expect(reply.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(reply.headers.get("X-Frame-Options")).toBe("DENY");
      expect(reply.headers.get("Referrer-Policy")).toBe("no-referrer");
    }
  });

  test("production: HSTS (at least a year) on successes and errors", async () => {
    const production = createApp(await testHttpDeps({ production: true }));
    for (const [path, status] of [
      ["/healthz", 200],
      ["/no/such/route", 404],
      ["/users/me", 401],
    ] as const) {
      const reply = await send(production, "GET", path);
      expect(reply.status).toBe(status);
      const hsts = reply.headers.get("Strict-Transport-Security") ?? "";
      const maxAge = Number(/max-age=(\d+)/.exec(hsts)?.[1] ?? 0);
      expect(maxAge).toBeGreaterThanOrEqual(31_536_000);
      expect(reply.headers.get("X-Frame-Options")).toBe("DENY");
    }
  });
});

// ---- routing -----------------------------------------------------------------------------------

describe("unknown routes and wrong methods", () => {
  test("unknown route → 404 problem+json not_found", async () => {
    for (const path of ["/nope", "/accounts/1/nope", "/v2/accounts", "/users/me/extra"]) {
      const reply = await send(app, "GET", path, { token: user.accessToken });
      expectProblem(reply, 404, "not_found");
    }
  });

  const WRONG_METHODS: [method: string, path: string, allowed: string[]][] = [
    ["DELETE", "/accounts", ["GET", "POST"]],
    ["PUT", "/transfers/1", ["GET"]],
    ["GET", "/users/login", ["POST"]],
    ["DELETE", "/transfers", ["GET", "POST"]],
    ["PUT", "/accounts/1", ["GET"]],
    ["GET", "/accounts/1/deposits", ["POST"]],
    ["POST", "/healthz", ["GET"]],
    ["DELETE", "/users/me", ["GET"]],
    ["GET", "/tokens/renew_access", ["POST"]],
  ];

  for (const [method, path, allowed] of WRONG_METHODS) {
    test(`${method} ${path} → 405 with Allow listing ${allowed.join(", ")}`, async () => {
      const reply = await send(app, method, path, { token: user.accessToken });
      expectProblem(reply, 405, "method_not_allowed");
      const allow = (reply.headers.get("Allow") ?? "").split(/,\s*/).filter(Boolean);
      for (const m of allowed) expect(allow).toContain(m);
      expect(allow).not.toContain(method);
      // Every method it lists is really served on that path (no 405 for it).
      for (const listed of allow) {
        const again = await send(app, listed, path, { token: user.accessToken });
        expect(again.status).not.toBe(405);
      }
    });
  }
});

// ---- bodies ------------------------------------------------------------------------------------

interface JsonRoute {
  method: string;
  path: string;
  /** The concrete path: the test user's own resources. */
  concrete: string;
  auth: boolean;
}

/** Every operation with a request body, from the app's own OpenAPI document. */
async function jsonRoutes(): Promise<JsonRoute[]> {
  const doc = await send(app, "GET", "/openapi.json");
  const paths = (doc.body as { paths: Record<string, Record<string, Record<string, unknown>>> })
    .paths;
  return Object.entries(paths).flatMap(([path, operations]) =>
    Object.entries(operations)
      .filter(([, operation]) => operation.requestBody !== undefined)
      .map(([method, operation]) => ({
        method: method.toUpperCase(),
        path,
        concrete: path.replace("{id}", String(account.id)).replace("{username}", user.username),
        auth: ((operation.security as unknown[] | undefined)?.length ?? 0) > 0,
      })),
  );
}

describe("unknown query parameters, like unknown body fields: 400 naming them", () => {
  const UNKNOWN = "is not a known query parameter";
  const errorsOf = (reply: Reply) =>
    (reply.body as { errors: { field: string; message: string }[] }).errors;
  const expectUnknown = (reply: Reply, fields: string[]) => {
    expectProblem(reply, 400, "validation_failed");
    const unknown = errorsOf(reply).filter((error) => error.message === UNKNOWN);
    expect(unknown.map((error) => error.field).sort()).toEqual([...fields].sort());
  };

  const CASES: [method: string, path: string, unknown: string[], body?: unknown][] = [
    ["GET", "/healthz?verbose=1", ["verbose"]],
    ["GET", "/readyz?probe=1", ["probe"]],
    ["GET", "/users/me?fields=all", ["fields"]],
    ["GET", "/accounts?page_id=1&sort=desc", ["sort"]],
    ["GET", "/accounts?ownr=alice&page_size=5", ["ownr"]],
    ["GET", "/accounts/{account}?expand=entries", ["expand"]],
    [
      "GET",
      "/accounts/{account}/entries?since=2026-01-01T00:00:00Z&until=2026-02-01T00:00:00Z",
      ["since", "until"],
    ],
    ["GET", "/transfers?account_id={account}&cursor=5", ["cursor"]],
    ["GET", "/transfers/1?x=1", ["x"]],
    [
      "GET",
      "/verify_email?email_id=1&secret_code=Zq3oK2p9yGQ1w8sV4bXcTg&utm_source=mail",
      ["utm_source"],
    ],
    ["GET", "/v1/verify_email?emailId=1&secretCode=Zq3oK2p9yGQ1w8sV4bXcTg&ref=x", ["ref"]],
    ["POST", "/accounts?currency=EUR", ["currency"], { currency: "USD" }],
    ["POST", "/users/login?debug=true", ["debug"], { username: "nobody_x", password: "whatever1" }],
    [
      "POST",
      "/v1/login_user?debug=true",
      ["debug"],
      { username: "nobody_x", password: "whatever1" },
    ],
  ];

  for (const [method, template, unknown, body] of CASES) {
    test(`${method} ${template} → 400 naming ${unknown.join(", ")}`, async () => {
      const path = template.replaceAll("{account}", String(account.id));
      const reply = await send(app, method, path, { token: user.accessToken, body });
      expectUnknown(reply, unknown);
    });
  }

  test("unknown and invalid known parameters are reported together, each once", async () => {
    const reply = await send(app, "GET", "/accounts?page_id=0&page_size=x&foo=1&foo=2&bar", {
      token: user.accessToken,
    });
    expectProblem(reply, 400, "validation_failed");
    expect(
      errorsOf(reply)
        .map((error) => error.field)
        .sort(),
    ).toEqual(["bar", "foo", "page_id", "page_size"]);
    const gateway = await send(app, "GET", "/v1/verify_email?email_id=abc&extra=1");
    expect(
      errorsOf(gateway)
        .map((error) => error.field)
        .sort(),
    ).toEqual(["email_id", "extra", "secret_code"]);
  });

  test("a route whose query is not an object is refused when it is registered", () => {
    const route = createRoute({
      method: "get",
      path: "/odd",
      request: { query: z.string() as unknown as z.ZodObject },
      responses: { 200: { description: "never" } },
    });
    expect(() => createRouter().openapi(route, (c) => c.json({}, 200))).toThrow(
      "a route's query must be a z.object",
    );
  });

  test("known parameters still work, and authentication still comes first", async () => {
    const page = await send(app, "GET", "/accounts?page_id=1&page_size=5", {
      token: user.accessToken,
    });
    expect(page.status).toBe(200);
    expect((page.body as AccountJson[]).map((a) => a.id)).toContain(account.id);
    const transfers = await send(app, "GET", `/transfers?account_id=${account.id}&page_size=1`, {
      token: user.accessToken,
    });
    expect(transfers.status).toBe(200);
    expect(transfers.body).toHaveLength(1);
    const entries = await send(app, "GET", `/accounts/${account.id}/entries?page_id=1`, {
      token: user.accessToken,
    });
    expect(entries.status).toBe(200);
    expect((await send(app, "GET", "/healthz")).status).toBe(200);
    expectProblem(await send(app, "GET", "/accounts?sort=desc"), 401, "unauthenticated");
  });
});

describe("request bodies on every JSON route", () => {
  let routes: JsonRoute[];
  beforeAll(async () => {
    routes = await jsonRoutes();
  });

  const each = async (fn: (route: JsonRoute) => Promise<void>) => {
    expect(routes.length).toBeGreaterThanOrEqual(8);
    for (const route of routes) {
      try {
        await fn(route);
      } catch (error) {
        throw new Error(`${route.method} ${route.path}: ${(error as Error).message}`);
      }
    }
  };
  const tokenFor = (route: JsonRoute) => (route.auth ? user.accessToken : undefined);

  test("over 64 KiB with a Content-Length → 413 payload_too_large", async () => {
    await each(async (route) => {
      const reply = await send(app, route.method, route.concrete, {
        token: tokenFor(route),
        headers: { "Content-Type": "application/json" },
        body: `{"pad":"${"x".repeat(MAX_BODY_BYTES)}"}`,
      });
      expectProblem(reply, 413, "payload_too_large");
    });
  });

  test("over 64 KiB streamed, without a Content-Length → 413 payload_too_large", async () => {
    await each(async (route) => {
      const reply = await send(app, route.method, route.concrete, {
        token: tokenFor(route),
        headers: { "Content-Type": "application/json" },
        body: streamOf(MAX_BODY_BYTES + 1),
      });
      expectProblem(reply, 413, "payload_too_large");
    });
  });

  test("exactly 64 KiB is not too large (400, not 413)", async () => {
    const prefix = '{"username":"';
    const suffix = '"}';
    const body = prefix + "a".repeat(MAX_BODY_BYTES - prefix.length - suffix.length) + suffix;
    expect(new TextEncoder().encode(body).length).toBe(MAX_BODY_BYTES);
    const reply = await send(app, "POST", "/users/login", {
      headers: { "Content-Type": "application/json" },
      body,
    });
    expectProblem(reply, 400, "validation_failed");
  });

  test("over 64 KiB chunked over a real socket → 413", async () => {
    const res = await fetch(`${await targetUrl()}/transfers`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Authorization: `Bearer ${user.accessToken}`,
      },
      body: streamOf(MAX_BODY_BYTES * 2),
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(res.headers.get("Content-Type")).toBe("application/problem+json");
    expect(((await res.json()) as { code: string }).code).toBe("payload_too_large");
  });

  for (const [label, contentType] of [
    ["text/plain", "text/plain"],
    ["a form", "application/x-www-form-urlencoded"],
    ["XML", "application/xml"],
  ] as const) {
    test(`${label} → 415 unsupported_media_type`, async () => {
      await each(async (route) => {
        const reply = await send(app, route.method, route.concrete, {
          token: tokenFor(route),
          headers: { "Content-Type": contentType },
          body: "{}",
        });
        expectProblem(reply, 415, "unsupported_media_type");
      });
    });
  }

  test("multipart form data → 415", async () => {
    await each(async (route) => {
      const form = new FormData();
      form.set("currency", "USD");
      const reply = await send(app, route.method, route.concrete, {
        token: tokenFor(route),
        body: form,
      });
      expectProblem(reply, 415, "unsupported_media_type");
    });
  });

  test("a body without any Content-Type → 415", async () => {
    await each(async (route) => {
      const reply = await send(app, route.method, route.concrete, {
        token: tokenFor(route),
        body: new TextEncoder().encode("{}"),
      });
      expectProblem(reply, 415, "unsupported_media_type");
    });
  });

  test("application/json with a charset parameter is accepted (not 415)", async () => {
    await each(async (route) => {
      const reply = await send(app, route.method, route.concrete, {
        token: tokenFor(route),
        headers: { "Content-Type": "application/json; charset=utf-8" },
        body: "{}",
      });
      expect(reply.status).not.toBe(415);
      expect(reply.status).toBeLessThan(500);
    });
  });

  for (const malformed of ["{", '{"a":1,}', "not json", "[1, 2", "", "{'a': 1}"]) {
    test(`malformed JSON ${JSON.stringify(malformed)} → 400 malformed_json`, async () => {
      await each(async (route) => {
        const reply = await send(app, route.method, route.concrete, {
          token: tokenFor(route),
          headers: { "Content-Type": "application/json" },
          body: malformed,
        });
        if (malformed === "" && route.path.startsWith("/v1/")) {
          // The gateway routes read an empty body as an empty message, as grpc-gateway did.
          expectProblem(reply, 400, "validation_failed");
          return;
        }
        expectProblem(reply, 400, "malformed_json");
      });
    });
  }

  test("valid JSON that is not an object → 400 validation_failed on (body), not malformed_json", async () => {
    await each(async (route) => {
      for (const body of ["null", "[]", "42", '"text"']) {
        const reply = await send(app, route.method, route.concrete, {
          token: tokenFor(route),
          headers: { "Content-Type": "application/json" },
          body,
        });
        expectProblem(reply, 400, "validation_failed");
        expect((reply.body as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual([
          "(body)",
        ]);
      }
    });
  });
});

// ---- errors ------------------------------------------------------------------------------------

describe("errors", () => {
  test("an error thrown by middleware (requireAuth) is still problem+json", async () => {
    const reply = await send(app, "POST", "/transfers", {
      headers: { Authorization: "Bearer not-a-token" },
      body: { from_account_id: 1, to_account_id: 2, amount: 1, currency: "USD" },
    });
    expectProblem(reply, 401, "unauthenticated");
    const body = reply.body as Record<string, unknown>;
    expect(typeof body.title).toBe("string");
    expect(typeof body.detail).toBe("string");
    expect(body.request_id).toBe(reply.headers.get("X-Request-Id") ?? "missing");
  });

  describe("database unreachable → 503 unavailable, Retry-After, nothing internal", () => {
    const requests: [string, string, (u: TestUser) => SendOptions][] = [
      ["POST", "/users/login", (u) => ({ body: { username: u.username, password: u.password } })],
      ["POST", "/users", () => ({ body: newUserBody() })],
      ["GET", "/accounts", (u) => ({ token: u.accessToken })],
      [
        "POST",
        "/transfers",
        (u) => ({
          token: u.accessToken,
          body: { from_account_id: 1, to_account_id: 2, amount: 1, currency: "USD" },
        }),
      ],
    ];
    for (const [method, path, options] of requests) {
      test(`${method} ${path}`, async () => {
        const reply = await send(await unavailableApp(), method, path, options(user));
        expectProblem(reply, 503, "unavailable");
        expect(Number(reply.headers.get("Retry-After"))).toBeGreaterThan(0);
        expectNoInternals(reply);
      });
    }

    test("logged as expected: the request line at WARN with its id, the outage once with its cause, no stack", async () => {
      const outageApp = await unavailableApp();
      const before = unavailableLog.length;
      const ids: (string | null)[] = [];
      for (let i = 0; i < 3; i++) {
        const reply = await send(outageApp, "GET", "/accounts", { token: user.accessToken });
        expectProblem(reply, 503, "unavailable");
        ids.push(reply.headers.get("X-Request-Id"));
      }
      const lines = unavailableLog.slice(before);
      for (const id of ids) {
        const line = lines.find((l) => l.request_id === id && l.msg === "request");
        expect(line).toMatchObject({ level: "warn", status: 503, error_code: "unavailable" });
      }
      const outage = lines.filter((l) => String(l.msg).startsWith("the database is unavailable"));
      expect(outage).toHaveLength(1);
      expect(outage[0]).toMatchObject({ level: "warn" });
      expect(String(outage[0]?.reason)).toContain("ECONNREFUSED");
      expect(lines.filter((l) => l.level === "error")).toEqual([]);
      expect(JSON.stringify(lines)).not.toContain('"stack"');
    });
  });

  describe("an unexpected bug → 500 internal", () => {
    test("the body says nothing of it; the log has it, with the request id", async () => {
      const reply = await send(buggyApp, "POST", "/users", {
        body: newUserBody(),
        headers: { "X-Request-Id": "bug-report-1" },
      });
      expectProblem(reply, 500, "internal");
      expectNoInternals(reply);
      expect(JSON.stringify(reply.body)).not.toContain(LEAKED);

      const lines = buggyLog.filter((line) => line.request_id === "bug-report-1");
      const logged = lines.find((line) => line.level === "error" && line.msg !== "request");
      expect(logged).toBeDefined();
      expect(JSON.stringify(logged?.error)).toContain(LEAKED);
      const summary = lines.find((line) => line.msg === "request");
      expect(summary).toMatchObject({ level: "error", status: 500, error_code: "internal" });
    });
  });
});

// ---- CORS ------------------------------------------------------------------------------------

describe("CORS", () => {
  const preflight = (origin: string, headers = "Authorization, Content-Type, Idempotency-Key") =>
    send(app, "OPTIONS", "/transfers", {
      headers: {
        Origin: origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": headers,
      },
    });
  const list = (value: string | null) =>
    (value ?? "")
      .split(",")
      .map((v) => v.trim().toLowerCase())
      .filter(Boolean);

  test("preflight from the default allowed origin → 204 with origin, credentials, methods, headers", async () => {
    const reply = await preflight(ALLOWED_ORIGIN);
    expect(reply.status).toBe(204);
    expect(reply.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED_ORIGIN);
    expect(reply.headers.get("Access-Control-Allow-Credentials")).toBe("true");
    const methods = list(reply.headers.get("Access-Control-Allow-Methods"));
    for (const m of ["get", "post", "patch"]) expect(methods).toContain(m);
    const headers = list(reply.headers.get("Access-Control-Allow-Headers"));
    for (const h of ["authorization", "content-type", "idempotency-key"]) {
      expect(headers).toContain(h);
    }
    expect(reply.headers.get("Vary") ?? "").toContain("Origin");
  });

  /** Every CORS header of a reply, by lower-case name. */
  const corsHeadersOf = (reply: Reply) =>
    [...reply.headers.keys()].filter((name) => name.toLowerCase().startsWith("access-control-"));
  const STRANGERS = [
    "http://evil.example",
    "http://localhost:3001",
    "null",
    "HTTP://LOCALHOST:3000",
  ];

  test("a preflight from any other origin, or without one, gets no CORS headers at all", async () => {
    for (const origin of STRANGERS) {
      const reply = await preflight(origin);
      expect(corsHeadersOf(reply)).toEqual([]);
      expect(reply.headers.get("Vary") ?? "").toContain("Origin");
      // Not a preflight answer: the route's own 405 for OPTIONS.
      expectProblem(reply, 405, "method_not_allowed");
    }
    const anonymous = await send(app, "OPTIONS", "/transfers", {
      headers: { "Access-Control-Request-Method": "POST" },
    });
    expect(corsHeadersOf(anonymous)).toEqual([]);
  });

  test("requests echo only allowed origins, on successes and errors alike; others get no CORS headers", async () => {
    for (const path of ["/healthz", "/no/such/route", "/users/me"]) {
      const allowed = await send(app, "GET", path, { headers: { Origin: ALLOWED_ORIGIN } });
      expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED_ORIGIN);
      expect(allowed.headers.get("Access-Control-Allow-Credentials")).toBe("true");
      expect(allowed.headers.get("Vary") ?? "").toContain("Origin");
      for (const origin of STRANGERS) {
        const refused = await send(app, "GET", path, { headers: { Origin: origin } });
        expect(corsHeadersOf(refused)).toEqual([]);
        expect(refused.headers.get("Vary") ?? "").toContain("Origin");
      }
      const sameOrigin = await send(app, "GET", path);
      expect(corsHeadersOf(sameOrigin)).toEqual([]);
    }
    const refusedPost = await send(app, "POST", "/users/login", {
      headers: { Origin: "https://evil.example" },
      body: { username: uniqueName("nobody"), password: "not-the-password" },
    });
    expectProblem(refusedPost, 401, "invalid_credentials");
    expect(corsHeadersOf(refusedPost)).toEqual([]);
  });

  test("X-Request-Id is exposed to browsers", async () => {
    const reply = await send(app, "GET", "/healthz", { headers: { Origin: ALLOWED_ORIGIN } });
    expect(list(reply.headers.get("Access-Control-Expose-Headers"))).toContain("x-request-id");
  });

  test("a configured origin list is honoured", async () => {
    const custom = createApp(await testHttpDeps({ allowedOrigins: ["https://bank.example"] }));
    const ok = await send(custom, "GET", "/healthz", {
      headers: { Origin: "https://bank.example" },
    });
    expect(ok.headers.get("Access-Control-Allow-Origin")).toBe("https://bank.example");
    const old = await send(custom, "GET", "/healthz", { headers: { Origin: ALLOWED_ORIGIN } });
    expect(corsHeadersOf(old)).toEqual([]);
  });
});

// ---- logging ---------------------------------------------------------------------------------

describe("one JSON log line per request", () => {
  let logged: AppType;
  let lines: Record<string, unknown>[];
  beforeAll(async () => {
    const capture = captureLogs();
    lines = capture.lines;
    logged = createApp(await testHttpDeps({ logger: capture.logger }));
  });

  const summaryOf = (reply: Reply) => {
    const id = reply.headers.get("X-Request-Id");
    const summaries = lines.filter((line) => line.request_id === id && line.msg === "request");
    expect(summaries).toHaveLength(1);
    const line = summaries[0] as Record<string, unknown>;
    expect(typeof line.duration_ms).toBe("number");
    expect(line.duration_ms as number).toBeGreaterThanOrEqual(0);
    expect(typeof line.time).toBe("string");
    return line;
  };

  test("authenticated success: request_id, method, route pattern, status, duration, username", async () => {
    const reply = await send(logged, "GET", `/accounts/${account.id}`, { token: user.accessToken });
    expect(reply.status).toBe(200);
    const line = summaryOf(reply);
    expect(line).toMatchObject({
      level: "info",
      method: "GET",
      route: "/accounts/:id",
      status: 200,
      username: user.username,
    });
    expect(line.error_code).toBeUndefined();
  });

  test("anonymous failure: error_code, no username", async () => {
    const reply = await send(logged, "GET", `/accounts/${account.id}/entries`);
    const line = summaryOf(reply);
    expect(line).toMatchObject({
      method: "GET",
      route: "/accounts/:id/entries",
      status: 401,
      error_code: "unauthenticated",
    });
    expect(line.username).toBeUndefined();
  });

  test("authenticated failure: username AND error_code", async () => {
    const reply = await send(logged, "POST", "/transfers", {
      token: user.accessToken,
      body: {
        from_account_id: strangerAccount.id,
        to_account_id: account.id,
        amount: 1,
        currency: "USD",
      },
    });
    const line = summaryOf(reply);
    expect(line).toMatchObject({
      method: "POST",
      route: "/transfers",
      status: 403,
      username: user.username,
      error_code: "forbidden",
    });
  });

  test("validation failure, unknown route, wrong method: one line each, with error_code", async () => {
    const cases: [Reply, number, string][] = [
      [
        await send(logged, "POST", "/accounts", {
          token: user.accessToken,
          body: { currency: "X" },
        }),
        400,
        "validation_failed",
      ],
      [await send(logged, "GET", "/no/such/route"), 404, "not_found"],
      [await send(logged, "DELETE", "/accounts"), 405, "method_not_allowed"],
    ];
    for (const [reply, status, code] of cases) {
      expect(summaryOf(reply)).toMatchObject({ status, error_code: code });
    }
  });

  test("every line is JSON and carries its request's id", async () => {
    const reply = await send(logged, "GET", "/users/me", {
      token: user.accessToken,
      headers: { "X-Request-Id": "log-me-1" },
    });
    expect(reply.status).toBe(200);
    const mine = lines.filter((line) => line.request_id === "log-me-1");
    expect(mine.length).toBeGreaterThanOrEqual(1);
    expect(lines.every((line) => typeof line.request_id === "string")).toBe(true);
  });
});
