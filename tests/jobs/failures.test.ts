import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { verifyEmails } from "../../src/core/db/schema.ts";
import { QUEUES } from "../../src/core/jobs/boss.ts";
import { resendError } from "../support/email-capture.ts";
import { type JobsWorld, startJobsWorld } from "../support/jobs.ts";
import type { LogLine } from "../support/logs.ts";
import { poll } from "../support/poll.ts";

/**
 * When sending fails: pg-boss on a scratch database with short retries (3 retries, 1 s first
 * delay, at most 2 s), its worker sending through the real resend SDK to the capture server,
 * which is told to fail. A transient failure (5xx) is retried with backoff and the retries
 * reuse the job's one link and idempotency key; a permanent one (4xx, a bad payload) is not
 * retried; both end in the dead-letter queue, logged at error level with the job's id and type.
 */

const SETTINGS = { retryLimit: 3, retryDelaySeconds: 1, retryDelayMaxSeconds: 2 };

let world: JobsWorld;

beforeAll(async () => {
  world = await startJobsWorld({ settings: SETTINGS });
});

afterAll(async () => {
  await world?.stop();
});

/** Every request the capture server got for this job (its idempotency key), in order. */
const attemptsOf = (jobId: string) =>
  world.capture.emails.filter((email) => email.idempotencyKey === `verify-email/${jobId}`);

const errorsAbout = (jobId: string): LogLine[] =>
  world.logs.forJob(jobId).filter((line) => line.level === "error");

async function deadLettered(jobId: string) {
  return poll(`job ${jobId} in the dead-letter queue`, () => world.table.deadLetterOf(jobId), {
    intervalMs: 100,
    retryOnThrow: true,
  });
}

describe("provider 5xx: retried with backoff, then sent", () => {
  test("two 500s, then success: one email delivered, every attempt with the same key and link", async () => {
    world.capture.failNext(2, 500);
    const user = await world.signUp();

    const delivered = await world.capture.waitFor(
      (email) => email.body.to?.[0] === user.email && email.delivered,
    );
    await poll(
      "the job to complete",
      async () => (await world.table.byId(user.jobId))?.state === "completed",
      { intervalMs: 100, retryOnThrow: true },
    );

    const attempts = attemptsOf(user.jobId);
    expect(attempts.map((a) => a.status)).toEqual([500, 500, 200]);
    expect(attempts.filter((a) => a.delivered)).toEqual([delivered]);
    // One job = one link: the same body (link included) and key on every attempt.
    for (const attempt of attempts) {
      expect(attempt.idempotencyKey).toBe(`verify-email/${user.jobId}`);
      expect(attempt.body.text).toBe(delivered.body.text);
      expect(attempt.body.html).toBe(delivered.body.html);
    }
    const rows = await world.handle.db
      .select()
      .from(verifyEmails)
      .where(eq(verifyEmails.username, user.username));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.jobId).toBe(user.jobId);
    expect(delivered.body.text).toContain(`secret_code=${rows[0]?.secretCode}`);

    const job = await world.table.byId(user.jobId);
    expect(job?.retry_count).toBe(2);
    expect(await world.table.deadLetterOf(user.jobId)).toBeUndefined();

    // Each failed attempt logged a warning (it will be retried), the last one success.
    const lines = world.logs.forJob(user.jobId);
    expect(lines.filter((l) => l.msg === "job started").map((l) => l.attempt)).toEqual([1, 2, 3]);
    expect(lines.filter((l) => l.level === "warn")).toHaveLength(2);
    expect(lines.filter((l) => l.level === "error")).toEqual([]);
    expect(lines.at(-1)).toMatchObject({ level: "info", msg: "job succeeded" });
    for (const line of lines) expect(line.job_type).toBe(QUEUES.sendVerifyEmail);
  }, 30_000);

  test("an answer lost after delivery: the retry's same idempotency key delivers nothing twice", async () => {
    // resend accepted the email, but the SDK saw a 500: the job is retried with the same key
    // and the provider answers with the first message instead of sending a second one.
    world.capture.loseNextAnswers(1);
    const user = await world.signUp();
    await poll(
      "the job to complete",
      async () => (await world.table.byId(user.jobId))?.state === "completed",
      { intervalMs: 100, retryOnThrow: true },
    );
    const attempts = attemptsOf(user.jobId);
    expect(attempts.map((a) => [a.status, a.delivered])).toEqual([
      [500, true],
      [200, false],
    ]);
    expect(attempts[1]?.id).toBe(attempts[0]?.id ?? "");
    expect(attempts[1]?.body).toEqual(attempts[0]?.body ?? {});
    expect(world.capture.delivered().filter((e) => e.body.to?.[0] === user.email)).toHaveLength(1);
  }, 30_000);
});

