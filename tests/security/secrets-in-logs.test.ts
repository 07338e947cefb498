import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { PROJECT_ROOT } from "../support/process.ts";
import { type BankProcess, PROCESS_API_KEY, startBankProcess } from "./support.ts";

/**
 * Secrets never reach the logs. A spawned server with its job worker, at LOG_LEVEL=debug, goes
 * through a whole life (sign-ups, the verification email and its link, logins, renewals, a
 * role grant, deposits, transfers, a password change, a password reset, failed logins, forged
 * tokens, the gateway and Connect, logout); then NONE of these appears anywhere in what it
 * printed: the passwords (right and wrong), the access and refresh tokens, the refresh-token
 * hashes and bcrypt hashes in the database, the verification and password reset codes
 * (database and email; the reset codes' hashes too), the token key, the resend key.
 */

let bank: BankProcess;
let sql: postgres.Sql;
/** Every secret the flow handled, as text. */
const secrets = new Set<string>();

const remember = (...values: (string | undefined)[]) => {
  for (const value of values) if (value) secrets.add(value);
};

async function request<T = Record<string, unknown>>(
  method: string,
  path: string,
  options: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${bank.url}${path}`, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { "Content-Type": "application/json" }),
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: (text && /json/.test(res.headers.get("Content-Type") ?? "")
      ? JSON.parse(text)
      : text) as T,
  };
}

/** `reply` has `status`, or the test fails showing the body. */
function expectStatus(reply: { status: number; body: unknown }, status: number): void {
  if (reply.status !== status) {
    throw new Error(`expected ${status}, got ${reply.status}: ${JSON.stringify(reply.body)}`);
  }
}

interface Tokens {
  access_token: string;
  refresh_token: string;
}

async function signUpAndLogIn(name: string) {
  const username = `${name}_${crypto.randomUUID().slice(0, 8)}`;
  const password = `secret-${crypto.randomUUID()}`;
  const email = `${username}@example.com`;
  remember(password);
  const created = await request("POST", "/users", {
    body: { username, password, full_name: "Log Watcher", email },
  });
  expect(created.status).toBe(201);
  const login = await request<Tokens>("POST", "/users/login", { body: { username, password } });
  expect(login.status).toBe(200);
  remember(login.body.access_token, login.body.refresh_token);
  return { username, password, email, tokens: login.body };
}

async function grantBanker(username: string) {
  const child = Bun.spawn(["bun", "src/cli.ts", "grant-role", username, "banker"], {
    cwd: PROJECT_ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      DATABASE_URL: bank.databaseUrl,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(await child.exited).toBe(0);
}

beforeAll(async () => {
  bank = await startBankProcess({ LOG_LEVEL: "debug" });
  sql = postgres(bank.databaseUrl, { max: 2, onnotice: () => {} });
  remember(bank.env.TOKEN_SYMMETRIC_KEY, PROCESS_API_KEY);
}, 60_000);

afterAll(async () => {
  await sql?.end();
  await bank?.stop();
});

describe("secrets never in logs", () => {
  test("a whole flow at LOG_LEVEL=debug prints none of the secrets it handled", async () => {
    const alice = await signUpAndLogIn("alice");
    const bob = await signUpAndLogIn("bob");
    const carol = await signUpAndLogIn("carol");

    // The verification email, and its link followed.
    const mail = await bank.capture.waitFor((e) => e.body.to?.[0] === alice.email && e.delivered);
    const link = /https?:\/\/[^\s"'<>]+verify_email\?[^\s"'<>]+/.exec(mail.body.text ?? "")?.[0];
    if (!link) throw new Error(`no link in ${mail.body.text}`);
    const url = new URL(link.replaceAll("&amp;", "&"));
    remember(url.searchParams.get("secret_code") ?? undefined);
    expect((await request("GET", `/verify_email${url.search}`)).status).toBe(200);
    // A wrong code too.
    const wrongCode = `wrong-${crypto.randomUUID()}`;
    remember(wrongCode);
    await request(
      "GET",
      `/verify_email?email_id=${url.searchParams.get("email_id")}&secret_code=${wrongCode}`,
    );

    // Renewals, and a renewal with a rotated token (theft detection).
    const renewed = await request<Tokens>("POST", "/tokens/renew_access", {
      body: { refresh_token: alice.tokens.refresh_token },
    });
    expect(renewed.status).toBe(200);
    remember(renewed.body.access_token, renewed.body.refresh_token);
    const relogin = await request<Tokens>("POST", "/users/login", {
      body: { username: alice.username, password: alice.password },
    });
    remember(relogin.body.access_token, relogin.body.refresh_token);

    // Money: a banker (the CLI) deposits, alice pays bob with an Idempotency-Key, twice.
    await grantBanker(carol.username);
    const banker = await request<Tokens>("POST", "/users/login", {
      body: { username: carol.username, password: carol.password },
    });
    remember(banker.body.access_token, banker.body.refresh_token);
    const open = async (token: string) =>
      (await request<{ id: number }>("POST", "/accounts", { token, body: { currency: "USD" } }))
        .body.id;
    const from = await open(relogin.body.access_token);
    const to = await open(bob.tokens.access_token);
    expect(
      (
        await request("POST", `/accounts/${from}/deposits`, {
          token: banker.body.access_token,
          body: { amount: 5_000, currency: "USD" },
        })
      ).status,
    ).toBe(201);
    for (let i = 0; i < 2; i++) {
      const paid = await request("POST", "/transfers", {
        token: relogin.body.access_token,
        headers: { "Idempotency-Key": "log-test-key" },
        body: {
          from_account_id: from,
          to_account_id: to,
          amount: 100,
          currency: "USD",
        },
      });
      expectStatus(paid, 201);
    }
    await request("POST", "/transfers", {
      token: relogin.body.access_token,
      body: { from_account_id: from, to_account_id: to, amount: 999_999, currency: "USD" },
    });

    // A password change (ends the other sessions), then the old password fails.
    const newPassword = `changed-${crypto.randomUUID()}`;
    remember(newPassword);
    expect(
      (
        await request("PATCH", `/users/${alice.username}`, {
          token: relogin.body.access_token,
          body: { password: newPassword },
        })
      ).status,
    ).toBe(200);
    await request("GET", "/users/me", { token: renewed.body.access_token });

    // Failed logins, forged and stale tokens.
    for (const password of [alice.password, `guess-${crypto.randomUUID()}`]) {
      remember(password);
      expect(
        (await request("POST", "/users/login", { body: { username: alice.username, password } }))
          .status,
      ).toBe(401);
    }
    await request("POST", "/users/login", {
      body: { username: "nobody_here", password: newPassword },
    });
    await request("GET", "/users/me", { token: `${relogin.body.access_token}x` });
    await request("GET", "/users/me", {
      headers: { Authorization: `Basic ${btoa(`alice:${newPassword}`)}` },
    });
    await request("POST", "/tokens/renew_access", {
      body: { refresh_token: alice.tokens.refresh_token },
    });

    // The gateway and Connect log in too.
    const gateway = await request<{ access_token: string; refresh_token: string }>(
      "POST",
      "/v1/login_user",
      { body: { username: bob.username, password: bob.password } },
    );
    remember(gateway.body.access_token, gateway.body.refresh_token);
    const connect = await request<{ accessToken: string; refreshToken: string }>(
      "POST",
      "/pb.SimpleBank/LoginUser",
      {
        body: { username: bob.username, password: bob.password },
        headers: { "Connect-Protocol-Version": "1" },
      },
    );
    expect(connect.status).toBe(200);
    remember(connect.body.accessToken, connect.body.refreshToken);
    await request("POST", "/pb.SimpleBank/LoginUser", {
      body: { username: bob.username, password: "wrong-password-connect" },
      headers: { "Connect-Protocol-Version": "1" },
    });
    remember("wrong-password-connect");

    // A password reset: the emailed code, the new password, a wrong code.
    await sql`update users set is_email_verified = true where username = ${carol.username}`;
    expectStatus(
      await request("POST", "/users/password_reset", { body: { email: carol.email } }),
      202,
    );
    const resetMail = await bank.capture.waitFor(
      (e) =>
        e.body.to?.[0] === carol.email && /reset_password\?/.test(e.body.text ?? "") && e.delivered,
    );
    const resetLink = /https?:\/\/[^\s"'<>]+reset_password\?[^\s"'<>]+/.exec(
      resetMail.body.text ?? "",
    )?.[0];
    if (!resetLink) throw new Error(`no link in ${resetMail.body.text}`);
    const reset = new URL(resetLink);
    const resetId = reset.searchParams.get("reset_id");
    const resetPassword = `reset-${crypto.randomUUID()}`;
    const wrongResetCode = `wrongreset-${crypto.randomUUID()}`;
    remember(reset.searchParams.get("secret_code") ?? undefined, resetPassword, wrongResetCode);
    await request("POST", "/users/password_reset/confirm", {
      body: { reset_id: resetId, secret_code: wrongResetCode, new_password: resetPassword },
    });
    expectStatus(
      await request("POST", "/users/password_reset/confirm", {
        body: {
          reset_id: resetId,
          secret_code: reset.searchParams.get("secret_code"),
          new_password: resetPassword,
        },
      }),
      204,
    );

    // Logout.
    const after = await request<Tokens>("POST", "/users/login", {
      body: { username: alice.username, password: newPassword },
    });
    remember(after.body.access_token, after.body.refresh_token);
    expect(
      (await request("POST", "/users/logout", { token: after.body.access_token })).status,
    ).toBe(204);

    // What the database holds: hashes and codes.
    for (const row of await sql<{ h: string }[]>`select refresh_token_hash as h from sessions`) {
      remember(row.h);
    }
    for (const row of await sql<{ h: string }[]>`select hashed_password as h from users`) {
      remember(row.h);
    }
    for (const row of await sql<{ c: string }[]>`select secret_code as c from verify_emails`) {
      remember(row.c);
    }
    for (const row of await sql<{ h: string }[]>`
      select secret_code_hash as h from password_resets where secret_code_hash is not null`) {
      remember(row.h);
    }

    await Bun.sleep(500);
    const output = bank.server.output();
    // The log saw the flow: a line per request and RPC, the jobs (nothing is filtered at debug).
    const lines = output.split("\n");
    expect(lines.filter((line) => / request \{/.test(line)).length).toBeGreaterThan(25);
    expect(lines.filter((line) => / rpc \{/.test(line)).length).toBeGreaterThanOrEqual(2);
    expect(lines.filter((line) => / job succeeded \{/.test(line)).length).toBeGreaterThanOrEqual(3);
    expect(secrets.size).toBeGreaterThan(30);
    const leaked = [...secrets].filter((secret) => output.includes(secret));
    expect(leaked).toEqual([]);
  }, 90_000);
});
