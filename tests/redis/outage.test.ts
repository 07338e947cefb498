import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { depositTo, expectProblem, openAccountFor, signUp, type TestUser } from "../support/app.ts";
import { type Instance, startInstance, uniqueIp } from "../support/instances.ts";
import type { LogLine } from "../support/logs.ts";
import { poll } from "../support/poll.ts";
import { deleteKeys, keyPrefix, startRedisRest } from "../support/redis.ts";

/**
 * Issue 4, "Redis down at run time": the API keeps serving. Rate limits fail open, revocation
 * checks fall back to the session row in the database, the breaker logs the outage once (and
 * the recovery once) and, while open, keeps requests from waiting on Redis; /readyz reports
 * Redis. First with Redis unreachable from the start (a closed port: needs no Redis), then an
 * outage of a running endpoint in front of REDIS_URL, and its recovery on the same port.
 */

const LIMITS = {
  RATE_LIMIT_ENABLED: "true",
  RATE_LIMIT_LOGIN_USERNAME: "2/1h",
  RATE_LIMIT_LOGIN_IP: "2/1h",
  RATE_LIMIT_TRANSFERS: "2/1h",
};

const DOWN = /^Redis is unavailable/;
const BACK = /^Redis is available again/;
const linesMatching = (logs: LogLine[], pattern: RegExp) =>
  logs.filter((record) => pattern.test(record.msg));

interface LoginJson {
  session_id: string;
  access_token: string;
}

/** /readyz: 200 `{status, checks}`, or 503 problem+json with `checks`. */
interface ReadinessJson {
  checks: Record<string, string>;
}

async function loginOn(instance: Instance, user: TestUser): Promise<LoginJson> {
  const reply = await instance.request<LoginJson>("POST", "/users/login", {
    body: { username: user.username, password: user.password },
    ip: uniqueIp(),
  });
  if (reply.status !== 200) throw new Error(`login failed: ${JSON.stringify(reply.body)}`);
  return reply.body;
}

const me = (instance: Instance, token: string) => instance.request("GET", "/users/me", { token });

async function payerAndPayee() {
  const payer = await signUp();
  const from = await openAccountFor(payer);
  await depositTo(from, 1_000);
  const to = await openAccountFor(await signUp());
  const transfer = (instance: Instance) =>
    instance.request("POST", "/transfers", {
      token: payer.accessToken,
      body: { from_account_id: from.id, to_account_id: to.id, amount: 1, currency: "USD" },
    });
  return { payer, from, to, transfer };
}

describe("Redis unreachable (a closed port)", () => {
  let api: Instance;

  beforeAll(async () => {
    // Port 1: nothing listens there, and no test ever binds it (writes Redis refused are
    // retried for a while; they must not reach some other test's server).
    api = await startInstance({
      env: LIMITS,
      redis: { url: "http://127.0.0.1:1", token: "nobody-listens" },
      prefix: keyPrefix("never-written"),
    });
    expect(api.stores.limiter.kind).toBe("redis");
  });

  test("/readyz: 503, checks.redis failing (the database is fine)", async () => {
    const reply = await api.request<ReadinessJson>("GET", "/readyz");
    expectProblem(reply, 503, "unavailable");
    expect(reply.body.checks).toMatchObject({ database: "ok", migrations: "ok", redis: "failing" });
  });

  test("logins and authenticated requests work; logout still revokes (the database decides)", async () => {
    const user = await signUp();
    const kept = await loginOn(api, user);
    const ended = await loginOn(api, user);
    expect((await me(api, kept.access_token)).status).toBe(200);
    expect((await api.request("POST", "/users/logout", { token: ended.access_token })).status).toBe(
      204,
    );
    expectProblem(await me(api, ended.access_token), 401, "unauthenticated");
    expect((await me(api, kept.access_token)).status).toBe(200);
  });

  test("rate limits fail open", async () => {
    const { transfer } = await payerAndPayee();
    for (let i = 0; i < 4; i++) expect((await transfer(api)).status).toBe(201);
    const user = await signUp();
    const ip = uniqueIp();
    for (let i = 0; i < 4; i++) {
      const reply = await api.request("POST", "/users/login", {
        body: { username: user.username, password: "wrong-password" },
        ip,
      });
      expectProblem(reply, 401, "invalid_credentials");
    }
    expect((await loginOn(api, user)).access_token).toBeString();
  });

  test("the outage is logged ONCE, as a warning with the reason and no stack (an expected, handled condition)", () => {
    const down = linesMatching(api.logs, DOWN);
    expect(down).toHaveLength(1);
    expect(down[0]?.level).toBe("warn");
    expect(String(down[0]?.reason)).not.toBe("");
    expect(JSON.stringify(api.logs)).not.toContain('"stack"');
    expect(api.logs.filter((line) => line.level === "error")).toEqual([]);
    expect(linesMatching(api.logs, BACK)).toHaveLength(0);
  });
});

