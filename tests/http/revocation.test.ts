import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { grantRole } from "../../src/core/services/users.ts";
import {
  type AccountJson,
  depositTo,
  expectProblem,
  openAccountFor,
  signUp,
  type TestUser,
} from "../support/app.ts";
import { testDatabase } from "../support/database.ts";
import { type Instance, startInstance, uniqueIp } from "../support/instances.ts";
import { poll } from "../support/poll.ts";
import { deleteKeys, keyPrefix, startRedisRest } from "../support/redis.ts";

/**
 * Issue 4, "Instant revocation": logout, a password change and refresh-token reuse revoke a
 * session on EVERY instance within a second, at one Redis round trip per authenticated
 * request. Two instances (each its own Upstash client, breaker and service deps) share one
 * Redis (through a REST endpoint of this file's own, which counts the HTTP requests it gets)
 * and one database. Without Redis, the database answers the same question for every instance.
 */

interface LoginJson {
  session_id: string;
  access_token: string;
  refresh_token: string;
}

const rest = startRedisRest();
const prefix = keyPrefix("revocation");

afterAll(async () => {
  if (!rest) return;
  await deleteKeys(rest.redisUrl, prefix);
  await rest.stop();
});

async function loginOn(instance: Instance, user: TestUser): Promise<LoginJson> {
  const reply = await instance.request<LoginJson>("POST", "/users/login", {
    body: { username: user.username, password: user.password },
    ip: uniqueIp(),
  });
  if (reply.status !== 200) throw new Error(`login failed: ${JSON.stringify(reply.body)}`);
  return reply.body;
}

const me = (instance: Instance, token: string) => instance.request("GET", "/users/me", { token });

/** Polls until `token` is refused on `instance`; the contract allows at most 1 s. */
async function expectRejectedWithinASecond(instance: Instance, token: string): Promise<void> {
  await poll("the token to be rejected", async () => (await me(instance, token)).status === 401, {
    timeoutMs: 1_000,
    intervalMs: 20,
  });
  expectProblem(await me(instance, token), 401, "unauthenticated");
}

describe.skipIf(!rest)("on every instance (two instances, one Redis, one database)", () => {
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    if (!rest) throw new Error("REDIS_URL is unset");
    // Rate limits on, so authenticated requests with a limit (transfers) count in Redis too.
    const env = { RATE_LIMIT_ENABLED: "true", RATE_LIMIT_TRANSFERS: "1000/1h" };
    a = await startInstance({ env, redis: rest, prefix });
    b = await startInstance({ env, redis: rest, prefix });
    expect(a.stores.revocations.kind).toBe("redis");
    expect(a.stores.redis).not.toBe(b.stores.redis);
  });

  test("logout on A: B rejects the session's access token, and its refresh token", async () => {
    const user = await signUp();
    const session = await loginOn(a, user);
    expect((await me(b, session.access_token)).status).toBe(200);

    expect((await a.request("POST", "/users/logout", { token: session.access_token })).status).toBe(
      204,
    );
    await expectRejectedWithinASecond(b, session.access_token);
    expect((await me(a, session.access_token)).status).toBe(401);
    const renew = await b.request("POST", "/tokens/renew_access", {
      body: { refresh_token: session.refresh_token },
    });
    expectProblem(renew, 401, "unauthenticated");
    // The user's other sessions are untouched.
    expect((await me(b, user.accessToken)).status).toBe(200);
  });

  test("ending another session on A (DELETE /users/me/sessions/{id}): B rejects it at once", async () => {
    const user = await signUp();
    const [mine, other] = [await loginOn(a, user), await loginOn(b, user)];
    expect((await me(b, other.access_token)).status).toBe(200);
    const ended = await a.request("DELETE", `/users/me/sessions/${other.session_id}`, {
      token: mine.access_token,
    });
    expect(ended.status).toBe(204);
    await expectRejectedWithinASecond(b, other.access_token);
    const renew = await b.request("POST", "/tokens/renew_access", {
      body: { refresh_token: other.refresh_token },
    });
    expectProblem(renew, 401, "unauthenticated");
    // The session that ended it goes on, on both.
    expect((await me(b, mine.access_token)).status).toBe(200);
  });

  test("password change on A: the user's other sessions are rejected on B; the changing one is not", async () => {
    const user = await signUp();
    const changing = await loginOn(a, user);
    const otherOnB = await loginOn(b, user);
    const otherOnA = await loginOn(a, user);
    for (const token of [changing, otherOnB, otherOnA].map((s) => s.access_token)) {
      expect((await me(b, token)).status).toBe(200);
    }

    const patch = await a.request("PATCH", `/users/${user.username}`, {
      token: changing.access_token,
      body: { password: `new-${crypto.randomUUID()}` },
    });
    expect(patch.status).toBe(200);
    await expectRejectedWithinASecond(b, otherOnB.access_token);
    await expectRejectedWithinASecond(b, otherOnA.access_token);
    await expectRejectedWithinASecond(b, user.accessToken);
    expect((await me(b, changing.access_token)).status).toBe(200);
  });

  test("refresh-token reuse on A: B rejects every access token of the session", async () => {
    const user = await signUp();
    const first = await loginOn(a, user);
    const renewed = await a.request<LoginJson>("POST", "/tokens/renew_access", {
      body: { refresh_token: first.refresh_token },
    });
    expect(renewed.status).toBe(200);
    expect((await me(b, renewed.body.access_token)).status).toBe(200);

    // Rotated once more, then the token from before the previous one comes back (older than
    // the reuse interval's one token): theft. The whole session is blocked.
    const again = await a.request<LoginJson>("POST", "/tokens/renew_access", {
      body: { refresh_token: renewed.body.refresh_token },
    });
    expect(again.status).toBe(200);
    const reuse = await a.request("POST", "/tokens/renew_access", {
      body: { refresh_token: first.refresh_token },
    });
    expectProblem(reuse, 401, "unauthenticated");
    await expectRejectedWithinASecond(b, renewed.body.access_token);
    await expectRejectedWithinASecond(b, again.body.access_token);
    await expectRejectedWithinASecond(b, first.access_token);
    const current = await b.request("POST", "/tokens/renew_access", {
      body: { refresh_token: again.body.refresh_token },
    });
    expectProblem(current, 401, "unauthenticated");
  });

  describe("one Redis round trip per authenticated request", () => {
    let payer: TestUser;
    let from: AccountJson;
    let to: AccountJson;

    /** HTTP requests the endpoint received while `work` ran. */
    async function roundTrips(work: () => Promise<unknown>): Promise<number> {
      if (!rest) throw new Error("REDIS_URL is unset");
      const before = rest.requests();
      await work();
      return rest.requests() - before;
    }

    const transfer = () =>
      a.request("POST", "/transfers", {
        token: payer.accessToken,
        body: { from_account_id: from.id, to_account_id: to.id, amount: 1, currency: "USD" },
      });

    beforeAll(async () => {
      payer = await signUp();
      from = await openAccountFor(payer);
      await depositTo(from, 1_000);
      to = await openAccountFor(await signUp());
      // The first use of a script on a fresh endpoint costs one more trip (NOSCRIPT, then EVAL).
      expect((await transfer()).status).toBe(201);
    });

    test("GET requests: one each (the revocation check)", async () => {
      const gets = [
        `/users/me`,
        `/accounts/${from.id}`,
        `/accounts`,
        `/transfers?account_id=${from.id}`,
      ];
      for (const path of gets) {
        let status = 0;
        const trips = await roundTrips(async () => {
          status = (await a.request("GET", path, { token: payer.accessToken })).status;
        });
        expect({ path, status, trips }).toEqual({ path, status: 200, trips: 1 });
      }
    });

    test("POST /transfers: ONE (revocation check and rate limit share the batch)", async () => {
      for (let i = 0; i < 3; i++) {
        let status = 0;
        const trips = await roundTrips(async () => {
          status = (await transfer()).status;
        });
        expect({ status, trips }).toEqual({ status: 201, trips: 1 });
      }
    });

    test("a request without a valid token costs none", async () => {
      const trips = await roundTrips(async () => {
        expect((await a.request("GET", "/users/me")).status).toBe(401);
        expect((await a.request("GET", "/users/me", { token: "not-a-token" })).status).toBe(401);
      });
      expect(trips).toBe(0);
    });
  });
});

