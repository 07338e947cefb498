import { beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { eq } from "drizzle-orm";
import { loadConfig } from "../../src/core/config/config.ts";
import type { Database } from "../../src/core/db/client.ts";
import { sessions } from "../../src/core/db/schema.ts";
import type { Clock } from "../../src/core/domain/clock.ts";
import { SimpleBank } from "../../src/core/grpc/gen/pb/service_simple_bank_pb.ts";
import { createApp } from "../../src/core/http/app.ts";
import { call, callOn, expectProblem, httpDepsFor, signUp, targetUrl } from "../support/app.ts";
import { TEST_ENV, testContext, testDatabase } from "../support/database.ts";
import { captureLogs } from "../support/logs.ts";

/**
 * Contract, "Users and sessions", reuse interval: within REFRESH_TOKEN_REUSE_INTERVAL after a
 * rotation, the immediately previous refresh token yields a fresh pair (rotating again)
 * instead of blocking the session; an older token, or the previous one after the interval,
 * blocks it; 0 is strict. Concurrent renewals never leave two live chains.
 */

interface PairJson {
  access_token: string;
  refresh_token: string;
  session_id?: string;
}

let db: Database;
beforeAll(async () => {
  db = (await testDatabase()).handle.db;
});

const sha256 = (value: string) => createHash("sha256").update(value).digest("hex");

async function sessionRow(id: string) {
  const [row] = await db.select().from(sessions).where(eq(sessions.id, id));
  if (!row) throw new Error(`session ${id} not found`);
  return row;
}

/** A clock that stands still until the test moves it (no sleeping). */
function manualClock(): Clock & { advance(ms: number): void } {
  const start = Date.now();
  let offset = 0;
  return {
    now: () => new Date(start + offset),
    advance: (ms) => {
      offset += ms;
    },
  };
}

/** An in-process app with its own REFRESH_TOKEN_REUSE_INTERVAL and clock, on the test database. */
async function appWith(interval: string, clock?: Clock) {
  const { logger, lines } = captureLogs();
  const ctx = testContext(
    loadConfig({ ...TEST_ENV, REFRESH_TOKEN_REUSE_INTERVAL: interval }),
    (await testDatabase()).handle.db,
    { ...(clock ? { clock } : {}), logger },
  );
  const app = createApp(httpDepsFor(ctx, { logger }));
  const renew = (refreshToken: string) =>
    callOn<PairJson>(app, "POST", "/tokens/renew_access", {
      body: { refresh_token: refreshToken },
    });
  const login = async () => {
    const user = await signUp();
    const res = await callOn<PairJson & { session_id: string }>(app, "POST", "/users/login", {
      body: { username: user.username, password: user.password },
    });
    expect(res.status).toBe(200);
    return res.body;
  };
  const me = (token: string) => callOn(app, "GET", "/users/me", { token });
  return { app, renew, login, me, lines };
}

const renewOnTarget = (refreshToken: string) =>
  call<PairJson>("POST", "/tokens/renew_access", { body: { refresh_token: refreshToken } });

describe("the reuse interval (default 10s) on the app under test", () => {
  test("a lost renewal response: the previous refresh token gives a fresh pair, the session lives on", async () => {
    const user = await signUp();
    const lost = await renewOnTarget(user.refreshToken);
    expect(lost.status).toBe(200);
    // The client never saw `lost`; it retries with the token it still holds.
    const retry = await renewOnTarget(user.refreshToken);
    expect(retry.status).toBe(200);
    expect(retry.body.refresh_token).not.toBe(lost.body.refresh_token);
    expect(retry.body.refresh_token).not.toBe(user.refreshToken);
    const row = await sessionRow(user.sessionId);
    expect(row.isBlocked).toBe(false);
    expect(row.refreshTokenHash).toBe(sha256(retry.body.refresh_token));
    expect(row.previousRefreshTokenHash).toBe(sha256(user.refreshToken));
    expect((await call("GET", "/users/me", { token: retry.body.access_token })).status).toBe(200);
    // The chain goes on from the retry's pair.
    const next = await renewOnTarget(retry.body.refresh_token);
    expect(next.status).toBe(200);
    expect((await sessionRow(user.sessionId)).isBlocked).toBe(false);
  });

  test("after a retry, the refresh token of the lost response is dead: presenting it blocks the session", async () => {
    const user = await signUp();
    const lost = await renewOnTarget(user.refreshToken);
    const retry = await renewOnTarget(user.refreshToken);
    expect([lost.status, retry.status]).toEqual([200, 200]);
    expectProblem(await renewOnTarget(lost.body.refresh_token), 401, "unauthenticated");
    expect((await sessionRow(user.sessionId)).isBlocked).toBe(true);
    expectProblem(await renewOnTarget(retry.body.refresh_token), 401, "unauthenticated");
    expectProblem(
      await call("GET", "/users/me", { token: retry.body.access_token }),
      401,
      "unauthenticated",
    );
  });

  test("a token older than the previous one blocks the session even inside the interval", async () => {
    const user = await signUp();
    const first = await renewOnTarget(user.refreshToken);
    const second = await renewOnTarget(first.body.refresh_token);
    expect([first.status, second.status]).toEqual([200, 200]);
    expectProblem(await renewOnTarget(user.refreshToken), 401, "unauthenticated");
    expect((await sessionRow(user.sessionId)).isBlocked).toBe(true);
    expectProblem(await renewOnTarget(second.body.refresh_token), 401, "unauthenticated");
  });

  test("two concurrent renewals with the same token: both 200, one live chain (the later pair), never a 500", async () => {
    const user = await signUp();
    const replies = await Promise.all([
      renewOnTarget(user.refreshToken),
      renewOnTarget(user.refreshToken),
    ]);
    expect(replies.map((r) => r.status)).toEqual([200, 200]);
    const row = await sessionRow(user.sessionId);
    expect(row.isBlocked).toBe(false);
    const live = replies.filter((r) => sha256(r.body.refresh_token) === row.refreshTokenHash);
    const dead = replies.filter((r) => sha256(r.body.refresh_token) !== row.refreshTokenHash);
    expect(live.length).toBe(1);
    expect(dead.length).toBe(1);
    // The live pair renews; the other answer's refresh token is older than the previous one now.
    const next = await renewOnTarget(live[0]?.body.refresh_token ?? "");
    expect(next.status).toBe(200);
    expectProblem(await renewOnTarget(dead[0]?.body.refresh_token ?? ""), 401, "unauthenticated");
    expect((await sessionRow(user.sessionId)).isBlocked).toBe(true);
  });

  test("10 concurrent renewals with the same token: every one 200 or 401, exactly one refresh token left live", async () => {
    const user = await signUp();
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => renewOnTarget(user.refreshToken)),
    );
    for (const reply of replies) {
      if (reply.status !== 200) expectProblem(reply, 401, "unauthenticated");
    }
    // Inside the interval they are decided one after the other, each a retry of the previous.
    expect(replies.every((r) => r.status === 200)).toBe(true);
    const row = await sessionRow(user.sessionId);
    expect(row.isBlocked).toBe(false);
    const issued = replies.map((r) => sha256(r.body.refresh_token));
    expect(new Set(issued).size).toBe(10);
    expect(issued.filter((hash) => hash === row.refreshTokenHash).length).toBe(1);
  });
});

