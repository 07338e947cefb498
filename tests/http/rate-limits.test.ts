import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  type AccountJson,
  depositTo,
  expectProblem,
  openAccountFor,
  type Reply,
  signUp,
  type TestUser,
} from "../support/app.ts";
import { testDatabase } from "../support/database.ts";
import { uniqueName } from "../support/fixtures.ts";
import { type Instance, startInstance, uniqueIp } from "../support/instances.ts";
import { deleteKeys, keyPrefix } from "../support/redis.ts";

/**
 * Issue 4, "Rate limits": each limit through HTTP with small limits, on the Redis store (the
 * run's REST endpoint in front of REDIS_URL) and on the in-process store, and switched off.
 * Windows are an hour long so no test straddles a window boundary. Users are registered and
 * funded through the shared app (limits off); the limited instance only sees the requests
 * under test, each test from its own client IPs.
 */

const database = await testDatabase();

const LIMITS = {
  RATE_LIMIT_ENABLED: "true",
  RATE_LIMIT_LOGIN_USERNAME: "3/1h",
  RATE_LIMIT_LOGIN_IP: "5/1h",
  RATE_LIMIT_SIGNUP_IP: "3/1h",
  RATE_LIMIT_RESEND_VERIFICATION: "2/1h",
  RATE_LIMIT_TRANSFERS: "3/1h",
};

const STORES = [
  { name: "in-process store", kind: "memory", redis: undefined, skip: false },
  {
    name: database.redis ? "Redis store" : "Redis store (skipped: REDIS_URL unset)",
    kind: "redis",
    redis: database.redis,
    skip: !database.redis,
  },
];

const prefixes: string[] = [];
function redisPrefix(): string {
  const prefix = keyPrefix("rate-limits");
  prefixes.push(prefix);
  return prefix;
}

afterAll(async () => {
  if (database.redis) {
    for (const prefix of prefixes) await deleteKeys(database.redis.redisUrl, prefix);
  }
});

/** 429 `rate_limited`, problem+json, with Retry-After and the RateLimit-* fields. */
function expectRateLimited(reply: Reply, limit: number): void {
  expectProblem(reply, 429, "rate_limited");
  const retryAfter = reply.headers.get("Retry-After") ?? "";
  expect(retryAfter).toMatch(/^[0-9]+$/);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  expect(reply.headers.get("RateLimit-Limit")).toBe(String(limit));
  expect(reply.headers.get("RateLimit-Remaining")).toBe("0");
  const reset = reply.headers.get("RateLimit-Reset") ?? "";
  expect(reset).toMatch(/^[0-9]+$/);
  expect(Number(reset)).toBeGreaterThanOrEqual(1);
  // An hour-long window: never more than an hour away.
  expect(Number(retryAfter)).toBeLessThanOrEqual(3600);
}

const newUser = () => ({
  username: uniqueName("rl"),
  password: `pw-${crypto.randomUUID()}`,
  full_name: "Rate Limited",
  email: `${uniqueName("rl")}@example.com`,
});

/** A user with a funded USD account, and a payee account to send to. */
async function payerAndPayee(): Promise<{ payer: TestUser; from: AccountJson; to: AccountJson }> {
  const payer = await signUp();
  const from = await openAccountFor(payer);
  await depositTo(from, 10_000);
  const to = await openAccountFor(await signUp());
  return { payer, from, to };
}

