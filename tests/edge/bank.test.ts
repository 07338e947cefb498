import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { grantRole } from "../../src/core/services/users.ts";
import type { LocalWorker } from "../../tools/edge/workerd.ts";
import { call } from "../support/app.ts";
import { testDatabase } from "../support/database.ts";
import {
  edgeBundle,
  GATE_CONNECTIONS,
  gatedDatabase,
  startEdge,
  stopEdges,
  TEST_APP_BASE_URL,
  TEST_EMAIL_FROM,
} from "../support/edge.ts";
import { type EmailCapture, startEmailCapture } from "../support/email-capture.ts";
import { uniqueName } from "../support/fixtures.ts";
import { httpCall, httpExpect, ledgerViolations } from "../support/resilience.ts";

/**
 * The bank as a Cloudflare Worker, in workerd itself (the built bundle, not a simulation), on
 * the real PostgreSQL and (with REDIS_URL) the Redis REST endpoint, over HTTP: a signup is
 * enqueued in its own transaction; one Cron Trigger run sends the verification email through
 * the real resend SDK to the capture server; the link verifies; then login, accounts, a
 * banker's deposit, 200 concurrent transfers, and the books balance in SQL. Tokens work on
 * both runtimes.
 */

const TRANSFERS = 200;

let capture: EmailCapture;
let edge: LocalWorker;
let sql: postgres.Sql;

beforeAll(async () => {
  capture = startEmailCapture();
  edge = await startEdge({ mail: capture });
  sql = postgres((await testDatabase()).url, { max: 2, onnotice: () => {} });
}, 60_000);

afterAll(async () => {
  await stopEdges();
  await capture.stop();
  await sql.end();
});

const newUser = () => {
  const username = uniqueName("edge");
  return {
    username,
    password: `pw-${crypto.randomUUID()}`,
    full_name: "Edge Customer",
    email: `${username}@example.com`,
  };
};

async function signUpAndLogIn(role: "depositor" | "banker" = "depositor") {
  const user = newUser();
  await httpExpect(201, edge.url, "POST", "/users", { body: user });
  if (role === "banker") await grantRole((await testDatabase()).deps, user.username, "banker");
  const login = await httpExpect(200, edge.url, "POST", "/users/login", {
    body: { username: user.username, password: user.password },
  });
  return { ...user, token: String(login.access_token) };
}

describe("the Worker in workerd", () => {
  test("the bundle is the one wrangler deploys, and small enough", async () => {
    const bundle = await edgeBundle();
    expect(bundle.modules[0]?.path).toBe("edge.js");
    expect(bundle.modules.filter((m) => m.type === "Text")).toHaveLength(2);
    // The free plan's cap is 3 MiB gzipped.
    expect(bundle.gzipBytes).toBeLessThan(3 * 1024 * 1024);
  });

  test("signup → Cron Trigger → email through resend → verify → login", async () => {
    const user = newUser();
    const created = await httpExpect(201, edge.url, "POST", "/users", { body: user });
    expect(created).toMatchObject({ username: user.username, is_email_verified: false });
    const [job] = await sql<{ state: string }[]>`
      select state from pgboss.job
      where name = 'send_verify_email' and data->>'username' = ${user.username}`;
    expect(job?.state).toBe("created");

    await edge.scheduled();
    const email = await capture.waitFor((r) => r.body.to?.[0] === user.email && r.delivered);
    expect(email.authorization).toBe("Bearer re_test_edge");
    expect(email.body.from).toBe(TEST_EMAIL_FROM);
    const line = (email.body.text ?? "")
      .split("\n")
      .find((l) => l.startsWith(`${TEST_APP_BASE_URL}/verify_email?`));
    if (!line) throw new Error(`no link in ${email.body.text}`);
    const link = new URL(line);
    expect(await httpExpect(200, edge.url, "GET", `${link.pathname}${link.search}`)).toEqual({
      is_verified: true,
    });

    const login = await httpExpect(200, edge.url, "POST", "/users/login", {
      body: { username: user.username, password: user.password },
    });
    expect(login.user).toMatchObject({ username: user.username, is_email_verified: true });
    const [done] = await sql<{ state: string }[]>`
      select state from pgboss.job
      where name = 'send_verify_email' and data->>'username' = ${user.username}`;
    expect(done?.state).toBe("completed");
  });

  test("accounts, a banker's deposit, 200 concurrent transfers: the books balance", async () => {
    const banker = await signUpAndLogIn("banker");
    const [alice, bob] = [await signUpAndLogIn(), await signUpAndLogIn()];
    const open = async (user: { token: string }) =>
      Number(
        (
          await httpExpect(201, edge.url, "POST", "/accounts", {
            token: user.token,
            body: { currency: "USD" },
          })
        ).id,
      );
    const [a, b] = [await open(alice), await open(bob)];
    for (const id of [a, b]) {
      await httpExpect(201, edge.url, "POST", `/accounts/${id}/deposits`, {
        token: banker.token,
        body: { amount: 10_000, currency: "USD" },
      });
    }

    // Both ways at once, some for more than the sender may still have.
    const replies = await Promise.all(
      Array.from({ length: TRANSFERS }, (_, i) => {
        const [from, to, payer] = i % 2 === 0 ? [a, b, alice] : [b, a, bob];
        return httpCall(edge.url, "POST", "/transfers", {
          token: payer.token,
          body: {
            from_account_id: from,
            to_account_id: to,
            amount: 50 + (i % 7) * 900,
            currency: "USD",
          },
        });
      }),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s !== 201 && s !== 422)).toEqual([]);
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThan(TRANSFERS / 4);
    for (const reply of replies.filter((r) => r.status === 422)) {
      expect(reply.body).toMatchObject({ code: "insufficient_funds" });
    }

    const balance = async (id: number, token: string) =>
      Number((await httpExpect(200, edge.url, "GET", `/accounts/${id}`, { token })).balance);
    expect((await balance(a, alice.token)) + (await balance(b, bob.token))).toBe(20_000);
    expect(await ledgerViolations(sql)).toEqual([]);
    // Hyperdrive's stand-in kept the burst within its connections.
    expect((await gatedDatabase()).peak()).toBeLessThanOrEqual(GATE_CONNECTIONS);
  }, 60_000);

  test("tokens work on both runtimes: the Worker's on the Bun app, and the Bun app's on the Worker", async () => {
    const onEdge = await signUpAndLogIn();
    expect((await call("GET", "/users/me", { token: onEdge.token })).status).toBe(200);
    const user = newUser();
    expect((await call("POST", "/users", { body: user })).status).toBe(201);
    const login = await call<{ access_token: string }>("POST", "/users/login", {
      body: { username: user.username, password: user.password },
    });
    const me = await httpExpect(200, edge.url, "GET", "/users/me", {
      token: login.body.access_token,
    });
    expect(me.username).toBe(user.username);
  });
});
