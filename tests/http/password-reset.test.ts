import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import postgres from "postgres";
import { hashSecretCode } from "../../src/core/auth/secret-codes.ts";
import { passwordResets } from "../../src/core/db/schema.ts";
import { type JobQueueHandle, QUEUES, startJobQueue } from "../../src/core/jobs/boss.ts";
import {
  PASSWORD_RESET_TTL_MS,
  sendPasswordReset,
} from "../../src/core/jobs/send-password-reset.ts";
import { startWorker } from "../../src/core/jobs/worker.ts";
import { escapeHtml } from "../../src/core/lib/html.ts";
import { createResendMailer } from "../../src/core/mail/resend-mailer.ts";
import { noJobs } from "../../src/core/services/jobs.ts";
import { confirmPasswordReset } from "../../src/core/services/password-reset.ts";
import { call, expectProblem, logIn, type Reply, signUp, type TestUser } from "../support/app.ts";
import { testDatabase } from "../support/database.ts";
import {
  type CapturedRequest,
  type EmailCapture,
  startEmailCapture,
} from "../support/email-capture.ts";
import { uniqueName } from "../support/fixtures.ts";
import { startInstance, uniqueIp } from "../support/instances.ts";
import { TEST_API_KEY, TEST_APP_BASE_URL, TEST_EMAIL_FROM } from "../support/jobs.ts";
import { expectInvalid } from "../support/ledger-http.ts";
import { captureLogs, type LogCapture } from "../support/logs.ts";
import { poll } from "../support/poll.ts";
import { deleteKeys, keyPrefix } from "../support/redis.ts";

/**
 * Issue 13, password reset (contract, "Users and sessions"): POST /users/password_reset → 202
 * whatever the address → pg-boss (the run's database) → a worker started here → the REAL resend
 * SDK → the capture server; the link read from the captured email, then
 * POST /users/password_reset/confirm. Requests go to the app under test (the Bun app, or the
 * Worker with TEST_TARGET=edge); the rate-limit tests build in-process instances with small
 * limits (as tests/http/rate-limits.test.ts does).
 *
 * The worker runs on a pg-boss instance of its own, so it stops here without stopping the one
 * the other files enqueue with; it may pick up jobs other files left queued, so every check
 * filters by recipient.
 */

const database = await testDatabase();
const { db } = database.handle;
let jobs: JobQueueHandle;
let capture: EmailCapture;
let logs: LogCapture;
let sql: postgres.Sql;
const prefixes: string[] = [];

beforeAll(async () => {
  capture = startEmailCapture();
  logs = captureLogs();
  jobs = await startJobQueue({
    url: database.url,
    logger: logs.logger,
    applicationName: "bun-test-password-reset-worker",
  });
  await startWorker(
    jobs.boss,
    {
      db,
      logger: logs.logger,
      mailer: createResendMailer({
        apiKey: TEST_API_KEY,
        baseUrl: capture.baseUrl,
        from: TEST_EMAIL_FROM,
      }),
      appBaseUrl: TEST_APP_BASE_URL,
    },
    { concurrency: 2, pollingIntervalSeconds: 0.5 },
  );
  sql = postgres(database.url, { max: 4, onnotice: () => {} });
});

afterAll(async () => {
  await jobs?.stop({ timeoutMs: 5_000 });
  await capture?.stop();
  await sql?.end();
  if (database.redis) {
    for (const prefix of prefixes) await deleteKeys(database.redis.redisUrl, prefix);
  }
});

const requestReset = (email: unknown, headers?: Record<string, string>) =>
  call("POST", "/users/password_reset", { body: { email }, headers });

const confirm = (body: Record<string, unknown>) =>
  call("POST", "/users/password_reset/confirm", { body });

/** A registered user whose address is verified (as following the verification link does). */
async function verifiedUser(): Promise<TestUser> {
  const user = await signUp();
  await sql`update users set is_email_verified = true where username = ${user.username}`;
  return user;
}

/** The reset emails delivered to `email`, oldest first. */
const resetEmailsTo = (email: string) =>
  capture
    .delivered()
    .filter(
      (r) => r.body.to?.[0] === email && r.body.subject === "Reset your Simple Bank password",
    );