describe("without Redis (embedded default): revocations are read from the database", () => {
  let solo: Instance;
  let other: Instance;

  beforeAll(async () => {
    solo = await startInstance({ env: { RATE_LIMIT_ENABLED: "true" } });
    other = await startInstance({ env: { RATE_LIMIT_ENABLED: "true" } });
  });

  test("building the stores logs ONE line saying what each uses", () => {
    expect(solo.stores.redis).toBeUndefined();
    expect(solo.stores.limiter.kind).toBe("memory");
    expect(solo.stores.revocations.kind).toBe("database");
    expect(solo.logs).toHaveLength(1);
    const [line] = solo.logs;
    expect(line?.level).toBe("warn");
    expect(line?.msg).toMatch(/no Redis configured/);
    expect(line?.msg).toMatch(/revocations are read from the database/);
  });

  test("logout on one instance revokes the session's access token on every instance", async () => {
    const user = await signUp();
    const session = await loginOn(solo, user);
    expect((await me(other, session.access_token)).status).toBe(200);
    expect(
      (await solo.request("POST", "/users/logout", { token: session.access_token })).status,
    ).toBe(204);
    expectProblem(await me(solo, session.access_token), 401, "unauthenticated");
    expectProblem(await me(other, session.access_token), 401, "unauthenticated");
    expect((await me(other, user.accessToken)).status).toBe(200);
  });

  test("a password change revokes the other sessions on every instance", async () => {
    const user = await signUp();
    const changing = await loginOn(solo, user);
    const elsewhere = await loginOn(other, user);
    const patch = await solo.request("PATCH", `/users/${user.username}`, {
      token: changing.access_token,
      body: { password: `new-${crypto.randomUUID()}` },
    });
    expect(patch.status).toBe(200);
    expectProblem(await me(other, elsewhere.access_token), 401, "unauthenticated");
    expectProblem(await me(solo, elsewhere.access_token), 401, "unauthenticated");
    expect((await me(other, changing.access_token)).status).toBe(200);
  });

  test("a role change makes older access tokens 'token_expired' on every instance", async () => {
    const user = await signUp();
    const session = await loginOn(solo, user);
    await grantRole((await testDatabase()).deps, user.username, "banker");
    expectProblem(await me(solo, session.access_token), 401, "token_expired");
    expectProblem(await me(other, session.access_token), 401, "token_expired");
    const renewed = await other.request<{ access_token: string }>("POST", "/tokens/renew_access", {
      body: { refresh_token: session.refresh_token },
    });
    expect(renewed.status).toBe(200);
    expect((await me(solo, renewed.body.access_token)).status).toBe(200);
  });

  test("/readyz has no Redis check", async () => {
    const reply = await solo.request<{ checks: Record<string, string> }>("GET", "/readyz");
    expect(reply.status).toBe(200);
    expect(reply.body.checks.redis).toBeUndefined();
  });
});
