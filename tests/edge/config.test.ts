import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { type LocalWorker, startLocalWorker } from "../../tools/edge/workerd.ts";
import { expectProblem } from "../support/app.ts";
import { testDatabase } from "../support/database.ts";
import { edgeBundle, logLines, startEdge, stopEdges } from "../support/edge.ts";
import { poll } from "../support/poll.ts";
import { freePort } from "../support/process.ts";
import { type HttpReply, httpCall, httpExpect } from "../support/resilience.ts";

/**
 * The Worker fails closed, in workerd itself: with bad variables, with no database, or in
 * production without what production requires, it answers EVERY request 503 problem+json
 * `unavailable` (with Retry-After and a request id, and without saying why) while its log names
 * every bad variable. On a database whose migrations were never applied (a deploy step, never
 * run by the Worker) it is alive (/healthz 200) but not ready (/readyz 503, migrations
 * `pending`), and it leaves the database as it found it.
 */

/** What every fail-closed Worker is asked: each must answer 503. */
const REQUESTS: { method: string; path: string; body?: unknown }[] = [
  { method: "GET", path: "/healthz" },
  { method: "GET", path: "/readyz" },
  { method: "POST", path: "/users/login", body: { username: "alice", password: "secret-pw" } },
  { method: "GET", path: "/no/such/path" },
];

interface LogRecord {
  level: string;
  msg: string;
  problems?: { variable: string; message: string }[];
}

/** The Worker's JSON log lines (a misconfigured Worker logs JSON whatever NODE_ENV says). */
function jsonLog(worker: LocalWorker): LogRecord[] {
  return logLines(worker).flatMap((line) => {
    try {
      return [JSON.parse(line) as LogRecord];
    } catch {
      return [];
    }
  });
}

/** The variables the "invalid configuration" line names, once the Worker has logged it. */
async function namedVariables(worker: LocalWorker): Promise<string[]> {
  const find = () =>
    jsonLog(worker).find((r) => r.level === "error" && r.msg.startsWith("invalid configuration"));
  await poll("the Worker to log its invalid configuration", () => find() !== undefined, {
    timeoutMs: 5_000,
  });
  return (find()?.problems ?? []).map((p) => p.variable).sort();
}

/** 503 `unavailable` problem+json with Retry-After and an X-Request-Id (the body's request_id). */
function expectFailedClosed(reply: HttpReply, what: string): void {
  try {
    expectProblem(reply, 503, "unavailable");
  } catch (error) {
    throw new Error(`${what}: ${(error as Error).message}`);
  }
  expect({ what, retryAfter: reply.headers.get("Retry-After") }).toEqual({
    what,
    retryAfter: expect.stringMatching(/^[0-9]+$/),
  });
  const requestId = reply.headers.get("X-Request-Id");
  expect({ what, requestId }).toEqual({ what, requestId: expect.stringMatching(/.+/) });
  expect((reply.body as { request_id?: string }).request_id).toBe(requestId ?? "");
}

/** Sends every request of REQUESTS; each must fail closed, naming no variable. */
async function expectEveryRequestFailsClosed(worker: LocalWorker, secrets: string[] = []) {
  for (const request of REQUESTS) {
    const what = `${request.method} ${request.path}`;
    const reply = await httpCall(worker.url, request.method, request.path, {
      body: request.body,
    });
    expectFailedClosed(reply, what);
    // Why is for the operator's log, not for whoever is calling.
    for (const secret of secrets) expect(JSON.stringify(reply.body)).not.toContain(secret);
  }
}

afterAll(stopEdges);

describe("bad variables", () => {
  const BAD = { TOKEN_TYPE: "nope", BCRYPT_COST: "99", LOG_LEVEL: "verbose" };
  let worker: LocalWorker;

  beforeAll(async () => {
    worker = await startEdge({ env: BAD });
  }, 60_000);

  test("every request answers 503 unavailable, with Retry-After and X-Request-Id", async () => {
    await expectEveryRequestFailsClosed(worker, Object.keys(BAD));
    // A request id the client sent comes back.
    const reply = await httpCall(worker.url, "GET", "/healthz", {
      headers: { "X-Request-Id": "edge-config-test-1" },
    });
    expectFailedClosed(reply, "GET /healthz with an X-Request-Id");
    expect(reply.headers.get("X-Request-Id")).toBe("edge-config-test-1");
  });

  test("its log names every bad variable", async () => {
    expect(await namedVariables(worker)).toEqual(Object.keys(BAD).sort());
  });

  test("its Cron Trigger sends nothing, and says so", async () => {
    await worker.scheduled();
    await poll(
      "the Cron Trigger's error line",
      () =>
        jsonLog(worker).some(
          (r) => r.level === "error" && r.msg.includes("the Cron Trigger sends nothing"),
        ),
      { timeoutMs: 5_000 },
    );
  });
});

describe("no database", () => {
  test("without DATABASE_URL (nor Hyperdrive) it fails closed, naming DATABASE_URL", async () => {
    const worker = await startEdge({ databaseUrl: null });
    await expectEveryRequestFailsClosed(worker);
    expect(await namedVariables(worker)).toEqual(["DATABASE_URL"]);
    await worker.stop();
  }, 30_000);
});

describe("an unmigrated database", () => {
  let worker: LocalWorker;
  let url: string;

  beforeAll(async () => {
    url = await (await testDatabase()).scratchDatabase();
    worker = await startEdge({ databaseUrl: url });
  }, 60_000);

  test("/healthz 200, /readyz 503 with migrations pending; the Worker migrates nothing", async () => {
    expect(await httpExpect(200, worker.url, "GET", "/healthz")).toEqual({ status: "ok" });
    const ready = await httpCall(worker.url, "GET", "/readyz");
    expectProblem(ready, 503, "unavailable");
    expect(ready.headers.get("Retry-After")).toMatch(/^[0-9]+$/);
    expect((ready.body as { checks?: unknown }).checks).toMatchObject({
      database: "ok",
      migrations: "pending",
    });

    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ migrations: string | null; users: string | null }[]>`
        select to_regclass('drizzle.__drizzle_migrations')::text as migrations,
               to_regclass('public.users')::text as users`;
      expect(row).toEqual({ migrations: null, users: null });
    } finally {
      await sql.end();
    }
  });
});

describe("production with nothing configured", () => {
  /** Every requirement of production that is unset here (nothing is). */
  const REQUIRED = [
    "APP_BASE_URL",
    "DATABASE_URL",
    "EMAIL_FROM",
    "RESEND_API_KEY",
    "TOKEN_SYMMETRIC_KEY",
    "UPSTASH_REDIS_REST_TOKEN",
    "UPSTASH_REDIS_REST_URL",
  ];
  let worker: LocalWorker | undefined;

  afterAll(async () => {
    await worker?.stop();
  });

  test("NODE_ENV=production alone: every request 503, the log names each missing requirement", async () => {
    // Not startEdge: its defaults (the test token key, a database) would hide requirements.
    worker = await startLocalWorker(await edgeBundle(), {
      bindings: { NODE_ENV: "production" },
      port: await freePort(),
      captureOutput: true,
    });
    await expectEveryRequestFailsClosed(worker, REQUIRED);
    expect(await namedVariables(worker)).toEqual(REQUIRED);
  }, 30_000);
});