for (const store of STORES) {
  describe.skipIf(store.skip)(`rate limits, ${store.name}`, () => {
    let limited: Instance;
    const login = (username: string, password: string, ip: string) =>
      limited.request("POST", "/users/login", { body: { username, password }, ip });

    beforeAll(async () => {
      limited = await startInstance({
        env: LIMITS,
        redis: store.redis,
        prefix: store.redis ? redisPrefix() : undefined,
      });
      expect(limited.stores.limiter.kind).toBe(store.kind);
    });

    test("failed logins per username: the 4th attempt after 3 failures is 429 even with the right password; other usernames pass", async () => {
      const user = await signUp();
      const other = await signUp();
      for (let i = 0; i < 3; i++) {
        // Each from its own IP: only the per-username count can trip.
        expectProblem(
          await login(user.username, "wrong-password", uniqueIp()),
          401,
          "invalid_credentials",
        );
      }
      expectRateLimited(await login(user.username, user.password, uniqueIp()), 3);
      expectRateLimited(await login(user.username, "wrong-password", uniqueIp()), 3);
      // Another username is unaffected, from any IP.
      expect((await login(other.username, other.password, uniqueIp())).status).toBe(200);
    });

    test("a successful login before the limit resets the username's count", async () => {
      const user = await signUp();
      const ip = uniqueIp();
      for (let i = 0; i < 2; i++) {
        expectProblem(await login(user.username, "wrong-password", ip), 401, "invalid_credentials");
      }
      expect((await login(user.username, user.password, ip)).status).toBe(200);
      // Three fresh failures are allowed again, then the limit holds.
      for (let i = 0; i < 3; i++) {
        expectProblem(await login(user.username, "wrong-password", ip), 401, "invalid_credentials");
      }
      expectRateLimited(await login(user.username, user.password, ip), 3);
    });

    test("failed logins per IP: 5 failures on different usernames from one IP, then that IP gets 429", async () => {
      const ip = uniqueIp();
      for (let i = 0; i < 5; i++) {
        const name = i % 2 === 0 ? uniqueName("nobody") : (await signUp()).username;
        expectProblem(await login(name, "wrong-password", ip), 401, "invalid_credentials");
      }
      const user = await signUp();
      expectRateLimited(await login(user.username, user.password, ip), 5);
      // The same user from another IP logs in.
      expect((await login(user.username, user.password, uniqueIp())).status).toBe(200);
    });

    test("successful logins do not count: more than the limit of them from one IP and one username", async () => {
      const user = await signUp();
      const ip = uniqueIp();
      for (let i = 0; i < 7; i++) {
        expect((await login(user.username, user.password, ip)).status).toBe(200);
      }
      // The failures still have their whole allowance.
      for (let i = 0; i < 3; i++) {
        expectProblem(await login(user.username, "wrong-password", ip), 401, "invalid_credentials");
      }
      expectRateLimited(await login(user.username, user.password, ip), 3);
    });

    test("an attempt refused for its IP does not count against the username", async () => {
      const ip = uniqueIp();
      for (let i = 0; i < 5; i++) {
        expectProblem(
          await login(uniqueName("nobody"), "wrong-password", ip),
          401,
          "invalid_credentials",
        );
      }
      const user = await signUp();
      for (let i = 0; i < 4; i++) {
        expectRateLimited(await login(user.username, "wrong-password", ip), 5);
      }
      // From elsewhere, the username still has its 3 failures.
      const elsewhere = uniqueIp();
      for (let i = 0; i < 3; i++) {
        expectProblem(
          await login(user.username, "wrong-password", elsewhere),
          401,
          "invalid_credentials",
        );
      }
      expectRateLimited(await login(user.username, user.password, elsewhere), 3);
    });

    test("parallel guesses: of 20 concurrent wrong passwords for one username, exactly 3 are checked", async () => {
      const user = await signUp();
      const replies = await Promise.all(
        Array.from({ length: 20 }, () => login(user.username, "wrong-password", uniqueIp())),
      );
      const statuses = replies.map((reply) => reply.status);
      expect(statuses.filter((status) => status === 401)).toHaveLength(3);
      expect(statuses.filter((status) => status === 429)).toHaveLength(17);
      expectRateLimited(await login(user.username, user.password, uniqueIp()), 3);
    });

    test("parallel guesses: of 20 concurrent failed logins from one IP, exactly 5 are checked", async () => {
      const ip = uniqueIp();
      const replies = await Promise.all(
        Array.from({ length: 20 }, () => login(uniqueName("nobody"), "wrong-password", ip)),
      );
      const statuses = replies.map((reply) => reply.status);
      expect(statuses.filter((status) => status === 401)).toHaveLength(5);
      expect(statuses.filter((status) => status === 429)).toHaveLength(15);
    });

    test("signups per IP: the 4th registration from one IP is 429; another IP still registers", async () => {
      const ip = uniqueIp();
      for (let i = 0; i < 3; i++) {
        expect((await limited.request("POST", "/users", { body: newUser(), ip })).status).toBe(201);
      }
      const refused = newUser();
      expectRateLimited(await limited.request("POST", "/users", { body: refused, ip }), 3);
      // Nothing was created for the refused request.
      const login = await limited.request("POST", "/users/login", {
        body: { username: refused.username, password: refused.password },
        ip: uniqueIp(),
      });
      expectProblem(login, 401, "invalid_credentials");
      expect(
        (await limited.request("POST", "/users", { body: newUser(), ip: uniqueIp() })).status,
      ).toBe(201);
    });

    test("resend-verification per user: the 3rd request is 429; another user is unaffected", async () => {
      const user = await signUp();
      const other = await signUp();
      const resend = (token: string) =>
        limited.request("POST", "/users/resend_verification", { token, ip: uniqueIp() });
      for (let i = 0; i < 2; i++) expect((await resend(user.accessToken)).status).toBe(202);
      expectRateLimited(await resend(user.accessToken), 2);
      expect((await resend(other.accessToken)).status).toBe(202);
    });

    test("transfers per user: the 4th transfer is 429 and moves nothing; another user still transfers", async () => {
      const { payer, from, to } = await payerAndPayee();
      const transfer = (user: TestUser, source: AccountJson, amount = 100) =>
        limited.request("POST", "/transfers", {
          token: user.accessToken,
          body: { from_account_id: source.id, to_account_id: to.id, amount, currency: "USD" },
          ip: uniqueIp(),
        });
      for (let i = 0; i < 3; i++) expect((await transfer(payer, from)).status).toBe(201);
      expectRateLimited(await transfer(payer, from), 3);
      const account = await limited.request<AccountJson>("GET", `/accounts/${from.id}`, {
        token: payer.accessToken,
      });
      expect(account.body.balance).toBe(10_000 - 300);

      const other = await payerAndPayee();
      expect((await transfer(other.payer, other.from)).status).toBe(201);
    });

    test("30 concurrent transfers with a limit of 10: exactly 10 pass the limiter, 20 get 429", async () => {
      const burst = await startInstance({
        env: { ...LIMITS, RATE_LIMIT_TRANSFERS: "10/1h" },
        redis: store.redis,
        prefix: store.redis ? redisPrefix() : undefined,
      });
      const { payer, from, to } = await payerAndPayee();
      const replies = await Promise.all(
        Array.from({ length: 30 }, () =>
          burst.request("POST", "/transfers", {
            token: payer.accessToken,
            body: { from_account_id: from.id, to_account_id: to.id, amount: 1, currency: "USD" },
          }),
        ),
      );
      const statuses = replies.map((reply) => reply.status);
      expect(statuses.filter((status) => status === 201)).toHaveLength(10);
      expect(statuses.filter((status) => status === 429)).toHaveLength(20);
      for (const reply of replies.filter((r) => r.status === 429)) expectRateLimited(reply, 10);
      const account = await burst.request<AccountJson>("GET", `/accounts/${from.id}`, {
        token: payer.accessToken,
      });
      expect(account.body.balance).toBe(10_000 - 10);
    });

    test("RATE_LIMIT_ENABLED=false: none of the limits trigger", async () => {
      const open = await startInstance({
        env: { ...LIMITS, RATE_LIMIT_ENABLED: "false" },
        redis: store.redis,
        prefix: store.redis ? redisPrefix() : undefined,
      });
      expect(open.stores.limiter.kind).toBe("off");
      const ip = uniqueIp();

      const user = await signUp();
      for (let i = 0; i < 6; i++) {
        const reply = await open.request("POST", "/users/login", {
          body: { username: user.username, password: "wrong-password" },
          ip,
        });
        expectProblem(reply, 401, "invalid_credentials");
      }
      const ok = await open.request("POST", "/users/login", {
        body: { username: user.username, password: user.password },
        ip,
      });
      expect(ok.status).toBe(200);

      for (let i = 0; i < 4; i++) {
        expect((await open.request("POST", "/users", { body: newUser(), ip })).status).toBe(201);
      }
      for (let i = 0; i < 3; i++) {
        const reply = await open.request("POST", "/users/resend_verification", {
          token: user.accessToken,
          ip,
        });
        expect(reply.status).toBe(202);
      }
      const { payer, from, to } = await payerAndPayee();
      for (let i = 0; i < 4; i++) {
        const reply = await open.request("POST", "/transfers", {
          token: payer.accessToken,
          body: { from_account_id: from.id, to_account_id: to.id, amount: 1, currency: "USD" },
          ip,
        });
        expect(reply.status).toBe(201);
      }
    });
  });
}