const rest = startRedisRest();
const prefix = keyPrefix("outage");

afterAll(async () => {
  if (!rest) return;
  await rest.resume();
  await deleteKeys(rest.redisUrl, prefix);
  await rest.stop();
});

describe.skipIf(!rest)("an outage of a running Redis endpoint, then its recovery", () => {
  let api: Instance;
  let user: TestUser;
  let kept: LoginJson;
  /** Logged out while Redis was down. */
  let endedDuringOutage: LoginJson;

  beforeAll(async () => {
    if (!rest) throw new Error("REDIS_URL is unset");
    api = await startInstance({ env: LIMITS, redis: rest, prefix });
    user = await signUp();
    kept = await loginOn(api, user);
  });

  const readiness = () => api.request<ReadinessJson>("GET", "/readyz");

  test("before: served through Redis; /readyz 200 with redis ok", async () => {
    const reply = await readiness();
    expect(reply.status).toBe(200);
    expect(reply.body.checks.redis).toBe("ok");
    expect((await me(api, kept.access_token)).status).toBe(200);
    expect(api.logs).toHaveLength(0);
  });

  test("during: every request is served, and once the breaker is open none waits on Redis", async () => {
    if (!rest) throw new Error("REDIS_URL is unset");
    await rest.pause();
    // The first request finds Redis gone (and opens the breaker); it is served all the same.
    expect((await me(api, kept.access_token)).status).toBe(200);
    expect(linesMatching(api.logs, DOWN)).toHaveLength(1);

    const attempts = rest.droppedConnections();
    const { transfer } = await payerAndPayee();
    let served = 0;
    for (let i = 0; i < 10; i++) {
      expect((await me(api, kept.access_token)).status).toBe(200);
      // Limit 2: all pass, the limiter fails open.
      expect((await transfer(api)).status).toBe(201);
      served += 2;
    }
    expect(served).toBe(20);
    // With the breaker open, Redis is skipped: no connection attempts at all. (Should this
    // take longer than the breaker's cool-down, one probe — a request and its retry — may
    // pass; without a breaker it would be at least 2 per request: 40.)
    expect(rest.droppedConnections() - attempts).toBeLessThanOrEqual(2);
  });

  test("during: a session logged out is rejected, a live one accepted (the database decides)", async () => {
    const ended = await loginOn(api, user);
    endedDuringOutage = ended;
    expect((await api.request("POST", "/users/logout", { token: ended.access_token })).status).toBe(
      204,
    );
    expectProblem(await me(api, ended.access_token), 401, "unauthenticated");
    expect((await me(api, kept.access_token)).status).toBe(200);
  });

  test("during: /readyz 503 with checks.redis failing", async () => {
    const reply = await readiness();
    expectProblem(reply, 503, "unavailable");
    expect(reply.headers.get("Retry-After")).toMatch(/^[0-9]+$/);
    expect(reply.body.checks).toMatchObject({ database: "ok", migrations: "ok", redis: "failing" });
  });

  test("after: /readyz 200 again, 'reachable again' logged once, the outage logged once", async () => {
    if (!rest) throw new Error("REDIS_URL is unset");
    await rest.resume();
    await poll("/readyz to pass", async () => (await readiness()).status === 200, {
      timeoutMs: 10_000,
      intervalMs: 20,
    });
    expect((await readiness()).body.checks.redis).toBe("ok");
    // The breaker tries Redis again after its cool-down; requests meanwhile keep working.
    await poll(
      "the breaker to find Redis again",
      async () => {
        expect((await me(api, kept.access_token)).status).toBe(200);
        return linesMatching(api.logs, BACK).length > 0;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    const requestsBefore = rest.requests();
    expect((await me(api, kept.access_token)).status).toBe(200);
    expect(rest.requests() - requestsBefore).toBe(1);
    expect(linesMatching(api.logs, DOWN)).toHaveLength(1);
    expect(linesMatching(api.logs, BACK)).toHaveLength(1);
    expect(linesMatching(api.logs, BACK)[0]?.level).toBe("info");
  }, 30_000);

  test("after: a session logged out during the outage is still rejected, here and on another instance", async () => {
    if (!rest) throw new Error("REDIS_URL is unset");
    const other = await startInstance({ env: LIMITS, redis: rest, prefix });
    expectProblem(await me(api, endedDuringOutage.access_token), 401, "unauthenticated");
    await poll(
      "the other instance to reject it",
      async () => {
        return (await me(other, endedDuringOutage.access_token)).status === 401;
      },
      { timeoutMs: 3_000, intervalMs: 20 },
    );
    expect((await me(other, kept.access_token)).status).toBe(200);
  });

  test("after: rate limits count again", async () => {
    const { transfer } = await payerAndPayee();
    expect((await transfer(api)).status).toBe(201);
    expect((await transfer(api)).status).toBe(201);
    expectProblem(await transfer(api), 429, "rate_limited");
  });
});
