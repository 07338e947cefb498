import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import type { LocalWorker } from "../../tools/edge/workerd.ts";
import { expectProblem } from "../support/app.ts";
import { testDatabase } from "../support/database.ts";
import { logLines, startEdge, stopEdges } from "../support/edge.ts";
import { uniqueName } from "../support/fixtures.ts";
import { poll } from "../support/poll.ts";
import { type HttpReply, httpCall, httpExpect } from "../support/resilience.ts";

/**
 * The Worker as Cloudflare runs it, many isolates at once: two instances (two workerd
 * processes, the built bundle) on one database, over HTTP. A logout on A refuses the access
 * token on B within a second, and a password change on A revokes the user's other sessions on
 * B: with Redis (the run's REST endpoint: revocations in Redis) and without (every check reads
 * Postgres), nothing held in an isolate's memory. And the per-IP login limit counts the
 * client's address as Cloudflare gives it, `CF-Connecting-IP`, which is also what the session
 * row records.
 */

const database = await testDatabase();

interface SessionJson {
  session_id: string;
  access_token: string;
  refresh_token: string;
}

interface EdgeUser {
  username: string;
  password: string;
}

let sql: postgres.Sql;

beforeAll(() => {
  sql = postgres(database.url, { max: 2, onnotice: () => {} });
});

afterAll(async () => {
  await stopEdges();
  await sql.end();
});

let ipCounter = 0;

/**
 * A client address no other test or run uses: IPv6 in the documentation prefix 2001:db8::/32,
 * random per file run, counted per call.
 */
const RUN_IP_GROUPS = crypto.randomUUID().replaceAll("-", "").slice(0, 12).match(/.{4}/g) ?? [];
function uniqueClientIp(): string {
  ipCounter += 1;
  return `2001:db8:${RUN_IP_GROUPS.join(":")}::${ipCounter.toString(16)}`;
}

const asClient = (ip: string) => ({ "CF-Connecting-IP": ip });

async function signUpOn(worker: LocalWorker): Promise<EdgeUser> {
  const username = uniqueName("inst");
  const password = `pw-${crypto.randomUUID()}`;
  await httpExpect(201, worker.url, "POST", "/users", {
    body: { username, password, full_name: "Edge Instance", email: `${username}@example.com` },
    headers: asClient(uniqueClientIp()),
  });
  return { username, password };
}

function loginAttempt(worker: LocalWorker, user: EdgeUser, ip: string): Promise<HttpReply> {
  return httpCall(worker.url, "POST", "/users/login", {
    body: { username: user.username, password: user.password },
    headers: asClient(ip),
  });
}

async function loginOn(
  worker: LocalWorker,
  user: EdgeUser,
  ip = uniqueClientIp(),
): Promise<SessionJson> {
  const reply = await loginAttempt(worker, user, ip);
  if (reply.status !== 200) throw new Error(`login failed: ${JSON.stringify(reply.body)}`);
  return reply.body as SessionJson;
}

const me = (worker: LocalWorker, token: string) =>
  httpCall(worker.url, "GET", "/users/me", { token });

/** Polls until `token` is refused on `worker`; the contract allows at most a second. */
async function expectRefusedWithinASecond(worker: LocalWorker, token: string): Promise<void> {
  await poll("the token to be refused", async () => (await me(worker, token)).status === 401, {
    timeoutMs: 1_000,
    intervalMs: 20,
  });
  expectProblem(await me(worker, token), 401, "unauthenticated");
}

/** The store the isolate said it uses, from its "edge isolate ready" log line. */
function redisOf(worker: LocalWorker): string | undefined {
  const line = logLines(worker).find((l) => l.includes("edge isolate ready"));
  return /"redis":"([^"]*)"/.exec(line ?? "")?.[1];
}

const VARIANTS = [
  {
    name: database.redis
      ? "with Redis (revocations in Redis)"
      : "with Redis (skipped: REDIS_URL unset)",
    redis: true,
    store: "HTTP Redis",
    skip: !database.redis,
  },
  {
    name: "without Redis (revocations read from Postgres)",
    redis: false,
    store: "none",
    skip: false,
  },
];

