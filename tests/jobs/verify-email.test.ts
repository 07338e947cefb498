import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import postgres from "postgres";
import { ConfigError, loadConfig } from "../../src/core/config/config.ts";
import { verifyEmails } from "../../src/core/db/schema.ts";
import { type JobQueueHandle, QUEUES, startJobQueue } from "../../src/core/jobs/boss.ts";
import { sendVerifyEmail } from "../../src/core/jobs/send-verify-email.ts";
import { startWorker } from "../../src/core/jobs/worker.ts";
import { escapeHtml } from "../../src/core/lib/html.ts";
import { MailerError } from "../../src/core/mail/mailer.ts";
import { createResendMailer } from "../../src/core/mail/resend-mailer.ts";
import { verificationEmail } from "../../src/core/mail/verification-email.ts";
import { buildMailer } from "../../src/core/wiring/mailer.ts";
import { call, expectProblem, logIn } from "../support/app.ts";
import { testDatabase } from "../support/database.ts";
import {
  type CapturedRequest,
  type EmailCapture,
  startEmailCapture,
} from "../support/email-capture.ts";
import { uniqueName } from "../support/fixtures.ts";
import { jobTable, TEST_API_KEY, TEST_APP_BASE_URL, TEST_EMAIL_FROM } from "../support/jobs.ts";
import { captureLogs, type LogCapture } from "../support/logs.ts";
import { poll } from "../support/poll.ts";

/**
 * The verification email end to end: sign up over HTTP → pg-boss (on the run's database) → a
 * worker started here → the REAL resend SDK → the capture server standing in for resend's API;
 * then the link read from the captured email is followed over HTTP.
 *
 * The worker runs on a pg-boss instance of its own (the run's default queue settings), so it
 * can be stopped at the end without stopping the one the other test files enqueue with. It may
 * also pick up jobs other files left queued: every check here filters by recipient or job id.
 */

let jobs: JobQueueHandle;
let capture: EmailCapture;
let logs: LogCapture;
let sql: postgres.Sql;
let table: ReturnType<typeof jobTable>;