/** The next reset email delivered to `email` after `seen` of them. */
function nextResetEmail(email: string, seen = 0): Promise<CapturedRequest> {
  return poll(`reset email #${seen + 1} to ${email}`, async () => resetEmailsTo(email)[seen]);
}

interface ResetLink {
  url: URL;
  resetId: string;
  secretCode: string;
}

/** The reset link of the plain-text part (one line of its own). */
function linkIn(email: CapturedRequest): ResetLink {
  const line = (email.body.text ?? "")
    .split("\n")
    .find((l) => l.startsWith(`${TEST_APP_BASE_URL}/reset_password?`));
  if (!line) throw new Error(`no reset link in the text part: ${email.body.text}`);
  const url = new URL(line.trim());
  return {
    url,
    resetId: url.searchParams.get("reset_id") ?? "",
    secretCode: url.searchParams.get("secret_code") ?? "",
  };
}

/** Asks for a reset of `user`'s password and waits for the link it gets. */
async function resetLinkFor(user: { email: string }): Promise<ResetLink> {
  const seen = resetEmailsTo(user.email).length;
  expect((await requestReset(user.email)).status).toBe(202);
  return linkIn(await nextResetEmail(user.email, seen));
}

const newPassword = () => `new-${crypto.randomUUID()}`;

const confirmWith = (link: ResetLink, password = newPassword()) =>
  confirm({ reset_id: link.resetId, secret_code: link.secretCode, new_password: password });

const resetRows = (username: string) =>
  db.select().from(passwordResets).where(eq(passwordResets.username, username));

const resetJobsOf = (username: string) =>
  sql<{ id: string; data: { resetId: string } }[]>`
    select j.id, j.data from pgboss.job j
    join password_resets r on j.data->>'resetId' = r.id::text
    where j.name = ${QUEUES.sendPasswordReset} and r.username = ${username}`;

/** What a client could compare between two 202s: status, body, and the headers that matter. */
function visible(reply: Reply) {
  const headers = [...reply.headers.entries()].filter(
    ([name]) => !["x-request-id", "date", "content-length"].includes(name),
  );
  return { status: reply.status, body: reply.body, headers };
}