for (const variant of VARIANTS) {
  describe.skipIf(variant.skip)(`two Worker instances, one database, ${variant.name}`, () => {
    let a: LocalWorker;
    let b: LocalWorker;

    beforeAll(async () => {
      a = await startEdge({ redis: variant.redis });
      b = await startEdge({ redis: variant.redis });
    }, 60_000);

    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
    });

    test("each is a workerd process of its own, on the store expected", async () => {
      expect(a.url).not.toBe(b.url);
      for (const worker of [a, b]) {
        expect(await httpExpect(200, worker.url, "GET", "/readyz")).toMatchObject({
          status: "ok",
        });
        expect(redisOf(worker)).toBe(variant.store);
      }
    });

    test("logout on A: B refuses the session's access token within a second, and its refresh token", async () => {
      const user = await signUpOn(a);
      const session = await loginOn(a, user);
      const other = await loginOn(b, user);
      expect((await me(b, session.access_token)).status).toBe(200);

      const logout = await httpCall(a.url, "POST", "/users/logout", {
        token: session.access_token,
      });
      expect(logout.status).toBe(204);
      await expectRefusedWithinASecond(b, session.access_token);
      expectProblem(await me(a, session.access_token), 401, "unauthenticated");
      const renew = await httpCall(b.url, "POST", "/tokens/renew_access", {
        body: { refresh_token: session.refresh_token },
      });
      expectProblem(renew, 401, "unauthenticated");
      // The user's other session is untouched, on either instance.
      expect((await me(b, other.access_token)).status).toBe(200);
      expect((await me(a, other.access_token)).status).toBe(200);
    });

    test("password change on A: B refuses the user's other sessions within a second; the changing one goes on", async () => {
      const user = await signUpOn(a);
      const changing = await loginOn(a, user);
      const otherOnB = await loginOn(b, user);
      const otherOnA = await loginOn(a, user);
      for (const session of [changing, otherOnB, otherOnA]) {
        expect((await me(b, session.access_token)).status).toBe(200);
      }

      const newPassword = `new-${crypto.randomUUID()}`;
      await httpExpect(200, a.url, "PATCH", `/users/${user.username}`, {
        token: changing.access_token,
        body: { password: newPassword },
      });
      await expectRefusedWithinASecond(b, otherOnB.access_token);
      await expectRefusedWithinASecond(b, otherOnA.access_token);
      expectProblem(await me(a, otherOnB.access_token), 401, "unauthenticated");
      expect((await me(b, changing.access_token)).status).toBe(200);
      const renew = await httpCall(b.url, "POST", "/tokens/renew_access", {
        body: { refresh_token: otherOnB.refresh_token },
      });
      expectProblem(renew, 401, "unauthenticated");
      // The new password works on B, the old one no longer does.
      await loginOn(b, { ...user, password: newPassword });
      expectProblem(await loginAttempt(b, user, uniqueClientIp()), 401, "invalid_credentials");
    });
  });
}

describe("the per-IP login limit, keyed by CF-Connecting-IP", () => {
  const LOGIN_IP_LIMIT = 3;
  let limited: LocalWorker;

  beforeAll(async () => {
    limited = await startEdge({
      env: {
        RATE_LIMIT_ENABLED: "true",
        RATE_LIMIT_LOGIN_IP: `${LOGIN_IP_LIMIT}/1m`,
        RATE_LIMIT_LOGIN_USERNAME: "1000/1m",
        RATE_LIMIT_SIGNUP_IP: "1000/1m",
      },
    });
  }, 60_000);

  afterAll(async () => {
    await limited?.stop();
  });

  test("wrong passwords from one address: 401 up to the limit, then 429 with Retry-After; another address still gets 401", async () => {
    const user = await signUpOn(limited);
    const wrong = { ...user, password: "wrong-password" };
    const attacker = uniqueClientIp();
    // The windows slide over minute-aligned buckets: keep the burst clear of a boundary, so
    // that all of it counts in one minute.
    await poll("a point well inside a minute", () => Date.now() % 60_000 < 45_000, {
      timeoutMs: 20_000,
      intervalMs: 200,
    });

    for (let i = 0; i < LOGIN_IP_LIMIT; i++) {
      expectProblem(await loginAttempt(limited, wrong, attacker), 401, "invalid_credentials");
    }
    for (const attempt of [wrong, user]) {
      // Limited before the password is looked at: the right one is refused too.
      const refused = await loginAttempt(limited, attempt, attacker);
      expectProblem(refused, 429, "rate_limited");
      const retryAfter = refused.headers.get("Retry-After") ?? "";
      expect(retryAfter).toMatch(/^[0-9]+$/);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(retryAfter)).toBeLessThanOrEqual(60);
      expect(refused.headers.get("RateLimit-Limit")).toBe(String(LOGIN_IP_LIMIT));
      expect(refused.headers.get("RateLimit-Remaining")).toBe("0");
    }

    // The same user, the same wrong password, from another address: counted apart.
    const bystander = uniqueClientIp();
    expectProblem(await loginAttempt(limited, wrong, bystander), 401, "invalid_credentials");
    expect((await loginAttempt(limited, user, bystander)).status).toBe(200);
  }, 30_000);

  test("the session row of a login records client_ip = its CF-Connecting-IP", async () => {
    const user = await signUpOn(limited);
    const ip = uniqueClientIp();
    const session = await loginOn(limited, user, ip);
    const rows = await sql<{ client_ip: string; username: string }[]>`
      select client_ip, username from sessions where id = ${session.session_id}`;
    expect([...rows]).toEqual([{ client_ip: ip, username: user.username }]);
  });
});
