import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { testDatabase } from "../support/database.ts";
import { type EmailCapture, startEmailCapture } from "../support/email-capture.ts";
import { uniqueName } from "../support/fixtures.ts";
import { jobTable, TEST_API_KEY } from "../support/jobs.ts";
import { poll } from "../support/poll.ts";
import {
  freePort,
  type ServerProcess,
  startProcess,
  startServer,
  stopServer,
  waitUntilReady,
} from "../support/process.ts";

/**
 * The worker as an operator runs it: `bun src/job-worker.ts` (`bun run worker`) as a process of
 * its own next to an API process started with WORKER_ENABLED=false, both on one scratch
 * database; and the worker inside `bun run start` (WORKER_ENABLED's default). Emails go
 * through the real resend SDK to the capture server (RESEND_BASE_URL).
 */

const TOKEN_KEY = "0123456789abcdef0123456789abcdef";
const EMAIL_FROM = "Worker Test <worker@example.com>";

let capture: EmailCapture;

beforeAll(() => {
  capture = startEmailCapture();
});

afterAll(async () => {
  await capture?.stop();
});

/** Starts `bun src/job-worker.ts` with exactly `env` (plus PATH and HOME). */
const startWorkerProcess = (env: Record<string, string>) => startProcess("src/job-worker.ts", env);

function mailEnv(): Record<string, string> {
  return {
    RESEND_API_KEY: TEST_API_KEY,
    RESEND_BASE_URL: capture.baseUrl,
    EMAIL_FROM,
    APP_BASE_URL: "https://bank.example.test",
  };
}

async function signUpOver(port: number) {
  const username = uniqueName("wp");
  const email = `${username}@example.com`;
  const res = await fetch(`http://127.0.0.1:${port}/users`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      username,
      password: `pw-${crypto.randomUUID()}`,
      full_name: "Worker Process",
      email,
    }),
  });
  expect(res.status).toBe(201);
  return { username, email };
}

describe("bun run worker (a process of its own)", () => {
  test("runs, sends the jobs the API process enqueues, and stops gracefully on SIGTERM", async () => {
    const url = await (await testDatabase()).scratchDatabase();
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const table = jobTable(sql);
    const worker = startWorkerProcess({
      DATABASE_URL: url,
      TOKEN_SYMMETRIC_KEY: TOKEN_KEY,
      WORKER_CONCURRENCY: "2",
      ...mailEnv(),
    });
    const port = await freePort();
    let api: ServerProcess | undefined;
    try {
      await poll(
        "the worker to start",
        () => worker.output().includes("job worker running") || worker.process.exitCode !== null,
        { timeoutMs: 30_000, intervalMs: 100, retryOnThrow: true },
      );
      expect(worker.process.exitCode).toBeNull();
      expect(worker.output()).toMatch(/job worker running.*"concurrency":2.*"mailer":"resend"/);

      api = startServer({
        DATABASE_URL: url,
        TOKEN_SYMMETRIC_KEY: TOKEN_KEY,
        PORT: String(port),
        WORKER_ENABLED: "false",
        RATE_LIMIT_ENABLED: "false",
        ...mailEnv(),
      });
      await waitUntilReady(api);
      expect(api.output()).not.toContain("job worker running");

      // A job the API enqueued, sent by the worker process.
      const first = await signUpOver(port);
      const sent = await capture.waitFor(
        (email) => email.body.to?.[0] === first.email && email.delivered,
        30_000,
      );
      const [job] = await table.forUser(first.username);
      if (!job) throw new Error("no job");
      expect(sent.idempotencyKey).toBe(`verify-email/${job.id}`);
      expect(sent.body.from).toBe(EMAIL_FROM);
      expect(sent.authorization).toBe(`Bearer ${TEST_API_KEY}`);
      await poll(
        "the worker to log the job",
        () => worker.output().includes(job.id) && /job succeeded/.test(worker.output()),
        { intervalMs: 100, retryOnThrow: true },
      );

      // SIGTERM while a send is in flight: the job finishes, then the process exits 0.
      capture.delayResponses(1_000);
      const second = await signUpOver(port);
      const inFlight = await poll(
        "the second send to reach the provider",
        () => capture.emails.find((email) => email.body.to?.[0] === second.email),
        { intervalMs: 100, retryOnThrow: true },
      );
      expect(await stopServer(worker, "SIGTERM")).toBe(0);
      expect(worker.output()).toContain("received SIGTERM");
      expect(inFlight).toMatchObject({ status: 200, delivered: true });
      const [secondJob] = await table.forUser(second.username);
      expect(secondJob).toMatchObject({ state: "completed", retry_count: 0 });
    } finally {
      capture.reset();
      if (worker.process.exitCode === null) await stopServer(worker);
      if (api) expect(await stopServer(api)).toBe(0);
      await sql.end();
    }
  }, 90_000);
});

describe("bun run start (the worker inside the server, WORKER_ENABLED's default)", () => {
  test("a sign-up's email is sent by the server process itself", async () => {
    const url = await (await testDatabase()).scratchDatabase();
    const port = await freePort();
    const server = startServer({
      DATABASE_URL: url,
      TOKEN_SYMMETRIC_KEY: TOKEN_KEY,
      PORT: String(port),
      RATE_LIMIT_ENABLED: "false",
      WORKER_CONCURRENCY: "3",
      ...mailEnv(),
    });
    try {
      await waitUntilReady(server);
      expect(server.output()).toMatch(/job worker running in this process.*"concurrency":3/);
      const user = await signUpOver(port);
      const sent = await capture.waitFor(
        (email) => email.body.to?.[0] === user.email && email.delivered,
        30_000,
      );
      expect(sent.body.text).toContain("https://bank.example.test/verify_email?email_id=");
    } finally {
      expect(await stopServer(server)).toBe(0);
    }
  }, 90_000);
});