describe("POST /users/password_reset: 202 whatever the address", () => {
  test("a verified user's address: 202 with no body; the job mails the link (APP_BASE_URL, both parts)", async () => {
    const user = await verifiedUser();
    const res = await requestReset(user.email);
    expect(res.status).toBe(202);
    expect(res.body as unknown).toBe("");
    const email = await nextResetEmail(user.email);
    expect(email.authorization).toBe(`Bearer ${TEST_API_KEY}`);
    expect(email.body.from).toBe(TEST_EMAIL_FROM);
    expect(email.body.to).toEqual([user.email]);
    const link = linkIn(email);
    expect(link.url.origin).toBe(TEST_APP_BASE_URL);
    expect(link.url.pathname).toBe("/reset_password");
    expect([...link.url.searchParams.keys()].sort()).toEqual(["reset_id", "secret_code"]);
    // At least 128 bits: 256 random bits, url-safe base64 (43 characters).
    expect(link.secretCode).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(email.body.text).toContain(`Hello ${user.fullName},`);
    expect(email.body.html).toContain(`href="${escapeHtml(link.url.toString())}"`);
    expect(email.idempotencyKey).toStartWith(`password-reset/${link.resetId}/`);

    // The row keeps only the code's SHA-256, and the 15 minutes start when the code is minted.
    const [row] = await resetRows(user.username);
    expect(row?.id).toBe(link.resetId);
    expect(row?.secretCodeHash).toBe(hashSecretCode(link.secretCode));
    expect(JSON.stringify(row)).not.toContain(link.secretCode);
    const left = (row?.expiredAt?.getTime() ?? 0) - Date.now();
    expect(left).toBeGreaterThan(PASSWORD_RESET_TTL_MS - 60_000);
    expect(left).toBeLessThanOrEqual(PASSWORD_RESET_TTL_MS);
    // Nor does the job's payload hold the code.
    const [job] = await resetJobsOf(user.username);
    expect(job?.data).toEqual({ resetId: link.resetId });
  });

  test("the address is matched case-insensitively and trimmed", async () => {
    const user = await verifiedUser();
    expect((await requestReset(`  ${user.email.toUpperCase()} `)).status).toBe(202);
    expect(linkIn(await nextResetEmail(user.email)).resetId).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("an unverified address, an unknown one, one that is not an address, the system user's: the identical 202 and no email", async () => {
    const verified = await verifiedUser();
    const unverified = await signUp();
    const known = visible(await requestReset(verified.email));
    const others = [
      unverified.email,
      `${uniqueName("nobody")}@example.com`,
      "not an address",
      "",
      "treasury@bank.invalid",
    ];
    for (const email of others) expect(visible(await requestReset(email))).toEqual(known);
    await nextResetEmail(verified.email);
    expect(await resetRows(unverified.username)).toEqual([]);
    expect(await resetRows("bank")).toEqual([]);
    expect(await resetJobsOf(unverified.username)).toHaveLength(0);
    // The worker has had its chance: still no email to any of them.
    await Bun.sleep(1_500);
    for (const email of others) expect(resetEmailsTo(email)).toEqual([]);
  });

  test("a body that is not {email: string}: 400 like every endpoint", async () => {
    expectInvalid(await call("POST", "/users/password_reset", { body: {} }), "email");
    expectInvalid(await requestReset(42), "email");
    expectInvalid(await requestReset(null), "email");
    expectInvalid(
      await call("POST", "/users/password_reset", { body: { email: "a@example.com", extra: 1 } }),
      "extra",
    );
    expectProblem(
      await call("POST", "/users/password_reset", { body: "{not json" }),
      400,
      "malformed_json",
    );
    expectProblem(
      await call("POST", "/users/password_reset", {
        body: "email=a@example.com",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      }),
      415,
      "unsupported_media_type",
    );
  });

  test("a new request replaces the older link: only the latest works", async () => {
    const user = await verifiedUser();
    const first = await resetLinkFor(user);
    const second = await resetLinkFor(user);
    expect(second.resetId).not.toBe(first.resetId);
    expectProblem(await confirmWith(first), 422, "verification_failed");
    expect((await confirmWith(second)).status).toBe(204);
  });

  test("password_reset and the other path words under /users/ are reserved usernames (409)", async () => {
    const doc = await call<{ paths: Record<string, unknown> }>("GET", "/openapi.json");
    const words = new Set(
      Object.keys(doc.body.paths)
        .map((path) => /^\/users\/([a-z0-9_]+)(\/|$)/.exec(path)?.[1])
        .filter((word): word is string => word !== undefined && word.length >= 3),
    );
    expect(words).toContain("password_reset");
    for (const username of [...words, "bank"]) {
      const res = await call("POST", "/users", {
        body: {
          username,
          password: `pw-${crypto.randomUUID()}`,
          full_name: "Route Shadow",
          email: `${uniqueName("shadow")}@example.com`,
        },
      });
      expectProblem(res, 409, "username_taken");
    }
  });
});

describe("POST /users/password_reset/confirm", () => {
  test("204 with no body; the new password logs in, the old one no longer; password_changed_at is set", async () => {
    const user = await verifiedUser();
    const link = await resetLinkFor(user);
    const password = newPassword();
    const res = await confirmWith(link, password);
    expect(res.status).toBe(204);
    expect(res.body as unknown).toBe("");
    expectProblem(
      await call("POST", "/users/login", {
        body: { username: user.username, password: user.password },
      }),
      401,
      "invalid_credentials",
    );
    const session = await logIn(user.username, password);
    const me = await call<{ password_changed_at: string }>("GET", "/users/me", {
      token: session.accessToken,
    });
    expect(me.status).toBe(200);
    expect(Date.now() - Date.parse(me.body.password_changed_at)).toBeLessThan(60_000);
  });

  test("every session of the user ends: refresh tokens and access tokens alike", async () => {
    const user = await verifiedUser();
    const second = await logIn(user.username, user.password);
    const sessions = [{ accessToken: user.accessToken, refreshToken: user.refreshToken }, second];
    for (const s of sessions) {
      expect((await call("GET", "/users/me", { token: s.accessToken })).status).toBe(200);
    }
    expect((await confirmWith(await resetLinkFor(user))).status).toBe(204);
    for (const s of sessions) {
      expect((await call("GET", "/users/me", { token: s.accessToken })).status).toBe(401);
      const renewed = await call("POST", "/tokens/renew_access", {
        body: { refresh_token: s.refreshToken },
      });
      expect(renewed.status).toBe(401);
    }
    const [open] = await sql<{ count: number }[]>`
      select count(*)::int as count from sessions
      where username = ${user.username} and is_blocked = false`;
    expect(open?.count).toBe(0);
  });

  test("a used link: 422 verification_failed, and the password stays the one it set", async () => {
    const user = await verifiedUser();
    const link = await resetLinkFor(user);
    const password = newPassword();
    expect((await confirmWith(link, password)).status).toBe(204);
    expectProblem(await confirmWith(link), 422, "verification_failed");
    await logIn(user.username, password);
  });

  test("a wrong code, an unknown id, a link not minted yet: 422 verification_failed", async () => {
    const user = await verifiedUser();
    const link = await resetLinkFor(user);
    const wrong = `${link.secretCode.slice(0, -2)}${link.secretCode.endsWith("AA") ? "BB" : "AA"}`;
    expectProblem(await confirmWith({ ...link, secretCode: wrong }), 422, "verification_failed");
    expectProblem(
      await confirmWith({ ...link, resetId: crypto.randomUUID() }),
      422,
      "verification_failed",
    );
    // A row whose job has not minted a code yet matches no code at all.
    const pending = crypto.randomUUID();
    await db
      .insert(passwordResets)
      .values({ id: pending, username: user.username, email: user.email });
    expectProblem(await confirmWith({ ...link, resetId: pending }), 422, "verification_failed");
    // The right link still works after all that.
    expect((await confirmWith(link)).status).toBe(204);
  });

  test("an expired link (15 min): 422 verification_failed, and the password is unchanged", async () => {
    const user = await verifiedUser();
    const link = await resetLinkFor(user);
    await sql`update password_resets set expired_at = now() - interval '1 second'
              where id = ${link.resetId}`;
    expectProblem(await confirmWith(link), 422, "verification_failed");
    await logIn(user.username, user.password);
  });

  test("a link for an address the user no longer has: 422", async () => {
    const user = await verifiedUser();
    const link = await resetLinkFor(user);
    const moved = await call("PATCH", `/users/${user.username}`, {
      token: user.accessToken,
      body: { email: `moved.${user.email}` },
    });
    expect(moved.status).toBe(200);
    expectProblem(await confirmWith(link), 422, "verification_failed");
  });

  test("bad input: 400 naming every bad field (the registration password rules: 8..72 bytes)", async () => {
    const link = { reset_id: crypto.randomUUID(), secret_code: "A".repeat(43) };
    expectInvalid(await confirm({ ...link, new_password: "short" }), "new_password");
    expectInvalid(await confirm({ ...link, new_password: "é".repeat(37) }), "new_password");
    expectInvalid(
      await confirm({ reset_id: "42", secret_code: "not a code!", new_password: 12345678 }),
      "new_password",
      "reset_id",
      "secret_code",
    );
    expectInvalid(await confirm({}), "new_password", "reset_id", "secret_code");
    expectInvalid(await confirm({ ...link, new_password: newPassword(), extra: true }), "extra");
    expectProblem(
      await call("POST", "/users/password_reset/confirm", { body: "[" }),
      400,
      "malformed_json",
    );
  });

  test("two concurrent confirmations with one code: exactly one 204, the other 422", async () => {
    const user = await verifiedUser();
    const link = await resetLinkFor(user);
    const [a, b] = [newPassword(), newPassword()];
    const replies = await Promise.all([confirmWith(link, a), confirmWith(link, b)]);
    expect(replies.map((r) => r.status).sort()).toEqual([204, 422]);
    const loser = replies.find((r) => r.status === 422);
    if (loser) expectProblem(loser, 422, "verification_failed");
    // The winner's password is the one set.
    const won = replies[0]?.status === 204 ? a : b;
    await logIn(user.username, won);
  });
});

describe("confirmations racing new requests", () => {
  test("a confirmation and a new request at once: never a 5xx; the link works only if the confirmation came first", async () => {
    for (let round = 0; round < 4; round++) {
      const user = await verifiedUser();
      const link = await resetLinkFor(user);
      const [confirmed, requested] = await Promise.all([
        confirmWith(link),
        requestReset(user.email),
      ]);
      expect(requested.status).toBe(202);
      expect([204, 422]).toContain(confirmed.status);
      // Both take the user's row lock first, so one runs after the other: the request first
      // replaces the link (the confirmation is 422), or the confirmation first uses it up and
      // the request then adds a new one. Either way exactly the new request's link is live.
      const live = (await resetRows(user.username)).filter((row) => !row.isUsed);
      expect(live).toHaveLength(1);
    }
  });
});

describe("the job", () => {
  test("a retry after a lost answer mails a fresh code under a new key; only the latest code works", async () => {
    const user = await verifiedUser();
    expect((await requestReset(user.email)).status).toBe(202);
    const first = linkIn(await nextResetEmail(user.email));
    // The same job run again (as a retry would): a new code, a new idempotency key, a new email.
    const [job] = await resetJobsOf(user.username);
    if (!job) throw new Error("no job");
    const mailer = createResendMailer({
      apiKey: TEST_API_KEY,
      baseUrl: capture.baseUrl,
      from: TEST_EMAIL_FROM,
    });
    const outcome = await sendPasswordReset(
      { db, mailer, appBaseUrl: TEST_APP_BASE_URL },
      { id: job.id, data: job.data },
    );
    expect(outcome.status).toBe("completed");
    const emails = resetEmailsTo(user.email);
    expect(emails).toHaveLength(2);
    expect(emails[1]?.idempotencyKey).not.toBe(emails[0]?.idempotencyKey);
    const second = linkIn(emails[1] as CapturedRequest);
    expect(second.resetId).toBe(first.resetId);
    expect(second.secretCode).not.toBe(first.secretCode);
    expectProblem(await confirmWith(first), 422, "verification_failed");
    expect((await confirmWith(second)).status).toBe(204);
    // Once used, the job sends nothing more.
    expect(
      await sendPasswordReset(
        { db, mailer, appBaseUrl: TEST_APP_BASE_URL },
        { id: job.id, data: job.data },
      ),
    ).toEqual({ status: "completed", output: { skipped: "link already used or superseded" } });
  });

  test("outcomes: a bad payload or an unknown reset is dead-lettered; a changed address is skipped", async () => {
    const mailer = createResendMailer({
      apiKey: TEST_API_KEY,
      baseUrl: capture.baseUrl,
      from: TEST_EMAIL_FROM,
    });
    const deps = { db, mailer, appBaseUrl: TEST_APP_BASE_URL };
    expect((await sendPasswordReset(deps, { id: "j", data: { resetId: "nope" } })).status).toBe(
      "deadletter",
    );
    const unknown = crypto.randomUUID();
    expect(await sendPasswordReset(deps, { id: "j", data: { resetId: unknown } })).toEqual({
      status: "deadletter",
      output: { error: `no password reset ${unknown}` },
    });
    const user = await verifiedUser();
    const resetId = crypto.randomUUID();
    await db
      .insert(passwordResets)
      .values({ id: resetId, username: user.username, email: `old.${user.email}` });
    expect(await sendPasswordReset(deps, { id: "j", data: { resetId } })).toEqual({
      status: "completed",
      output: { skipped: "email address changed" },
    });
    // A provider that refuses the email for good: dead-lettered, nothing retried.
    await db
      .update(passwordResets)
      .set({ email: user.email })
      .where(eq(passwordResets.id, resetId));
    capture.respondWith(422, { statusCode: 422, name: "validation_error", message: "bad to" });
    try {
      const refused = await sendPasswordReset(deps, { id: "j", data: { resetId } });
      expect(refused.status).toBe("deadletter");
    } finally {
      capture.reset();
    }
    // A provider that fails for now: the attempt throws, for the queue to retry.
    capture.respondWith(500, { statusCode: 500, name: "application_error", message: "down" });
    try {
      await expect(sendPasswordReset(deps, { id: "j", data: { resetId } })).rejects.toThrow();
    } finally {
      capture.reset();
    }
  });

  test("the 15 minutes are the clocks': the job's mints, the confirming context's checks", async () => {
    const user = await verifiedUser();
    const resetId = crypto.randomUUID();
    await db
      .insert(passwordResets)
      .values({ id: resetId, username: user.username, email: user.email });
    const minted = new Date("2030-01-01T12:00:00Z");
    const sent: string[] = [];
    await sendPasswordReset(
      {
        db,
        clock: { now: () => minted },
        appBaseUrl: TEST_APP_BASE_URL,
        mailer: {
          kind: "capture",
          async send(email) {
            sent.push(email.text);
            return { id: "captured" };
          },
        },
      },
      { id: "j", data: { resetId } },
    );
    const line = sent[0]?.split("\n").find((l) => l.startsWith(TEST_APP_BASE_URL)) ?? "";
    const secretCode = new URL(line).searchParams.get("secret_code") ?? "";
    const at = (ms: number) => ({
      ...database.deps,
      jobs: noJobs,
      clock: { now: () => new Date(minted.getTime() + ms) },
    });
    const input = { resetId, secretCode, newPassword: newPassword() };
    await expect(confirmPasswordReset(at(PASSWORD_RESET_TTL_MS), input)).rejects.toMatchObject({
      code: "verification_failed",
    });
    await confirmPasswordReset(at(PASSWORD_RESET_TTL_MS - 1_000), input);
    await logIn(user.username, input.newPassword);
  });
});

describe("rate limits (per client IP and per address), 429 with Retry-After", () => {
  const LIMITS = {
    RATE_LIMIT_ENABLED: "true",
    RATE_LIMIT_PASSWORD_RESET_IP: "3/1h",
    RATE_LIMIT_PASSWORD_RESET_EMAIL: "2/1h",
  };
  const stores = [
    { name: "in-process store", redis: undefined },
    ...(database.redis ? [{ name: "Redis store", redis: database.redis }] : []),
  ];

  for (const store of stores) {
    test(`${store.name}: per address (known or not, alike), then per IP`, async () => {
      const prefix = store.redis ? keyPrefix("password-reset") : undefined;
      if (prefix) prefixes.push(prefix);
      const limited = await startInstance({ env: LIMITS, redis: store.redis, prefix });
      const ask = (email: string, ip = uniqueIp()) =>
        limited.request("POST", "/users/password_reset", { body: { email }, ip });
      const expectLimited = (reply: Reply, limit: number) => {
        expectProblem(reply, 429, "rate_limited");
        expect(Number(reply.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
        expect(Number(reply.headers.get("Retry-After"))).toBeLessThanOrEqual(3600);
        expect(reply.headers.get("RateLimit-Limit")).toBe(String(limit));
      };

      // Per address, each request from its own IP: a verified user's and an unknown one alike.
      const user = await verifiedUser();
      const unknown = `${uniqueName("nobody")}@example.com`;
      for (const email of [user.email, unknown]) {
        expect((await ask(email)).status).toBe(202);
        expect((await ask(email.toUpperCase())).status).toBe(202);
        expectLimited(await ask(email), 2);
      }
      // Per IP: other addresses, one client.
      const ip = uniqueIp();
      for (let i = 0; i < 3; i++) {
        expect((await ask(`${uniqueName("ip")}@example.com`, ip)).status).toBe(202);
      }
      expectLimited(await ask(`${uniqueName("ip")}@example.com`, ip), 3);
    });
  }
});