describe("the same rule over gRPC (Connect, on the HTTP port of the app under test)", () => {
  test("RenewAccessToken: the previous token gives a fresh pair; the lost pair's token is then Unauthenticated and blocks", async () => {
    const client = createClient(SimpleBank, createConnectTransport({ baseUrl: await targetUrl() }));
    const user = await signUp();
    const lost = await client.renewAccessToken({ refreshToken: user.refreshToken });
    const retry = await client.renewAccessToken({ refreshToken: user.refreshToken });
    expect(retry.refreshToken).not.toBe(lost.refreshToken);
    const row = await sessionRow(user.sessionId);
    expect(row.isBlocked).toBe(false);
    expect(row.refreshTokenHash).toBe(sha256(retry.refreshToken));
    const refused = await client.renewAccessToken({ refreshToken: lost.refreshToken }).then(
      () => undefined,
      (error: unknown) => ConnectError.from(error),
    );
    expect(refused?.code).toBe(Code.Unauthenticated);
    expect((await sessionRow(user.sessionId)).isBlocked).toBe(true);
  });
});

describe("both sides of the interval (injected clock, no sleeping)", () => {
  test("the previous token at the interval's end: a fresh pair; just past it: the session is blocked", async () => {
    const clock = manualClock();
    const { renew, login, lines } = await appWith("10s", clock);

    const inside = await login();
    expect((await renew(inside.refresh_token)).status).toBe(200);
    clock.advance(10_000);
    expect((await renew(inside.refresh_token)).status).toBe(200);
    expect((await sessionRow(inside.session_id)).isBlocked).toBe(false);
    expect(
      lines.some(
        (line) =>
          line.msg.startsWith("previous refresh token presented within the reuse interval") &&
          line.sessionId === inside.session_id,
      ),
    ).toBe(true);

    const outside = await login();
    const rotated = await renew(outside.refresh_token);
    expect(rotated.status).toBe(200);
    clock.advance(10_001);
    expectProblem(await renew(outside.refresh_token), 401, "unauthenticated");
    expect((await sessionRow(outside.session_id)).isBlocked).toBe(true);
    expectProblem(await renew(rotated.body.refresh_token), 401, "unauthenticated");
  });

  test("a retry does not restart the interval: it counts from the rotation that retired the token", async () => {
    const clock = manualClock();
    const { renew, login } = await appWith("10s", clock);
    const session = await login();
    expect((await renew(session.refresh_token)).status).toBe(200);
    clock.advance(6_000);
    expect((await renew(session.refresh_token)).status).toBe(200);
    clock.advance(6_000); // 12 s after the rotation, 6 s after the retry
    expectProblem(await renew(session.refresh_token), 401, "unauthenticated");
    expect((await sessionRow(session.session_id)).isBlocked).toBe(true);
  });

  test("a normal rotation starts a new interval for the token it retires", async () => {
    const clock = manualClock();
    const { renew, login } = await appWith("10s", clock);
    const session = await login();
    const first = await renew(session.refresh_token);
    clock.advance(60_000);
    const second = await renew(first.body.refresh_token);
    expect(second.status).toBe(200);
    clock.advance(5_000);
    expect((await renew(first.body.refresh_token)).status).toBe(200);
    expect((await sessionRow(session.session_id)).isBlocked).toBe(false);
  });
});

