import { describe, expect, test } from "bun:test";
import { call, expectProblem, signUp } from "../support/app.ts";
import { uniqueName } from "../support/fixtures.ts";
import { bankApp } from "./support.ts";

/**
 * OWASP API6:2023 Unrestricted Access to Sensitive Business Flows. The bank's sensitive flows
 * are moving money, creating identities and sending email. The contract limits them per ACTOR,
 * not per connection, so new IPs do not buy new allowance where the actor is known: transfers
 * per user, verification emails per user, password reset emails per address (and per client
 * IP), sign-ups per client IP; a payment retried or raced is paid once (Idempotency-Key); one
 * account per owner and currency. (tests/security/README.md says what the contract does not
 * limit, and why.)
 */

const LIMITS = {
  RATE_LIMIT_ENABLED: "true",
  RATE_LIMIT_TRANSFERS: "3/1h",
  RATE_LIMIT_RESEND_VERIFICATION: "2/1h",
  RATE_LIMIT_SIGNUP_IP: "3/1h",
  RATE_LIMIT_PASSWORD_RESET_EMAIL: "2/1h",
  RATE_LIMIT_PASSWORD_RESET_IP: "4/1h",
};

describe("API6: automated abuse of money and email flows", () => {
  test("transfers are limited per user: changing the client IP buys nothing", async () => {
    const bank = await bankApp(LIMITS, { trustProxyHops: 1, connectionIp: () => "192.0.2.60" });
    const payer = await bank.signUp();
    const payee = await bank.signUp();
    const open = async (token: string) =>
      (
        await bank.request<{ id: number }>("POST", "/accounts", {
          token,
          body: { currency: "USD" },
        })
      ).body.id;
    const from = await open(payer.accessToken);
    const to = await open(payee.accessToken);
    const banker = await signUp({ role: "banker" });
    await call("POST", `/accounts/${from}/deposits`, {
      token: banker.accessToken,
      body: { amount: 1_000, currency: "USD" },
    });
    const transfer = (ip: string) =>
      bank.request("POST", "/transfers", {
        token: payer.accessToken,
        headers: { "X-Forwarded-For": ip },
        body: { from_account_id: from, to_account_id: to, amount: 1, currency: "USD" },
      });
    for (let i = 0; i < 3; i++) expect((await transfer(`198.51.100.${i}`)).status).toBe(201);
    const limited = await transfer("198.51.100.99");
    expectProblem(limited, 429, "rate_limited");
    expect(Number(limited.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    // A second session of the same user shares the allowance.
    const again = await bank.request<{ access_token: string }>("POST", "/users/login", {
      body: { username: payer.username, password: payer.password },
    });
    const other = await bank.request("POST", "/transfers", {
      token: again.body.access_token,
      body: { from_account_id: from, to_account_id: to, amount: 1, currency: "USD" },
    });
    expectProblem(other, 429, "rate_limited");
  });

  test("verification emails are limited per user (no mail bombing through resend_verification)", async () => {
    const bank = await bankApp(LIMITS, { trustProxyHops: 1, connectionIp: () => "192.0.2.61" });
    const user = await bank.signUp();
    const resend = (ip: string) =>
      bank.request("POST", "/users/resend_verification", {
        token: user.accessToken,
        headers: { "X-Forwarded-For": ip },
      });
    for (let i = 0; i < 2; i++) expect((await resend(`203.0.113.${i}`)).status).toBe(202);
    expectProblem(await resend("203.0.113.200"), 429, "rate_limited");
  });

  test("password reset emails are limited per address (a new IP buys nothing) and per client IP", async () => {
    const bank = await bankApp(LIMITS, { trustProxyHops: 1, connectionIp: () => "192.0.2.63" });
    const victim = `${uniqueName("a6")}@example.com`;
    const ask = (email: string, ip: string) =>
      bank.request("POST", "/users/password_reset", {
        body: { email },
        headers: { "X-Forwarded-For": ip },
      });
    for (let i = 0; i < 2; i++) expect((await ask(victim, `203.0.113.${10 + i}`)).status).toBe(202);
    expectProblem(await ask(victim, "203.0.113.201"), 429, "rate_limited");
    // One client spraying addresses: stopped by the per-IP limit.
    for (let i = 0; i < 4; i++) {
      expect((await ask(`${uniqueName("a6")}@example.com`, "203.0.113.202")).status).toBe(202);
    }
    expectProblem(
      await ask(`${uniqueName("a6")}@example.com`, "203.0.113.202"),
      429,
      "rate_limited",
    );
  });

  test("sign-ups are limited per client IP (mass account creation)", async () => {
    const bank = await bankApp(LIMITS, { trustProxyHops: 0, connectionIp: () => "192.0.2.62" });
    const register = () => {
      const username = uniqueName("a6");
      return bank.request("POST", "/users", {
        body: {
          username,
          password: "long enough password",
          full_name: "Flow Abuse",
          email: `${username}@example.com`,
        },
        headers: { "X-Forwarded-For": `10.0.0.${Math.floor(Math.random() * 250)}` },
      });
    };
    for (let i = 0; i < 3; i++) expect((await register()).status).toBe(201);
    expectProblem(await register(), 429, "rate_limited");
  });

  test("a payment submitted 10 times at once with one Idempotency-Key is paid once", async () => {
    const payer = await signUp();
    const payee = await signUp();
    const banker = await signUp({ role: "banker" });
    const open = async (token: string) =>
      (await call<{ id: number }>("POST", "/accounts", { token, body: { currency: "USD" } })).body
        .id;
    const from = await open(payer.accessToken);
    const to = await open(payee.accessToken);
    await call("POST", `/accounts/${from}/deposits`, {
      token: banker.accessToken,
      body: { amount: 1_000, currency: "USD" },
    });
    const key = crypto.randomUUID();
    const replies = await Promise.all(
      Array.from({ length: 10 }, () =>
        call("POST", "/transfers", {
          token: payer.accessToken,
          headers: { "Idempotency-Key": key },
          body: { from_account_id: from, to_account_id: to, amount: 300, currency: "USD" },
        }),
      ),
    );
    // 201 (the first or a replay) or 409 while the first is in flight; never a second payment.
    for (const reply of replies) expect([201, 409]).toContain(reply.status);
    const account = await call<{ balance: number }>("GET", `/accounts/${from}`, {
      token: payer.accessToken,
    });
    expect(account.body.balance).toBe(700);
  });

  test("one account per owner and currency: a second is 409", async () => {
    const user = await signUp();
    expect(
      (await call("POST", "/accounts", { token: user.accessToken, body: { currency: "EUR" } }))
        .status,
    ).toBe(201);
    expectProblem(
      await call("POST", "/accounts", { token: user.accessToken, body: { currency: "EUR" } }),
      409,
      "account_exists",
    );
  });
});