beforeAll(async () => {
  const database = await testDatabase();
  capture = startEmailCapture();
  logs = captureLogs();
  jobs = await startJobQueue({
    url: database.url,
    logger: logs.logger,
    applicationName: "bun-test-verify-worker",
  });
  await startWorker(
    jobs.boss,
    {
      db: database.handle.db,
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
  sql = postgres(database.url, { max: 2, onnotice: () => {} });
  table = jobTable(sql);
});

afterAll(async () => {
  await jobs?.stop({ timeoutMs: 5_000 });
  await capture?.stop();
  await sql?.end();
});

interface Registered {
  username: string;
  password: string;
  email: string;
  fullName: string;
}

async function register(fullName = "Test User"): Promise<Registered> {
  const username = uniqueName("ve");
  const user = {
    username,
    password: `pw-${crypto.randomUUID()}`,
    email: `${username}@example.com`,
  };
  const res = await call("POST", "/users", { body: { ...user, full_name: fullName } });
  if (res.status !== 201) throw new Error(`sign-up failed: ${JSON.stringify(res.body)}`);
  return { ...user, fullName };
}

const deliveredTo = (email: string) =>
  capture.waitFor((request) => request.body.to?.[0] === email && request.delivered);

/** The verify link of the plain-text part (one line of its own). */
function linkIn(request: CapturedRequest): URL {
  const line = (request.body.text ?? "")
    .split("\n")
    .find((l) => l.startsWith(`${TEST_APP_BASE_URL}/verify_email?`));
  if (!line) throw new Error(`no link in the text part: ${request.body.text}`);
  return new URL(line.trim());
}

/** Follows a link as the user's browser would, against the app (its path and query). */
const follow = (link: URL) => call("GET", `${link.pathname}${link.search}`);

describe("sign-up → worker → resend SDK → captured email → link → verified", () => {
  test("the email as resend receives it, and its link verifies the address exactly once", async () => {
    const user = await register("Siobhán O'Brien-Smith");
    const [job] = await table.forUser(user.username);
    if (!job) throw new Error("no job");

    const email = await deliveredTo(user.email);
    expect(email.method).toBe("POST");
    expect(email.path).toBe("/emails");
    expect(email.authorization).toBe(`Bearer ${TEST_API_KEY}`);
    expect(email.idempotencyKey).toBe(`verify-email/${job.id}`);
    expect(email.headers["content-type"]).toContain("application/json");
    expect(email.body.from).toBe(TEST_EMAIL_FROM);
    expect(email.body.to).toEqual([user.email]);
    expect(email.body.subject).toBe("Welcome to Simple Bank");

    // Both parts: the full name (escaped in HTML) and the link.
    const link = linkIn(email);
    const html = email.body.html ?? "";
    const text = email.body.text ?? "";
    expect(text).toContain(`Hello ${user.fullName},`);
    expect(html).toContain(`Hello Siobhán O&#39;Brien-Smith,`);
    expect(html).not.toContain("O'Brien");
    expect(html).toContain(`href="${escapeHtml(link.toString())}"`);
    expect(link.origin).toBe(TEST_APP_BASE_URL);
    expect(link.pathname).toBe("/verify_email");
    expect([...link.searchParams.keys()].sort()).toEqual(["email_id", "secret_code"]);

    // The link is the job's verify_emails row.
    const { db } = (await testDatabase()).handle;
    const rows = await db.select().from(verifyEmails).where(eq(verifyEmails.jobId, job.id));
    expect(rows).toHaveLength(1);
    expect(String(rows[0]?.id)).toBe(link.searchParams.get("email_id") ?? "");
    expect(rows[0]?.secretCode).toBe(link.searchParams.get("secret_code") ?? "");
    expect(rows[0]?.email).toBe(user.email);

    const { accessToken } = await logIn(user.username, user.password);
    const before = await call("GET", "/users/me", { token: accessToken });
    expect(before.body.is_email_verified).toBe(false);

    const verified = await follow(link);
    expect(verified.status).toBe(200);
    expect(verified.body).toEqual({ is_verified: true });
    const after = await call("GET", "/users/me", { token: accessToken });
    expect(after.body.is_email_verified).toBe(true);

    expectProblem(await follow(link), 422, "verification_failed");

    // The job completed, and said so in the log with its id and type.
    await poll(
      "the job to complete",
      async () => (await table.byId(job.id))?.state === "completed",
      { intervalMs: 100, retryOnThrow: true },
    );
    const lines = logs.forJob(job.id);
    expect(lines.find((l) => l.msg === "job started")).toMatchObject({
      level: "info",
      job_type: QUEUES.sendVerifyEmail,
    });
    expect(lines.find((l) => l.msg === "job succeeded")).toMatchObject({
      level: "info",
      job_type: QUEUES.sendVerifyEmail,
    });
    expect(lines.filter((l) => l.level === "error" || l.level === "warn")).toEqual([]);
  });

  test("secret codes carry at least 128 bits: ≥ 22 base64url characters, all distinct", async () => {
    const users = await Promise.all(Array.from({ length: 16 }, () => register()));
    const emails = await Promise.all(users.map((user) => deliveredTo(user.email)));
    const codes = emails.map((email) => linkIn(email).searchParams.get("secret_code") ?? "");
    for (const code of codes) {
      expect(code).toMatch(/^[A-Za-z0-9_-]{22,}$/);
      expect(Buffer.from(code, "base64url").length).toBeGreaterThanOrEqual(16);
    }
    expect(new Set(codes).size).toBe(codes.length);
    const ids = emails.map((email) => linkIn(email).searchParams.get("email_id"));
    expect(new Set(ids).size).toBe(ids.length);
  });

  test("a changed address gets its own email; the old address's link stops working", async () => {
    const user = await register();
    const oldLink = linkIn(await deliveredTo(user.email));
    const { accessToken } = await logIn(user.username, user.password);
    const newEmail = `moved-${user.email}`;
    const moved = await call("PATCH", `/users/${user.username}`, {
      token: accessToken,
      body: { email: newEmail },
    });
    expect(moved.status).toBe(200);

    const newLink = linkIn(await deliveredTo(newEmail));
    expect(newLink.searchParams.get("email_id")).not.toBe(oldLink.searchParams.get("email_id"));
    expectProblem(await follow(oldLink), 422, "verification_failed");
    expect((await follow(newLink)).body).toEqual({ is_verified: true });
    const me = await call("GET", "/users/me", { token: accessToken });
    expect(me.body).toMatchObject({ email: newEmail, is_email_verified: true });
  });

  test("resend_verification sends another email, keyed by its own job", async () => {
    const user = await register();
    const first = await deliveredTo(user.email);
    const { accessToken } = await logIn(user.username, user.password);
    const res = await call("POST", "/users/resend_verification", { token: accessToken });
    expect(res.status).toBe(202);

    const jobIds = (await table.forUser(user.username)).map((job) => job.id);
    expect(jobIds).toHaveLength(2);
    const second = await capture.waitFor(
      (request) => request.delivered && request.idempotencyKey === `verify-email/${jobIds[1]}`,
    );
    expect(first.idempotencyKey).toBe(`verify-email/${jobIds[0]}`);
    expect(second.body.to).toEqual([user.email]);
    expect(linkIn(second).toString()).not.toBe(linkIn(first).toString());
    expect((await follow(linkIn(second))).body).toEqual({ is_verified: true });
  });
});

describe("the resend mailer (real SDK) against the capture server", () => {
  const email = (to: string) =>
    verificationEmail({
      to,
      fullName: "Mail Test",
      link: `${TEST_APP_BASE_URL}/verify_email?email_id=1&secret_code=x`,
      idempotencyKey: `test/${crypto.randomUUID()}`,
    });
  const mailer = () =>
    createResendMailer({ apiKey: TEST_API_KEY, baseUrl: capture.baseUrl, from: TEST_EMAIL_FROM });

  test("a 2xx answer is the message id", async () => {
    const sent = await mailer().send(email("ok@example.com"));
    const captured = await capture.waitFor((request) => request.id === sent.id);
    expect(captured.delivered).toBe(true);
  });

  test("4xx other than 429 is permanent; 429 and 5xx are not", async () => {
    const cases: [number, boolean][] = [
      [422, true],
      [400, true],
      [403, true],
      [429, false],
      [500, false],
      [503, false],
    ];
    for (const [status, permanent] of cases) {
      capture.failNext(1, status);
      const error = await mailer()
        .send(email(`status-${status}@example.com`))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(MailerError);
      expect(error).toMatchObject({ status, permanent });
    }
  });

  test("resend's 409s: a payload changed under one key is permanent; the same key still in progress is not", async () => {
    const cases: [string, boolean][] = [
      ["invalid_idempotent_request", true],
      ["concurrent_idempotent_requests", false],
    ];
    for (const [name, permanent] of cases) {
      capture.respondWith(409, { statusCode: 409, name, message: `scripted ${name}` });
      const error = await mailer()
        .send(email(`${name}@example.com`))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(MailerError);
      expect(error).toMatchObject({ status: 409, permanent });
    }
  });

  test("an unreachable provider is a transient failure", async () => {
    const gone = startEmailCapture();
    const baseUrl = gone.baseUrl;
    await gone.stop();
    const error = await createResendMailer({ apiKey: TEST_API_KEY, baseUrl, from: TEST_EMAIL_FROM })
      .send(email("nobody@example.com"))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(MailerError);
    expect(error).toMatchObject({ permanent: false, status: null });
  });
});

describe("the mailer the configuration picks", () => {
  test("RESEND_API_KEY + RESEND_BASE_URL: resend, through the configured base URL and sender", async () => {
    const mailer = buildMailer(
      loadConfig({
        NODE_ENV: "development",
        RESEND_API_KEY: TEST_API_KEY,
        RESEND_BASE_URL: capture.baseUrl,
        EMAIL_FROM: "Config Test <config@example.com>",
      }),
      captureLogs().logger,
    );
    expect(mailer.kind).toBe("resend");
    const sent = await mailer.send(
      verificationEmail({
        to: "config@example.com",
        fullName: "Config Test",
        link: `${TEST_APP_BASE_URL}/verify_email?email_id=1&secret_code=x`,
        idempotencyKey: `config/${crypto.randomUUID()}`,
      }),
    );
    const captured = await capture.waitFor((request) => request.id === sent.id);
    expect(captured.body.from).toBe("Config Test <config@example.com>");
    expect(captured.authorization).toBe(`Bearer ${TEST_API_KEY}`);
  });

  test("without RESEND_API_KEY (development) emails go to the log, link included, and it works", async () => {
    const devLogs = captureLogs();
    const mailer = buildMailer(loadConfig({ NODE_ENV: "development" }), devLogs.logger);
    expect(mailer.kind).toBe("log");
    expect(devLogs.lines.find((l) => l.msg.includes("RESEND_API_KEY"))?.level).toBe("warn");

    const user = await register("Log Mailer");
    const { db } = (await testDatabase()).handle;
    const outcome = await sendVerifyEmail(
      { db, mailer, appBaseUrl: "http://localhost:8080" },
      { id: crypto.randomUUID(), data: { username: user.username } },
    );
    expect(outcome.status).toBe("completed");
    const line = devLogs.lines.find((l) => l.to === user.email);
    expect(line).toMatchObject({ level: "info", subject: "Welcome to Simple Bank" });
    const match = /http:\/\/localhost:8080\/verify_email\?\S+/.exec(String(line?.text));
    if (!match) throw new Error(`no link in the log line: ${JSON.stringify(line)}`);
    const link = new URL(match[0]);
    expect((await follow(link)).body).toEqual({ is_verified: true });
  });

  test("production refuses to start without RESEND_API_KEY", () => {
    const production = {
      NODE_ENV: "production",
      DATABASE_URL: "postgres://bank@db.example.com/bank",
      TOKEN_SYMMETRIC_KEY: "0123456789abcdef0123456789abcdef",
      EMAIL_FROM: "bank@example.com",
      APP_BASE_URL: "https://bank.example.com",
      UPSTASH_REDIS_REST_URL: "https://redis.example.com",
      UPSTASH_REDIS_REST_TOKEN: "token",
    };
    let error: unknown;
    try {
      loadConfig(production);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.variable)).toEqual(["RESEND_API_KEY"]);
    expect(loadConfig({ ...production, RESEND_API_KEY: "re_live" }).email.resendApiKey).toBe(
      "re_live",
    );
  });
});
