import { describe, expect, test } from "bun:test";
import { consoleAssets } from "../../src/bun/console-assets.ts";
import { docsAssets } from "../../src/bun/docs-assets.ts";
import { loadConfig } from "../../src/core/config/config.ts";
import { openDatabase } from "../../src/core/db/client.ts";
import { createApp } from "../../src/core/http/app.ts";
import { silentLogger } from "../../src/core/lib/logger.ts";
import { buildHttpDeps } from "../../src/core/wiring/http.ts";
import { buildSharedStores } from "../../src/core/wiring/services.ts";
import { call, callOn, expectProblem, type Reply, signUp } from "../support/app.ts";
import { TEST_ENV, testContext, testDatabase } from "../support/database.ts";
import { bankApp, connectCall, openApiOperations } from "./support.ts";

/**
 * OWASP API8:2023 Security Misconfiguration. Every kind of response carries the security
 * headers the app sets (nosniff, frame denial, no referrer, a default-src 'none' policy,
 * same-origin resources), HSTS in production only; token responses are not cached; no header
 * names the software; error bodies never carry a stack, SQL or driver text, whatever failed;
 * a production build (NODE_ENV=production) serves no debug or development route.
 */

const EXPECTED_HEADERS: Record<string, RegExp> = {
  "X-Content-Type-Options": /^nosniff$/,
  "X-Frame-Options": /^DENY$/,
  "Referrer-Policy": /^no-referrer$/,
  "Cross-Origin-Resource-Policy": /^same-origin$/,
  "Content-Security-Policy": /default-src 'none'|frame-ancestors 'none'/,
};

function expectSecurityHeaders(reply: Reply, where: string): void {
  for (const [name, pattern] of Object.entries(EXPECTED_HEADERS)) {
    const value = reply.headers.get(name) ?? "";
    if (!pattern.test(value)) throw new Error(`${where}: ${name} is "${value}"`);
  }
  for (const name of ["X-Powered-By", "Server"]) {
    expect(reply.headers.get(name) ?? "").not.toMatch(/hono|bun|node|express|\d+\.\d+/i);
  }
}

/** Text that must never be in an error body. */
const INTERNALS =
  /\bat [\w.<>]+ \(|node_modules|\.ts:\d+|stack|SELECT |INSERT |UPDATE |postgres|ECONNREFUSED|SyntaxError|TypeError|ZodError|drizzle|hunter2/i;

describe("API8: security headers", () => {
  test("on every documented operation's answer, errors, 404, 405, 413, the document, the docs", async () => {
    const user = await signUp();
    const replies: [string, Reply][] = [];
    for (const operation of await openApiOperations()) {
      const path = operation.path.replace(/\{[^}]+\}/g, (name) =>
        name === "{code}" ? "forbidden" : name === "{username}" ? user.username : "1",
      );
      replies.push([
        `${operation.method} ${path}`,
        await call(operation.method, path, {
          token: user.accessToken,
          body: operation.method === "GET" ? undefined : {},
        }),
      ]);
    }
    replies.push(["404", await call("GET", "/nowhere")]);
    replies.push(["405", await call("DELETE", "/healthz")]);
    replies.push(["413", await call("POST", "/users", { body: "x".repeat(70_000) })]);
    replies.push([
      "415",
      await call("POST", "/users", { body: "a=b", headers: { "Content-Type": "text/plain" } }),
    ]);
    replies.push(["401", await call("GET", "/users/me")]);
    replies.push(["openapi", await call("GET", "/openapi.json")]);
    replies.push(["docs", await call("GET", "/docs")]);
    for (const [where, reply] of replies) expectSecurityHeaders(reply, where);
    // Outside production, no HSTS (it would pin localhost to https).
    expect(replies[0]?.[1].headers.get("Strict-Transport-Security")).toBeNull();
  });
});