describe("provider 4xx: no retry, dead letter", () => {
  test("422 validation_error: exactly one attempt, then the dead-letter queue and an error line", async () => {
    world.capture.respondWith(422, resendError(422, "Invalid `to` field."));
    const user = await world.signUp();

    const dead = await deadLettered(user.jobId);
    expect(dead.name).toBe(QUEUES.sendVerifyEmailDead);
    expect(dead.data).toEqual({ username: user.username });
    const job = await world.table.byId(user.jobId);
    expect(job).toMatchObject({ state: "failed", retry_count: 0 });

    // `failed` is terminal: no retry is scheduled after the one attempt.
    expect(attemptsOf(user.jobId).map((a) => a.status)).toEqual([422]);

    const errors = await poll(
      "the error lines",
      () => (errorsAbout(user.jobId).length >= 2 ? errorsAbout(user.jobId) : undefined),
      { intervalMs: 100, retryOnThrow: true },
    );
    for (const line of errors) expect(line.job_type).toBe(QUEUES.sendVerifyEmail);
    expect(errors.map((l) => l.msg).join("\n")).toMatch(/dead-letter/);
    expect(JSON.stringify(errors)).toContain("HTTP 422");
  }, 30_000);
});

describe("retries exhausted", () => {
  test("always 500: retryLimit + 1 attempts, then the dead-letter queue and an error line", async () => {
    world.capture.failNext(Number.POSITIVE_INFINITY, 500);
    try {
      const user = await world.signUp();
      const dead = await deadLettered(user.jobId);
      expect(dead.data).toEqual({ username: user.username });
      const job = await world.table.byId(user.jobId);
      expect(job).toMatchObject({ state: "failed", retry_count: SETTINGS.retryLimit });

      const attempts = attemptsOf(user.jobId);
      expect(attempts.map((a) => a.status)).toEqual(
        Array.from({ length: SETTINGS.retryLimit + 1 }, () => 500),
      );
      // Still one link for the job.
      expect(new Set(attempts.map((a) => a.body.text)).size).toBe(1);

      // The last attempt and the dead-letter watcher both say so at error level, naming the job.
      const errors = await poll(
        "the error lines naming the job",
        () => (errorsAbout(user.jobId).length >= 2 ? errorsAbout(user.jobId) : undefined),
        { intervalMs: 100, retryOnThrow: true },
      );
      for (const line of errors) expect(line.job_type).toBe(QUEUES.sendVerifyEmail);
      expect(errors.map((l) => l.msg)).toEqual([
        "job failed and has no retries left: to the dead-letter queue",
        "dead-lettered job: the email was never sent",
      ]);
      expect(errors[1]).toMatchObject({
        dead_letter_job_id: dead.id,
        attempts: SETTINGS.retryLimit + 1,
      });
      // The attempts before the last: warnings, each saying it will be retried.
      const warnings = world.logs.forJob(user.jobId).filter((l) => l.level === "warn");
      expect(warnings.map((l) => l.retries_left)).toEqual([3, 2, 1]);
    } finally {
      world.capture.reset();
    }
  }, 30_000);
});

describe("invalid payloads: no retry, dead letter, logged", () => {
  for (const data of [{ nope: 1 }, { username: "BAD NAME" }, { username: "no_such_user_x" }]) {
    test(`boss.send(${JSON.stringify(data)})`, async () => {
      const before = world.capture.emails.length;
      const jobId = await world.jobs.boss.send(QUEUES.sendVerifyEmail, data);
      if (!jobId) throw new Error("send returned no id");
      const dead = await deadLettered(jobId);
      expect(dead.data).toEqual(data);
      expect(await world.table.byId(jobId)).toMatchObject({ state: "failed", retry_count: 0 });

      const errors = await poll(
        "the error lines",
        () => (errorsAbout(jobId).length >= 2 ? errorsAbout(jobId) : undefined),
        { intervalMs: 100, retryOnThrow: true },
      );
      for (const line of errors) expect(line.job_type).toBe(QUEUES.sendVerifyEmail);
      expect(world.logs.forJob(jobId).filter((l) => l.msg === "job started")).toHaveLength(1);
      expect(world.capture.emails.length).toBe(before);
    }, 30_000);
  }
});
