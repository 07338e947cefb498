import { beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { eq } from "drizzle-orm";
import { bunConnectionIp } from "../../src/bun/connection-ip.ts";
import type { PasswordHasher } from "../../src/core/auth/password-hasher.ts";
import { createTokenMaker } from "../../src/core/auth/tokens.ts";
import { loadConfig } from "../../src/core/config/config.ts";
import type { Database } from "../../src/core/db/client.ts";
import { sessions } from "../../src/core/db/schema.ts";
import { systemClock } from "../../src/core/domain/clock.ts";
import { createApp } from "../../src/core/http/app.ts";
import {
  call,
  callOn,
  expectProblem,
  httpDepsFor,
  logIn,
  signUp,
  type TestUser,
  testApp,
  testHttpDeps,
} from "../support/app.ts";
import { TEST_CONFIG, type TestContext, testContext, testDatabase } from "../support/database.ts";
import { uniqueName } from "../support/fixtures.ts";
import { captureLogs } from "../support/logs.ts";

/**
 * Contract, "Users and sessions" and "Tokens": logins, rotating refresh tokens with theft
 * detection, logout, and both token formats, end to end over HTTP on the real database.
 */

interface LoginJson {
  session_id: string;
  access_token: string;
  access_token_expires_at: string;
  refresh_token: string;
  refresh_token_expires_at: string;
  user: Record<string, unknown>;
}

interface TokenPairJson {
  access_token: string;
  access_token_expires_at: string;
  refresh_token: string;
  refresh_token_expires_at: string;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

let deps: TestContext;
let db: Database;
beforeAll(async () => {
  const database = await testDatabase();
  deps = database.deps;
  db = database.handle.db;
});

const login = (username: string, password: string, headers: Record<string, string> = {}) =>
  call<LoginJson>("POST", "/users/login", { body: { username, password }, headers });

const renew = (refreshToken: unknown) =>
  call<TokenPairJson>("POST", "/tokens/renew_access", { body: { refresh_token: refreshToken } });

const me = (token: string) => call("GET", "/users/me", { token });

const logout = (token: string) => call("POST", "/users/logout", { token });

async function sessionRow(id: string) {
  const [row] = await db.select().from(sessions).where(eq(sessions.id, id));
  if (!row) throw new Error(`session ${id} not found`);
  return row;
}

const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");

/** Flips one character in the middle of a token (keeps it the same length and alphabet). */
function tamper(token: string): string {
  const at = Math.floor(token.length / 2);
  const replacement = token[at] === "A" ? "B" : "A";
  return token.slice(0, at) + replacement + token.slice(at + 1);
}

// ---- POST /users/login -------------------------------------------------------------------

describe("POST /users/login", () => {
  test("TestLoginUserAPI > OK: 200 with the session, both tokens, their expiries and the user", async () => {
    const user = await signUp();
    const before = Date.now();
    const res = await login(user.username, user.password);
    const after = Date.now();
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual([
      "access_token",
      "access_token_expires_at",
      "refresh_token",
      "refresh_token_expires_at",
      "session_id",
      "user",
    ]);
    expect(res.body.session_id).toMatch(UUID);
    expect(res.body.access_token.length).toBeGreaterThan(20);
    expect(res.body.refresh_token.length).toBeGreaterThan(20);
    expect(res.body.access_token).not.toBe(res.body.refresh_token);

    expect(res.body.access_token_expires_at).toMatch(RFC3339_UTC);
    expect(res.body.refresh_token_expires_at).toMatch(RFC3339_UTC);
    const accessExpiry = Date.parse(res.body.access_token_expires_at);
    const refreshExpiry = Date.parse(res.body.refresh_token_expires_at);
    expect(accessExpiry).toBeGreaterThanOrEqual(before + 15 * MINUTE - 1_000);
    expect(accessExpiry).toBeLessThanOrEqual(after + 15 * MINUTE + 1_000);
    expect(refreshExpiry).toBeGreaterThanOrEqual(before + 24 * HOUR - 1_000);
    expect(refreshExpiry).toBeLessThanOrEqual(after + 24 * HOUR + 1_000);

    const profile = await me(res.body.access_token);
    expect(profile.status).toBe(200);
    expect(res.body.user).toEqual(profile.body);
    expect(JSON.stringify(res.body.user)).not.toContain("$2");

    // The session row: this id, this user, open, expiring with the refresh token.
    const row = await sessionRow(res.body.session_id);
    expect(row.username).toBe(user.username);
    expect(row.isBlocked).toBe(false);
    expect(row.expiresAt.getTime()).toBe(refreshExpiry);
  });

  test("token responses are never cached: Cache-Control: no-store, on success and failure", async () => {
    const user = await signUp();
    const ok = await login(user.username, user.password);
    expect(ok.status).toBe(200);
    expect(ok.headers.get("Cache-Control")).toBe("no-store");
    const refused = await login(user.username, `${user.password}x`);
    expectProblem(refused, 401, "invalid_credentials");
    expect(refused.headers.get("Cache-Control")).toBe("no-store");
    const renewed = await renew(ok.body.refresh_token);
    expect(renewed.status).toBe(200);
    expect(renewed.headers.get("Cache-Control")).toBe("no-store");
    const tampered = await renew(tamper(renewed.body.refresh_token));
    expect(tampered.status).toBe(401);
    expect(tampered.headers.get("Cache-Control")).toBe("no-store");
    // Responses without tokens are not concerned.
    expect((await me(renewed.body.access_token)).headers.get("Cache-Control")).toBeNull();
  });

  test("each login opens its own session", async () => {
    const user = await signUp();
    const again = await logIn(user.username, user.password);
    expect(again.sessionId).not.toBe(user.sessionId);
    expect(again.accessToken).not.toBe(user.accessToken);
  });

  test("TestLoginUserAPI > UserNotFound: 401 invalid_credentials (contract fix: was 404)", async () => {
    expectProblem(await login(uniqueName("nobody"), "some password"), 401, "invalid_credentials");
  });

  test("TestLoginUserAPI > IncorrectPassword: 401, a body identical to an unknown user's but for request_id", async () => {
    const user = await signUp();
    const wrong = await login(user.username, "incorrect password");
    const unknown = await login(uniqueName("nobody"), "incorrect password");
    expectProblem(wrong, 401, "invalid_credentials");
    expectProblem(unknown, 401, "invalid_credentials");
    const { request_id: a, ...wrongBody } = wrong.body as unknown as Record<string, unknown>;
    const { request_id: b, ...unknownBody } = unknown.body as unknown as Record<string, unknown>;
    expect(a).not.toBe(b);
    expect(wrongBody).toEqual(unknownBody);
    expect([...wrong.headers.keys()].sort()).toEqual([...unknown.headers.keys()].sort());
  });

  test("TestLoginUserAPI > InvalidUsername: 400 naming username", async () => {
    const res = await login("invalid-user#1", "some password");
    expectProblem(res, 400, "validation_failed");
    const { errors } = res.body as unknown as { errors: { field: string; message: string }[] };
    expect(errors).toEqual([{ field: "username", message: expect.any(String) }]);
  });

  test("bad bodies: missing fields, wrong types, unknown fields, not an object: 400", async () => {
    for (const body of [
      {},
      { username: "alice" },
      { username: 1, password: 2 },
      { username: "alice", password: "password1", remember_me: true },
      [],
      null,
    ]) {
      expectProblem(
        await call("POST", "/users/login", { body: JSON.stringify(body) }),
        400,
        "validation_failed",
      );
    }
  });

  test("the system user `bank` cannot log in: 401 invalid_credentials", async () => {
    expectProblem(await login("bank", "any password at all"), 401, "invalid_credentials");
    expectProblem(await login("bank", "!"), 400, "validation_failed");
  });

  test("the session records the User-Agent and the client IP (in process, no socket: 'unknown')", async () => {
    const user = await signUp();
    const app = await testApp();
    const inProcess = (headers: Record<string, string> = {}) =>
      callOn<LoginJson>(app, "POST", "/users/login", {
        body: { username: user.username, password: user.password },
        headers,
      });
    const res = await inProcess({ "User-Agent": "bank-tests/1.0 (ua)" });
    const row = await sessionRow(res.body.session_id);
    expect(row.userAgent).toBe("bank-tests/1.0 (ua)");
    expect(row.clientIp).toBe("unknown");
    const noAgent = await inProcess();
    expect((await sessionRow(noAgent.body.session_id)).userAgent).toBe("");
  });

  test("behind one trusted proxy, the client IP is the last X-Forwarded-For entry", async () => {
    const user = await signUp();
    const forwarded = { "X-Forwarded-For": "203.0.113.9, 198.51.100.7" };
    const body = { username: user.username, password: user.password };

    const oneHop = createApp(await testHttpDeps({ trustProxyHops: 1 }));
    const viaProxy = await callOn<LoginJson>(oneHop, "POST", "/users/login", {
      body,
      headers: forwarded,
    });
    expect(viaProxy.status).toBe(200);
    expect((await sessionRow(viaProxy.body.session_id)).clientIp).toBe("198.51.100.7");

    const twoHops = createApp(await testHttpDeps({ trustProxyHops: 2 }));
    const viaTwo = await callOn<LoginJson>(twoHops, "POST", "/users/login", {
      body,
      headers: forwarded,
    });
    expect((await sessionRow(viaTwo.body.session_id)).clientIp).toBe("203.0.113.9");

    const noProxy = createApp(await testHttpDeps({ trustProxyHops: 0 }));
    const direct = await callOn<LoginJson>(noProxy, "POST", "/users/login", {
      body,
      headers: forwarded,
    });
    expect((await sessionRow(direct.body.session_id)).clientIp).toBe("unknown");
  });

  test("served by Bun.serve, the client IP is the socket peer's address", async () => {
    const user = await signUp();
    const app = createApp(await testHttpDeps({ connectionIp: bunConnectionIp }));
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/users/login`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "User-Agent": "socket-test" },
        body: JSON.stringify({ username: user.username, password: user.password }),
      });
      expect(res.status).toBe(200);
      const { session_id } = (await res.json()) as LoginJson;
      const row = await sessionRow(session_id);
      expect(row.clientIp).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
      expect(row.userAgent).toBe("socket-test");
    } finally {
      server.stop(true);
    }
  });

  test("an unknown user costs one bcrypt verify against a dummy hash, like a wrong password", async () => {
    let verifies = 0;
    const counting: PasswordHasher = {
      hash: (password) => deps.passwords.hash(password),
      verify: async (password, hash) => {
        verifies++;
        return deps.passwords.verify(password, hash);
      },
    };
    const app = createApp(await testHttpDeps({ services: { ...deps, passwords: counting } }));
    const user = await signUp();
    const attempt = async (username: string, password: string) => {
      verifies = 0;
      const res = await callOn(app, "POST", "/users/login", { body: { username, password } });
      return { status: res.status, code: (res.body as { code?: string }).code, verifies };
    };
    expect(await attempt(uniqueName("nobody"), "whatever pw")).toEqual({
      status: 401,
      code: "invalid_credentials",
      verifies: 1,
    });
    expect(await attempt(user.username, "wrong password")).toEqual({
      status: 401,
      code: "invalid_credentials",
      verifies: 1,
    });
    expect(await attempt("bank", "whatever pw")).toEqual({
      status: 401,
      code: "invalid_credentials",
      verifies: 1,
    });
    expect((await attempt(user.username, user.password)).verifies).toBe(1);
  });

  // Failed logins rate limited per username and per IP (429 with Retry-After): see
  // tests/http/rate-limits.test.ts.
});

// ---- POST /tokens/renew_access ----------------------------------------------------------

describe("POST /tokens/renew_access", () => {
  test("the service's log line about a refused token carries the request's id", async () => {
    const { logger, lines: records } = captureLogs();
    const app = createApp(await testHttpDeps({ logger }));
    const user = await signUp();
    const renewOn = (refreshToken: string) =>
      callOn(app, "POST", "/tokens/renew_access", { body: { refresh_token: refreshToken } });
    const first = await renewOn(user.refreshToken);
    expect(first.status).toBe(200);
    expect((await renewOn(String(first.body.refresh_token))).status).toBe(200);
    const reuse = await renewOn(user.refreshToken);
    expectProblem(reuse, 401, "unauthenticated");
    const refused = records.find(
      (line) => line.msg === "refresh token refused" && line.sessionId === user.sessionId,
    );
    expect(refused?.request_id).toBe(reuse.headers.get("X-Request-Id") ?? "missing");
  });

  test("200: a NEW access token and a NEW refresh token, both working", async () => {
    const user = await signUp();
    const res = await renew(user.refreshToken);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual([
      "access_token",
      "access_token_expires_at",
      "refresh_token",
      "refresh_token_expires_at",
    ]);
    expect(res.body.access_token).not.toBe(user.accessToken);
    expect(res.body.refresh_token).not.toBe(user.refreshToken);
    expect(res.body.access_token_expires_at).toMatch(RFC3339_UTC);
    expect(Date.parse(res.body.access_token_expires_at)).toBeGreaterThan(Date.now() + 14 * MINUTE);
    expect((await me(res.body.access_token)).status).toBe(200);
    // The access token from login still works (same open session).
    expect((await me(user.accessToken)).status).toBe(200);
    const next = await renew(res.body.refresh_token);
    expect(next.status).toBe(200);
  });

  test("a refresh token older than the previous one: 401, and the whole session is blocked (theft detection)", async () => {
    const user = await signUp();
    const first = await renew(user.refreshToken);
    expect(first.status).toBe(200);
    const second = await renew(first.body.refresh_token);
    expect(second.status).toBe(200);

    expectProblem(await renew(user.refreshToken), 401, "unauthenticated");

    expect((await sessionRow(user.sessionId)).isBlocked).toBe(true);
    expectProblem(await renew(second.body.refresh_token), 401, "unauthenticated");
    expectProblem(await renew(first.body.refresh_token), 401, "unauthenticated");
    expectProblem(await me(second.body.access_token), 401, "unauthenticated");
    expectProblem(await me(first.body.access_token), 401, "unauthenticated");
    expectProblem(await me(user.accessToken), 401, "unauthenticated");
  });

  test("the reuse block is confined to that session", async () => {
    const user = await signUp();
    const other = await logIn(user.username, user.password);
    const first = await renew(user.refreshToken);
    await renew(first.body.refresh_token);
    expectProblem(await renew(user.refreshToken), 401, "unauthenticated");
    expect((await sessionRow(user.sessionId)).isBlocked).toBe(true);
    expect((await me(other.accessToken)).status).toBe(200);
    expect((await renew(other.refreshToken)).status).toBe(200);
  });

  test("an access token presented as a refresh token: 401, the session stays open", async () => {
    const user = await signUp();
    expectProblem(await renew(user.accessToken), 401, "unauthenticated");
    expect((await me(user.accessToken)).status).toBe(200);
    expect((await renew(user.refreshToken)).status).toBe(200);
  });

  test("tampered and garbage tokens: 401; empty, missing or non-string: 400", async () => {
    const user = await signUp();
    for (const token of [
      tamper(user.refreshToken),
      `${user.refreshToken}x`,
      user.refreshToken.slice(0, -2),
      "not-a-token",
      "v4.local.AAAA",
      "eyJhbGciOiJub25lIn0.eyJ1c2VybmFtZSI6ImFsaWNlIn0.",
      " ",
    ]) {
      expectProblem(await renew(token), 401, "unauthenticated");
    }
    for (const token of ["", 42, null, ["x"], { token: "x" }]) {
      expectProblem(await renew(token), 400, "validation_failed");
    }
    expectProblem(
      await call("POST", "/tokens/renew_access", { body: {} }),
      400,
      "validation_failed",
    );
    expectProblem(await renew("x".repeat(5_000)), 400, "validation_failed");
    // None of that touched the real session.
    expect((await renew(user.refreshToken)).status).toBe(200);
  });

  test("a token signed with another key: 401", async () => {
    const user = await signUp();
    const foreign = createTokenMaker({
      kind: "paseto",
      symmetricKey: "another-key-0123456789-abcdefghi",
      clock: systemClock,
    });
    const { token } = await foreign.create({
      username: user.username,
      role: "banker",
      sessionId: user.sessionId,
      tokenType: "refresh",
      durationMs: HOUR,
    });
    expectProblem(await renew(token), 401, "unauthenticated");
  });

  test("an expired refresh token (real token maker, negative duration): 401 token_expired", async () => {
    const user = await signUp();
    const { token } = await deps.tokens.create({
      username: user.username,
      role: "depositor",
      sessionId: user.sessionId,
      tokenType: "refresh",
      durationMs: -MINUTE,
    });
    expectProblem(await renew(token), 401, "token_expired");
  });

  test("a refresh token past a tiny REFRESH_TOKEN_DURATION: 401 token_expired", async () => {
    const services = testContext(
      loadConfig({
        NODE_ENV: "test",
        BCRYPT_COST: "4",
        TOKEN_SYMMETRIC_KEY: TEST_CONFIG.tokenSymmetricKey,
        REFRESH_TOKEN_DURATION: "200ms",
      }),
      db,
    );
    const app = createApp(httpDepsFor(services));
    const user = await signUp();
    const res = await callOn<LoginJson>(app, "POST", "/users/login", {
      body: { username: user.username, password: user.password },
    });
    expect(res.status).toBe(200);
    const lifetime =
      Date.parse(res.body.refresh_token_expires_at) - Date.parse(res.body.access_token_expires_at);
    expect(lifetime).toBeLessThan(0); // the refresh token dies long before the access token
    await Bun.sleep(300);
    expectProblem(
      await callOn(app, "POST", "/tokens/renew_access", {
        body: { refresh_token: res.body.refresh_token },
      }),
      401,
      "token_expired",
    );
  });

  test("refresh tokens are stored only as SHA-256 hashes, before and after rotation", async () => {
    const user = await signUp();
    const check = async (refreshToken: string) => {
      const row = await sessionRow(user.sessionId);
      const values = Object.values(row).map((value) =>
        value instanceof Date ? value.toISOString() : String(value),
      );
      for (const value of values) {
        expect(value).not.toBe(refreshToken);
        expect(value.includes(refreshToken)).toBe(false);
      }
      expect(row.refreshTokenHash).toBe(sha256(refreshToken));
    };
    await check(user.refreshToken);
    const rotated = await renew(user.refreshToken);
    await check(rotated.body.refresh_token);
    // The raw session table has no column that could hold the token.
    const columns = await (await testDatabase()).handle.sql<{ column_name: string }[]>`
      select column_name from information_schema.columns where table_name = 'sessions'`;
    expect(columns.map((c) => c.column_name)).not.toContain("refresh_token");
  });

  // Concurrent renewals, the reuse interval and REFRESH_TOKEN_REUSE_INTERVAL=0:
  // tests/http/refresh-reuse.test.ts.

  test("rotated refresh tokens keep the session's original expiry", async () => {
    const user = await signUp();
    const first = await login(user.username, user.password);
    const original = Date.parse(first.body.refresh_token_expires_at);
    let refreshToken = first.body.refresh_token;
    for (let i = 0; i < 3; i++) {
      await Bun.sleep(5);
      const res = await renew(refreshToken);
      expect(res.status).toBe(200);
      expect(Date.parse(res.body.refresh_token_expires_at)).toBeLessThanOrEqual(original);
      expect(Date.parse(res.body.refresh_token_expires_at)).toBeGreaterThan(original - 5_000);
      refreshToken = res.body.refresh_token;
    }
    expect((await sessionRow(first.body.session_id)).expiresAt.getTime()).toBe(original);
  });

  test("a refresh token of a session whose row was deleted: 401", async () => {
    const user = await signUp();
    const extra = await logIn(user.username, user.password);
    await db.delete(sessions).where(eq(sessions.id, extra.sessionId));
    expectProblem(await renew(extra.refreshToken), 401, "unauthenticated");
    // Access tokens are checked against the revocation store, not the session row: the app never
    // deletes sessions, it revokes them (logout, password change, reuse), which the store records.
  });
});

// ---- POST /users/logout ------------------------------------------------------------------

describe("POST /users/logout", () => {
  test("204 with no body; then the access token and the refresh token get 401", async () => {
    const user = await signUp();
    const res = await logout(user.accessToken);
    expect(res.status).toBe(204);
    expect(res.body as unknown).toBe("");
    expectProblem(await me(user.accessToken), 401, "unauthenticated");
    expectProblem(await renew(user.refreshToken), 401, "unauthenticated");
    expect((await sessionRow(user.sessionId)).isBlocked).toBe(true);
  });

  test("logging out twice: 401 the second time", async () => {
    const user = await signUp();
    expect((await logout(user.accessToken)).status).toBe(204);
    expectProblem(await logout(user.accessToken), 401, "unauthenticated");
  });

  test("an access token from a renewal is revoked by logout too", async () => {
    const user = await signUp();
    const renewed = await renew(user.refreshToken);
    expect((await logout(user.accessToken)).status).toBe(204);
    expectProblem(await me(renewed.body.access_token), 401, "unauthenticated");
    expectProblem(await renew(renewed.body.refresh_token), 401, "unauthenticated");
  });

  test("other sessions of the same user are unaffected", async () => {
    const user = await signUp();
    const other = await logIn(user.username, user.password);
    expect((await logout(user.accessToken)).status).toBe(204);
    expect((await me(other.accessToken)).status).toBe(200);
    expect((await renew(other.refreshToken)).status).toBe(200);
  });

  test("without a token: 401", async () => {
    expectProblem(await call("POST", "/users/logout"), 401, "unauthenticated");
  });

  test("a user can log in again after logging out", async () => {
    const user = await signUp();
    await logout(user.accessToken);
    const again = await logIn(user.username, user.password);
    expect((await me(again.accessToken)).status).toBe(200);
  });
});

// ---- token types -------------------------------------------------------------------------

describe("access and refresh tokens cannot stand in for each other", () => {
  test("a refresh token as a Bearer access token: 401 (and it stays usable for renewal)", async () => {
    const user = await signUp();
    expectProblem(await me(user.refreshToken), 401, "unauthenticated");
    expectProblem(await logout(user.refreshToken), 401, "unauthenticated");
    expectProblem(
      await call("PATCH", `/users/${user.username}`, {
        token: user.refreshToken,
        body: { full_name: "Not Allowed" },
      }),
      401,
      "unauthenticated",
    );
    expect((await renew(user.refreshToken)).status).toBe(200);
  });

  test("an access token as a refresh token: 401", async () => {
    const user = await signUp();
    expectProblem(await renew(user.accessToken), 401, "unauthenticated");
  });

  test("an expired access token: 401 token_expired; a tampered one: 401 unauthenticated", async () => {
    const user = await signUp();
    const { token } = await deps.tokens.create({
      username: user.username,
      role: "depositor",
      sessionId: user.sessionId,
      tokenType: "access",
      durationMs: -MINUTE,
    });
    expectProblem(await me(token), 401, "token_expired");
    expectProblem(await me(tamper(user.accessToken)), 401, "unauthenticated");
  });
});

// ---- both token formats ------------------------------------------------------------------

describe("TOKEN_TYPE=jwt", () => {
  test("login → me → renew → logout works with JWT HS256 tokens", async () => {
    const services = testContext(
      loadConfig({ NODE_ENV: "test", TOKEN_TYPE: "jwt", BCRYPT_COST: "4" }),
      db,
    );
    expect(services.tokens.kind).toBe("jwt");
    const app = createApp(httpDepsFor(services));
    const user: TestUser = await signUp();

    const loggedIn = await callOn<LoginJson>(app, "POST", "/users/login", {
      body: { username: user.username, password: user.password },
    });
    expect(loggedIn.status).toBe(200);
    const { access_token, refresh_token } = loggedIn.body;
    for (const token of [access_token, refresh_token]) {
      const parts = token.split(".");
      expect(parts).toHaveLength(3);
      const header = JSON.parse(Buffer.from(parts[0] ?? "", "base64url").toString());
      expect(header.alg).toBe("HS256");
    }

    const profile = await callOn(app, "GET", "/users/me", { token: access_token });
    expect(profile.status).toBe(200);
    expect(profile.body).toMatchObject({ username: user.username });

    // The PASETO app and the JWT app do not accept each other's tokens.
    expectProblem(await me(access_token), 401, "unauthenticated");
    expectProblem(
      await callOn(app, "GET", "/users/me", { token: user.accessToken }),
      401,
      "unauthenticated",
    );

    const renewed = await callOn<TokenPairJson>(app, "POST", "/tokens/renew_access", {
      body: { refresh_token },
    });
    expect(renewed.status).toBe(200);
    expect(renewed.body.refresh_token).not.toBe(refresh_token);
    expect(renewed.body.refresh_token.split(".")).toHaveLength(3);
    expect(
      (await callOn(app, "GET", "/users/me", { token: renewed.body.access_token })).status,
    ).toBe(200);

    // The refresh token as an access token, and vice versa, fail in JWT form too.
    expectProblem(
      await callOn(app, "GET", "/users/me", { token: renewed.body.refresh_token }),
      401,
      "unauthenticated",
    );

    const out = await callOn(app, "POST", "/users/logout", { token: renewed.body.access_token });
    expect(out.status).toBe(204);
    for (const token of [access_token, renewed.body.access_token]) {
      expectProblem(await callOn(app, "GET", "/users/me", { token }), 401, "unauthenticated");
    }
    expectProblem(
      await callOn(app, "POST", "/tokens/renew_access", {
        body: { refresh_token: renewed.body.refresh_token },
      }),
      401,
      "unauthenticated",
    );
  });

  test("a JWT with alg none: 401", async () => {
    const services = testContext(
      loadConfig({ NODE_ENV: "test", TOKEN_TYPE: "jwt", BCRYPT_COST: "4" }),
      db,
    );
    const app = createApp(httpDepsFor(services));
    const user = await signUp();
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const now = new Date();
    const claims = {
      id: crypto.randomUUID(),
      sid: user.sessionId,
      username: user.username,
      role: "banker",
      token_type: "access",
      issued_at: now.toISOString(),
      expired_at: new Date(now.getTime() + MINUTE).toISOString(),
      iat: Math.floor(now.getTime() / 1000),
      nbf: Math.floor(now.getTime() / 1000),
      exp: Math.floor(now.getTime() / 1000) + 60,
    };
    const unsigned = `${encode({ alg: "none", typ: "JWT" })}.${encode(claims)}.`;
    expectProblem(
      await callOn(app, "GET", "/users/me", { token: unsigned }),
      401,
      "unauthenticated",
    );
  });
});