describe("API8: error bodies never carry internals", () => {
  test("malformed JSON, wrong types and odd encodings: a plain 4xx detail, no parser or schema text", async () => {
    const bodies = ['{"username": ', "[1,2", '{"username": NaN}', "\u0000\u0001", '{"a":1}{"b":2}'];
    for (const body of bodies) {
      const reply = await call("POST", "/users", { body });
      expect(reply.status).toBe(400);
      expect(JSON.stringify(reply.body)).not.toMatch(INTERNALS);
    }
    const typed = await call("POST", "/users", {
      body: { username: 1, password: [], full_name: {}, email: null },
    });
    expectProblem(typed, 400, "validation_failed");
    expect(JSON.stringify(typed.body)).not.toMatch(INTERNALS);
  });

  test("an unexpected failure is a generic 500 (REST and Connect): no message, stack or driver text", async () => {
    const failure = new Error(
      'password authentication failed for user "postgres" (hunter2)\n    at Connection.parse (node_modules/postgres/src/connection.js:1:1)',
    );
    const bank = await bankApp(
      {},
      {
        database: () => {
          throw failure;
        },
      },
    );
    const rest = await bank.request("GET", "/users/me");
    const me = await bank.request("POST", "/accounts", { body: { currency: "USD" } });
    for (const reply of [rest, me]) {
      expect(reply.status).toBe(500);
      expect(JSON.stringify(reply.body)).not.toMatch(INTERNALS);
      expectProblem(reply, 500, "internal");
    }
    const rpc = await bank.request<{ code: string; message: string }>(
      "POST",
      "/pb.SimpleBank/LoginUser",
      {
        body: { username: "someone", password: "long enough" },
        headers: { "Connect-Protocol-Version": "1" },
      },
    );
    expect(rpc.status).toBeGreaterThanOrEqual(500);
    expect(JSON.stringify(rpc.body)).not.toMatch(INTERNALS);
  });

  test("the database unreachable: 503 with Retry-After, no host, password or driver code", async () => {
    const database = await testDatabase();
    const handle = openDatabase({
      url: "postgres://postgres:hunter2@127.0.0.1:1/nowhere",
      poolMax: 1,
      applicationName: "security-api8",
    });
    try {
      const services = testContext(database.config, handle.db);
      const bank = await bankApp({}, { services, database: () => handle.db });
      const replies = [
        await bank.request("POST", "/users/login", {
          body: { username: "someone", password: "long enough" },
        }),
        await bank.request("POST", "/users", {
          body: {
            username: "someone_new",
            password: "long enough",
            full_name: "Some One",
            email: "someone@example.com",
          },
        }),
        await bank.request("GET", "/readyz"),
      ];
      for (const reply of replies) {
        expect(reply.status).toBe(503);
        expect(reply.headers.get("Retry-After") ?? "").toMatch(/^\d+$/);
        expect(JSON.stringify(reply.body)).not.toMatch(
          /hunter2|127\.0\.0\.1:1|ECONNREFUSED|\bat \w/,
        );
      }
      const rpc = await bank.request<{ code: string; message: string }>(
        "POST",
        "/pb.SimpleBank/LoginUser",
        {
          body: { username: "someone", password: "long enough" },
          headers: { "Connect-Protocol-Version": "1" },
        },
      );
      expect(rpc.body.code).toBe("unavailable");
      expect(JSON.stringify(rpc.body)).not.toMatch(/hunter2|127\.0\.0\.1:1|ECONNREFUSED/);
    } finally {
      await handle.close({ timeoutSeconds: 1 }).catch(() => {});
    }
  });

  test("Connect errors name no internals either", async () => {
    const reply = await connectCall("GetAccount", { id: "not a number" });
    expect(reply.status).toBeGreaterThanOrEqual(400);
    expect(reply.status).toBeLessThan(500);
    expect(JSON.stringify(reply.body)).not.toMatch(/node_modules|\.ts:\d+|\bat \w+ \(/);
  });
});

describe("API8: a production configuration", () => {
  const PRODUCTION = {
    ...TEST_ENV,
    NODE_ENV: "production",
    DATABASE_URL: "postgres://postgres@127.0.0.1:5432/unused",
    RESEND_API_KEY: "re_production_key",
    EMAIL_FROM: "Bank <no-reply@bank.example>",
    APP_BASE_URL: "https://bank.example",
    UPSTASH_REDIS_REST_URL: "https://redis.bank.example",
    UPSTASH_REDIS_REST_TOKEN: "production-token",
    RATE_LIMIT_ENABLED: "false",
  };

  test("refuses to start with development defaults (the dev token key, no database, no mailer)", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow();
    const withoutKey: Record<string, string> = { ...PRODUCTION };
    delete withoutKey.TOKEN_SYMMETRIC_KEY;
    expect(() => loadConfig(withoutKey)).toThrow(/TOKEN_SYMMETRIC_KEY/);
  });

  test("serves HSTS, and no debug or development route", async () => {
    const config = loadConfig(PRODUCTION);
    const database = await testDatabase();
    const services = testContext(config, database.handle.db, { jobs: database.jobs.queue });
    const app = createApp(
      buildHttpDeps(config, {
        services,
        stores: buildSharedStores(config, silentLogger),
        logger: silentLogger,
        database: () => database.handle.db,
        connectionIp: () => undefined,
        docsAssets,
        consoleAssets,
      }),
    );
    const health = await callOn(app, "GET", "/healthz");
    expect(health.status).toBe(200);
    expect(health.headers.get("Strict-Transport-Security")).toMatch(/max-age=\d{8,}/);
    expectSecurityHeaders(health, "production /healthz");
    for (const path of [
      "/debug",
      "/debug/pprof",
      "/dev",
      "/__dev",
      "/_debug",
      "/test",
      "/emails",
      "/outbox",
      "/mailbox",
      "/metrics",
      "/env",
      "/config",
      "/.env",
    ]) {
      const reply = await callOn(app, "GET", path);
      expectProblem(reply, 404, "not_found");
      expect(reply.headers.get("Strict-Transport-Security")).toMatch(/max-age=/);
    }
    const unauthenticated = await callOn(app, "GET", "/users/me");
    expectProblem(unauthenticated, 401, "unauthenticated");
    expect(JSON.stringify(unauthenticated.body)).not.toMatch(INTERNALS);
  });
});