describe("REFRESH_TOKEN_REUSE_INTERVAL=0: strict rotation", () => {
  let strict: Awaited<ReturnType<typeof appWith>>;
  beforeAll(async () => {
    strict = await appWith("0");
  });

  test("the previous refresh token, at once: 401, and the whole session is blocked", async () => {
    const session = await strict.login();
    const first = await strict.renew(session.refresh_token);
    expect(first.status).toBe(200);
    expectProblem(await strict.renew(session.refresh_token), 401, "unauthenticated");
    expect((await sessionRow(session.session_id)).isBlocked).toBe(true);
    expectProblem(await strict.renew(first.body.refresh_token), 401, "unauthenticated");
    expectProblem(await strict.me(first.body.access_token), 401, "unauthenticated");
    expectProblem(await strict.me(session.access_token), 401, "unauthenticated");
  });

  test("10 concurrent renewals with the same token: at most one 200, the rest 401, the session blocked", async () => {
    const session = await strict.login();
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => strict.renew(session.refresh_token)),
    );
    expect(replies.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
    for (const reply of replies) {
      if (reply.status !== 200) expectProblem(reply, 401, "unauthenticated");
    }
    expect((await sessionRow(session.session_id)).isBlocked).toBe(true);
    for (const reply of replies.filter((r) => r.status === 200)) {
      expectProblem(await strict.renew(reply.body.refresh_token), 401, "unauthenticated");
      expectProblem(await strict.me(reply.body.access_token), 401, "unauthenticated");
    }
  });
});
