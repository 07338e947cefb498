import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type EmailCapture, startEmailCapture } from "../support/email-capture.ts";
import { type JobsWorld, startJobsWorld, TEST_API_KEY } from "../support/jobs.ts";
import { poll } from "../support/poll.ts";

/**
 * OWASP API10:2023 Unsafe Consumption of APIs. The one third-party API the bank consumes is the
 * mail provider (resend), called by the job worker. Whatever it answers (malformed JSON, HTML,
 * a huge body, a redirect elsewhere, a slow reply, 4xx, 5xx), the worker keeps running, the job
 * is retried (transient) or dead-lettered (permanent) as designed, nothing it said lands in
 * the logs unbounded, and the API key and the verification code never appear in a log line.
 * The provider is the capture server (tests/support/email-capture.ts), reached by the real SDK.
 */

const SETTINGS = { retryLimit: 2, retryDelaySeconds: 1, retryDelayMaxSeconds: 1 };
/** No log line may carry more than this much of what a provider said. */
const MAX_LOG_LINE = 16 * 1024;
/** The worker's mailer gives up on an answer after this long (30 s in production). */
const MAILER_TIMEOUT_MS = 2_000;

let world: JobsWorld;
let elsewhere: EmailCapture;

beforeAll(async () => {
  world = await startJobsWorld({
    settings: SETTINGS,
    concurrency: 1,
    mailerTimeoutMs: MAILER_TIMEOUT_MS,
  });
  elsewhere = startEmailCapture();
});

afterAll(async () => {
  await world?.stop();
  await elsewhere?.stop();
});

interface Outcome {
  state: string;
  attempts: number[];
  delivered: boolean;
  deadLettered: boolean;
}

/** Signs a user up and waits until its job is completed or dead-lettered. */
async function runJob(): Promise<Outcome & { username: string; jobId: string }> {
  const user = await world.signUp();
  const final = await poll(
    `job ${user.jobId} to finish`,
    async () => {
      const row = await world.table.byId(user.jobId);
      if (row?.state === "completed") return row;
      if (row?.state === "failed" && (await world.table.deadLetterOf(user.jobId))) return row;
      return undefined;
    },
    { intervalMs: 100, retryOnThrow: true, timeoutMs: 30_000 },
  );
  const attempts = world.capture.emails
    .filter((email) => email.idempotencyKey === `verify-email/${user.jobId}`)
    .map((email) => email.status);
  return {
    username: user.username,
    jobId: user.jobId,
    state: final.state,
    attempts,
    delivered: world.capture.delivered().some((e) => e.body.to?.[0] === user.email),
    deadLettered: final.state === "failed",
  };
}

/** Every line logged so far, as text. */
const logText = () => world.logs.lines.map((line) => JSON.stringify(line));

async function secretCodes(): Promise<string[]> {
  const rows = await world.sql<{ secret_code: string }[]>`select secret_code from verify_emails`;
  return rows.map((row) => row.secret_code);
}