// ---- CORS and caching (contract, Conventions and "Users and sessions") -----------------------

const ALLOWED_ORIGIN = "http://localhost:3000";
const REFUSED_ORIGINS = [
  "https://evil.example",
  "null",
  `${ALLOWED_ORIGIN}.evil.example`,
  `https://evil.example/${ALLOWED_ORIGIN}`,
  "HTTP://LOCALHOST:3000",
  "http://localhost:3001",
];

/** Every Access-Control-* header of a reply. */
const corsHeaders = (reply: Reply) =>
  [...reply.headers.keys()].filter((name) => name.toLowerCase().startsWith("access-control-"));

describe("API8: CORS", () => {
  test("an allowed origin gets its CORS headers (the control)", async () => {
    const reply = await call("GET", "/healthz", { headers: { Origin: ALLOWED_ORIGIN } });
    expect(reply.headers.get("Access-Control-Allow-Origin")).toBe(ALLOWED_ORIGIN);
  });

  test("any other origin gets no CORS header at all: simple requests, errors, preflights, REST and Connect", async () => {
    const user = await signUp();
    for (const origin of REFUSED_ORIGINS) {
      const replies: [string, Reply][] = [
        ["GET /healthz", await call("GET", "/healthz", { headers: { Origin: origin } })],
        [
          "GET /users/me",
          await call("GET", "/users/me", { token: user.accessToken, headers: { Origin: origin } }),
        ],
        ["401", await call("GET", "/users/me", { headers: { Origin: origin } })],
        ["404", await call("GET", "/nowhere", { headers: { Origin: origin } })],
        [
          "preflight /accounts",
          await call("OPTIONS", "/accounts", {
            headers: {
              Origin: origin,
              "Access-Control-Request-Method": "POST",
              "Access-Control-Request-Headers": "authorization,content-type",
            },
          }),
        ],
        [
          "preflight Connect",
          await call("OPTIONS", "/pb.SimpleBank/GetAccount", {
            headers: {
              Origin: origin,
              "Access-Control-Request-Method": "POST",
              "Access-Control-Request-Headers": "content-type,connect-protocol-version",
            },
          }),
        ],
        [
          "Connect LoginUser",
          await call("POST", "/pb.SimpleBank/LoginUser", {
            body: { username: user.username, password: user.password },
            headers: { Origin: origin, "Connect-Protocol-Version": "1" },
          }),
        ],
      ];
      for (const [where, reply] of replies) {
        if (corsHeaders(reply).length > 0) {
          throw new Error(`${where} from ${origin}: ${corsHeaders(reply).join(", ")}`);
        }
      }
    }
  });
});

describe("API8: token responses are never cached", () => {
  test("login, renewal, the gateway's login and Connect's: Cache-Control no-store", async () => {
    const user = await signUp();
    const replies = [
      await call("POST", "/users/login", {
        body: { username: user.username, password: user.password },
      }),
      await call("POST", "/tokens/renew_access", { body: { refresh_token: user.refreshToken } }),
      await call("POST", "/v1/login_user", {
        body: { username: user.username, password: user.password },
      }),
      await connectCall("LoginUser", { username: user.username, password: user.password }),
    ];
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(reply.headers.get("Cache-Control") ?? "").toContain("no-store");
    }
  });
});