describe("API10: the mail provider's answers", () => {
  test("200 with malformed JSON: retried, then sent once", async () => {
    world.capture.respondRaw(200, '{"id": "unterminated', {
      headers: { "Content-Type": "application/json" },
    });
    const outcome = await runJob();
    expect(outcome.state).toBe("completed");
    expect(outcome.attempts).toEqual([200, 200]);
    expect(outcome.delivered).toBe(true);
  });

  test("200 with JSON that is no resend answer (no id, an array, null): retried, not taken as sent", async () => {
    for (const body of ["{}", '{"id": 42}', "[]", "null", '"ok"']) {
      world.capture.respondRaw(200, body, { headers: { "Content-Type": "application/json" } });
      const outcome = await runJob();
      expect([outcome.state, outcome.delivered]).toEqual(["completed", true]);
      expect(outcome.attempts).toEqual([200, 200]);
    }
  }, 40_000);

  test("500 with an HTML body: retried, then sent", async () => {
    world.capture.respondRaw(500, "<html><body>502 Bad Gateway</body></html>", {
      headers: { "Content-Type": "text/html" },
    });
    const outcome = await runJob();
    expect([outcome.state, outcome.delivered]).toEqual(["completed", true]);
    expect(outcome.attempts).toEqual([500, 200]);
  });

  test("a huge error body that echoes the API key: retried; the log stays bounded and keyless", async () => {
    const huge = JSON.stringify({
      statusCode: 503,
      name: "service_unavailable",
      message: `upstream said: Authorization: Bearer ${TEST_API_KEY} ${"x".repeat(2_000_000)}`,
    });
    world.capture.respondRaw(503, huge, { headers: { "Content-Type": "application/json" } });
    const outcome = await runJob();
    expect([outcome.state, outcome.delivered]).toEqual(["completed", true]);
    for (const line of logText()) {
      expect(line.length).toBeLessThan(MAX_LOG_LINE);
      expect(line).not.toContain(TEST_API_KEY);
    }
  });

  test("a redirect to another host: the API key is not sent there, the email is not lost", async () => {
    for (const status of [307, 302]) {
      world.capture.respondRaw(status, "", {
        headers: { Location: `${elsewhere.baseUrl}/emails` },
      });
      const outcome = await runJob();
      expect(outcome.state === "completed" || outcome.deadLettered).toBe(true);
      for (const request of elsewhere.emails) {
        expect(request.authorization ?? "").not.toContain(TEST_API_KEY);
        expect(JSON.stringify(request.headers)).not.toContain(TEST_API_KEY);
      }
      // Either the provider itself delivered it (after a retry) or it was dead-lettered loudly.
      if (!outcome.deadLettered) expect(outcome.delivered).toBe(true);
    }
  });

  test("a slow provider within the timeout (1 s per answer): the job waits and sends once", async () => {
    world.capture.delayResponses(1_000);
    try {
      const outcome = await runJob();
      expect([outcome.state, outcome.delivered]).toEqual(["completed", true]);
      expect(outcome.attempts).toEqual([200]);
    } finally {
      world.capture.reset();
    }
  }, 30_000);

  test("a provider slower than the timeout: the attempt is abandoned and retried; delivered once", async () => {
    world.capture.delayResponses(MAILER_TIMEOUT_MS + 1_500);
    const started = Date.now();
    const user = await world.signUp();
    const key = `verify-email/${user.jobId}`;
    // The first attempt gives up after the timeout; answer promptly from then on.
    await poll("the first attempt to reach the provider", () =>
      world.capture.emails.some((e) => e.idempotencyKey === key),
    );
    await Bun.sleep(MAILER_TIMEOUT_MS + 200);
    world.capture.reset();
    await poll(
      `job ${user.jobId} to complete`,
      async () => (await world.table.byId(user.jobId))?.state === "completed",
      { intervalMs: 100, retryOnThrow: true, timeoutMs: 30_000 },
    );
    const row = await world.table.byId(user.jobId);
    expect(row?.retry_count).toBeGreaterThanOrEqual(1);
    // The abandoned attempt and its retry share one idempotency key: one email.
    await Bun.sleep(1_500);
    const deliveries = world.capture.emails.filter((e) => e.idempotencyKey === key && e.delivered);
    expect(deliveries).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(25_000);
  }, 40_000);

  test("4xx refusals (401 bad key, 403, 422) are permanent: one attempt, dead-lettered, logged without the key", async () => {
    for (const status of [401, 403, 422]) {
      world.capture.respondWith(status, {
        statusCode: status,
        name: "invalid_api_key",
        message: `API key ${TEST_API_KEY} is invalid`,
      });
      const outcome = await runJob();
      expect(outcome.deadLettered).toBe(true);
      expect(outcome.attempts).toEqual([status]);
    }
    for (const line of logText()) expect(line).not.toContain(TEST_API_KEY);
  });

  test("5xx every time: retryLimit + 1 attempts, then the dead-letter queue", async () => {
    world.capture.failNext(SETTINGS.retryLimit + 1, 500);
    const outcome = await runJob();
    expect(outcome.deadLettered).toBe(true);
    expect(outcome.attempts).toEqual([500, 500, 500]);
  });

  test("after all of that the worker is alive and sends; no log line carries the key or a code", async () => {
    world.capture.reset();
    const outcome = await runJob();
    expect([outcome.state, outcome.delivered]).toEqual(["completed", true]);
    const codes = await secretCodes();
    expect(codes.length).toBeGreaterThan(5);
    for (const line of logText()) {
      expect(line).not.toContain(TEST_API_KEY);
      for (const code of codes) expect(line).not.toContain(code);
    }
  });
});
