import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { runMigrations } from "../../src/bun/migrate.ts";
import { openDatabase } from "../../src/core/db/client.ts";
import { isUnavailableError } from "../../src/core/db/errors.ts";
import { createApp } from "../../src/core/http/app.ts";
import { noJobs } from "../../src/core/services/jobs.ts";
import { databaseOutageLog } from "../../src/core/wiring/services.ts";
import { httpDepsFor } from "../support/app.ts";
import { testDatabase } from "../support/database.ts";
import { databaseRelay } from "../support/database-relay.ts";
import { captureLogs } from "../support/logs.ts";
import { poll } from "../support/poll.ts";
import {
  type HttpCustomer,
  type HttpReply,
  httpCall,
  httpCustomer,
  httpDeposit,
  ledgerViolations,
} from "../support/resilience.ts";

/**
 * The database going away under a running app (in process, on a real socket, with a pool of
 * its own so its server connections can be told apart in pg_stat_activity):
 * - connections cut mid-load with pg_terminate_backend: only 503 `unavailable` (never 500),
 *   no more of them than connections cut, no half-written transfer, and the pool reconnects
 *   by itself within seconds;
 * - a full outage (the database's port closed, or the database refusing connections): every
 *   request needing it is 503 with Retry-After, /readyz is 503, and service resumes without a
 *   restart once the database is back.
 * First, the driver-level behaviour all of this rests on (postgres.js, patched: see
 * patches/postgres@3.4.9.patch).
 */

let admin: postgres.Sql;

beforeAll(async () => {
  admin = postgres((await testDatabase()).url, { max: 1, onnotice: () => {} });
});

afterAll(async () => {
  await admin.end();
});

/** Terminates the server processes of `applicationName`; returns how many. */
async function terminateBackends(applicationName: string): Promise<number> {
  // Materialized first: the filter must run before any pg_terminate_backend call.
  const rows = await admin<{ ok: boolean }[]>`
    with victims as materialized (
      select pid from pg_stat_activity
      where application_name = ${applicationName} and pid <> pg_backend_pid()
    )
    select pg_terminate_backend(pid) as ok from victims`;
  return rows.filter((row) => row.ok).length;
}

/** Lets pending immediates and timers run: a driver crash would surface here as a test error. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  await Bun.sleep(20);
}

/**
 * One scratch database for the tests that need their own (each DROP DATABASE at teardown
 * forces a checkpoint, so fewer is faster).
 */
let scratch: Promise<string> | undefined;
const scratchDatabase = () => {
  scratch ??= testDatabase().then((database) => database.scratchDatabase());
  return scratch;
};

const uniqueApplication = (prefix: string) => `${prefix}-${crypto.randomUUID().slice(0, 8)}`;

describe("postgres.js when the server ends a connection", () => {
  test("a transaction whose connection is terminated fails as unavailable; no crash, the pool carries on", async () => {
    const applicationName = uniqueApplication("outage-tx");
    const handle = openDatabase({ url: (await testDatabase()).url, poolMax: 1, applicationName });
    try {
      const failure = await handle.db
        .transaction(async (tx) => {
          await tx.execute("select 1");
          expect(await terminateBackends(applicationName)).toBe(1);
          await tx.execute("select 2");
        })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect(isUnavailableError(failure)).toBe(true);
      // Unpatched, the transaction's ROLLBACK was queued for the dead socket and threw from a
      // timer ("null is not an object (evaluating 'socket.write')"), killing the process.
      await settle();
      const [row] = await handle.sql<{ one: number }[]>`select 1 as one`;
      expect(row?.one).toBe(1);
    } finally {
      await handle.close({ timeoutSeconds: 0 });
    }
  });

  test("the first query on the reconnected connection does not inherit the terminated one's error", async () => {
    const applicationName = uniqueApplication("outage-fatal");
    const handle = openDatabase({ url: (await testDatabase()).url, poolMax: 1, applicationName });
    try {
      const running = handle.sql`select pg_sleep(30)`.then(
        () => undefined,
        (error: unknown) => error,
      );
      await poll("the query runs", async () => {
        // Its own statement, not the driver's set-up queries on the fresh connection.
        const [row] = await admin<{ n: number }[]>`
          select count(*)::int as n from pg_stat_activity
          where application_name = ${applicationName} and state = 'active'
            and query like 'select pg_sleep%'`;
        return (row?.n ?? 0) > 0;
      });
      expect(await terminateBackends(applicationName)).toBe(1);
      expect(isUnavailableError(await running)).toBe(true);
      // Unpatched, the server's FATAL 57P01 stayed on the connection and failed this query.
      const [row] = await handle.sql<{ one: number }[]>`select 1 as one`;
      expect(row?.one).toBe(1);
    } finally {
      await handle.close({ timeoutSeconds: 0 });
    }
  });

  test("a connection cut while still being set up does not fail the query waiting for it, nor crash", async () => {
    // postgres.js reads the array types right after connecting. A scratch database (its own
    // catalog) whose pg_type is locked holds a new connection in that step.
    const url = await scratchDatabase();
    const locker = postgres(url, { max: 1, onnotice: () => {} });
    const lock = await locker.reserve();
    await lock`begin`;
    await lock`lock table pg_catalog.pg_type in access exclusive mode`;
    const applicationName = uniqueApplication("outage-setup");
    const handle = openDatabase({ url, poolMax: 1, applicationName });
    try {
      const waiting = handle.sql<{ one: number }[]>`select 1 as one`.then(
        (rows) => rows[0]?.one,
        (error: unknown) => error,
      );
      await poll("the new connection waits on the lock", async () => {
        const [row] = await admin<{ n: number }[]>`
          select count(*)::int as n from pg_stat_activity
          where application_name = ${applicationName} and wait_event_type = 'Lock'`;
        return (row?.n ?? 0) > 0;
      });
      expect(await terminateBackends(applicationName)).toBe(1);
      await lock`rollback`;
      // Unpatched: 57P01 "terminating connection due to administrator command" here, and an
      // unhandled rejection from the driver's type fetch.
      expect(await waiting).toBe(1);
      await settle();
    } finally {
      lock.release();
      await locker.end({ timeout: 0 });
      await handle.close({ timeoutSeconds: 0 });
    }
  });

  test("a reserved connection whose server process died rejects its queries; releasing it leaves the pool sound", async () => {
    const applicationName = uniqueApplication("outage-reserved");
    const handle = openDatabase({ url: (await testDatabase()).url, poolMax: 1, applicationName });
    try {
      const reserved = await handle.sql.reserve();
      await reserved`select 1`;
      expect(await terminateBackends(applicationName)).toBe(1);
      for (let i = 0; i < 2; i++) {
        const error = await reserved`select 1`.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isUnavailableError(error)).toBe(true);
      }
      reserved.release();
      await settle();
      const [row] = await handle.sql<{ one: number }[]>`select 1 as one`;
      expect(row?.one).toBe(1);
    } finally {
      await handle.close({ timeoutSeconds: 0 });
    }
  });
});

/**
 * The app on `url` with its own pool, a logger that keeps its lines (info and above), and its
 * own database outage log probing that pool, as the server wires them.
 */
async function appOn(url: string, applicationName: string, options: { jobs?: boolean } = {}) {
  const { deps } = await testDatabase();
  const handle = openDatabase({ url, poolMax: 10, applicationName });
  const { logger, lines: logs } = captureLogs({ level: "info" });
  const app = createApp(
    httpDepsFor(
      {
        ...deps,
        db: handle.db,
        logger,
        databaseOutage: databaseOutageLog(logger, () => handle.sql`select 1`),
        ...(options.jobs === false ? { jobs: noJobs } : {}),
      },
      { logger },
    ),
  );
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
  return {
    logs,
    baseUrl: `http://127.0.0.1:${server.port}`,
    /** What was logged as an unhandled error (a 500). */
    unhandled: () => logs.filter((line) => line.msg === "unhandled error"),
    /** The outage log's lines: [level, "down" | "back"] in order. */
    outages: () =>
      logs.flatMap((line): [string, string][] =>
        line.msg.startsWith("the database is unavailable")
          ? [[line.level, "down"]]
          : line.msg.startsWith("the database is available again")
            ? [[line.level, "back"]]
            : [],
      ),
    async stop() {
      await server.stop(true);
      await handle.close({ timeoutSeconds: 0 });
    },
  };
}

function pick<T>(items: T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}

interface TransferPlan {
  from: HttpCustomer;
  to: HttpCustomer;
  amount: number;
  key: string;
}

function planTransfer(customers: HttpCustomer[]): TransferPlan {
  const from = pick(customers);
  let to = pick(customers);
  while (to === from) to = pick(customers);
  return { from, to, amount: 1 + Math.floor(Math.random() * 100), key: crypto.randomUUID() };
}

function sendTransfer(baseUrl: string, plan: TransferPlan): Promise<HttpReply> {
  return httpCall(baseUrl, "POST", "/transfers", {
    token: plan.from.token,
    headers: { "Idempotency-Key": plan.key },
    body: {
      from_account_id: plan.from.accountId,
      to_account_id: plan.to.accountId,
      amount: plan.amount,
      currency: "USD",
    },
  });
}

/** Why `reply` is not a proper 503 (problem+json `unavailable` with Retry-After); or undefined. */
function notUnavailable(reply: HttpReply): string | undefined {
  const body = reply.body as { code?: string; status?: number };
  if (reply.status !== 503) return `status ${reply.status} ${JSON.stringify(reply.body)}`;
  if (reply.headers.get("Content-Type") !== "application/problem+json") return "not problem+json";
  if (body.code !== "unavailable" || body.status !== 503) return `code ${body.code}`;
  if (!/^\d+$/.test(reply.headers.get("Retry-After") ?? "")) return "no Retry-After";
  return undefined;
}

/** Transfers between these customers (not their funding deposits) stored in the database. */
async function transfersBetween(sql: postgres.Sql, customers: HttpCustomer[]): Promise<number> {
  const ids = customers.map((c) => c.accountId);
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from transfers
    where from_account_id in ${sql(ids)} and to_account_id in ${sql(ids)}`;
  return row?.n ?? -1;
}

/** A banker and `n` funded customers, made over HTTP on the app at `baseUrl`. */
async function fundedCustomers(baseUrl: string, sql: postgres.Sql, n: number, amount: number) {
  const banker = await httpCustomer(baseUrl, sql, "banker");
  const customers: HttpCustomer[] = [];
  for (let i = 0; i < n; i++) {
    const customer = await httpCustomer(baseUrl, sql);
    await httpDeposit(baseUrl, banker, customer.accountId, amount);
    customers.push(customer);
  }
  return customers;
}

describe("database connections cut mid-load (pg_terminate_backend)", () => {
  test("503 unavailable at most once per connection cut, no 500, no partial transfer, back within seconds", async () => {
    const { url } = await testDatabase();
    const applicationName = uniqueApplication("outage-test");
    const app = await appOn(url, applicationName);
    try {
      const customers = await fundedCustomers(app.baseUrl, admin, 6, 1_000_000);
      const statuses = new Map<number, number>();
      const problems: string[] = [];
      const toRetry: TransferPlan[] = [];
      const accepted = new Set<string>();
      let okSinceCut = 0;
      let unavailable = 0;
      let running = true;

      // Steady load: clients transferring (70%) or reading an account (30%). Fewer clients than
      // pool connections, so postgres.js never pipelines two requests' queries onto one
      // connection: each connection cut can fail at most the one request it was serving.
      const client = async () => {
        while (running) {
          const isTransfer = Math.random() < 0.7;
          const plan = planTransfer(customers);
          let reply: HttpReply;
          try {
            reply = isTransfer
              ? await sendTransfer(app.baseUrl, plan)
              : await httpCall(app.baseUrl, "GET", `/accounts/${plan.from.accountId}`, {
                  token: plan.from.token,
                });
          } catch (error) {
            problems.push(`network error: ${error}`);
            continue;
          }
          statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
          if (reply.status === 201 || reply.status === 200) {
            okSinceCut++;
            if (isTransfer) accepted.add(plan.key);
          } else if (reply.status === 503) {
            unavailable++;
            const wrong = notUnavailable(reply);
            if (wrong) problems.push(`bad 503: ${wrong}`);
            if (isTransfer) toRetry.push(plan);
          } else {
            problems.push(`${reply.status} ${JSON.stringify(reply.body)}`);
          }
        }
      };
      const clients = Array.from({ length: 8 }, client);

      const CUTS = 5;
      let cut = 0;
      for (let round = 0; round <= CUTS; round++) {
        // Serving (again), so the pool's connections are open and busy...
        okSinceCut = 0;
        await poll(`2xx again after ${round} cuts`, () => okSinceCut >= 30, {
          timeoutMs: 15_000,
        });
        // ...then cut every one of them.
        if (round < CUTS) cut += await terminateBackends(applicationName);
      }
      running = false;
      await Promise.all(clients);

      console.info(
        `[outage] ${CUTS} rounds, ${cut} server connections terminated; replies ${JSON.stringify(Object.fromEntries(statuses))}; ${unavailable} were 503`,
      );
      expect(app.unhandled()).toEqual([]);
      expect(problems).toEqual([]);
      expect(statuses.get(500) ?? 0).toBe(0);
      // Logs: at most one warning per cut (an outage of well under a second), never one per
      // 503; the 503s' request lines at WARN; no ERROR, no stack.
      const downs = app.outages().filter(([, what]) => what === "down");
      expect(downs.length).toBeGreaterThanOrEqual(1);
      expect(downs.length).toBeLessThanOrEqual(CUTS);
      expect(
        app.outages().every(([level, what]) => level === (what === "down" ? "warn" : "info")),
      ).toBe(true);
      const requests503 = app.logs.filter((l) => l.msg === "request" && l.status === 503);
      expect(requests503.length).toBe(unavailable);
      expect(requests503.every((l) => l.level === "warn")).toBe(true);
      expect(app.logs.filter((l) => l.level === "error")).toEqual([]);
      expect(JSON.stringify(app.logs)).not.toContain('"stack"');
      expect(cut).toBeGreaterThanOrEqual(CUTS);
      // The cuts hit requests in flight, and each failed only the request it was serving.
      expect(unavailable).toBeGreaterThan(0);
      expect(unavailable).toBeLessThanOrEqual(cut);

      // Clients retry their 503s with the same Idempotency-Key: each transfer lands once,
      // whether or not its first attempt had committed before the cut.
      for (const plan of toRetry) {
        const reply = await sendTransfer(app.baseUrl, plan);
        expect(reply.status).toBe(201);
        accepted.add(plan.key);
      }
      expect(await transfersBetween(admin, customers)).toBe(accepted.size);
      expect(await ledgerViolations(admin)).toEqual([]);
    } finally {
      await app.stop();
    }
  }, 60_000);
});

/** Checks the outage and the recovery of one app, with two of its customers. */
function outageProbe(app: { baseUrl: string }, alice: HttpCustomer, bob: HttpCustomer) {
  const plan = () => ({ ...planTransfer([alice, bob]), from: alice, to: bob });
  let accepted = 0;
  return {
    /** Transfers that succeeded while probing recovery. */
    accepted: () => accepted,
    async expectOutage(phase: string) {
      const wrong: string[] = [];
      for (let i = 0; i < 3; i++) {
        const replies: [string, HttpReply][] = [
          ["transfer", await sendTransfer(app.baseUrl, plan())],
          [
            "account",
            await httpCall(app.baseUrl, "GET", `/accounts/${alice.accountId}`, {
              token: alice.token,
            }),
          ],
          [
            "transfer list",
            await httpCall(
              app.baseUrl,
              "GET",
              `/transfers?account_id=${alice.accountId}&page_id=1&page_size=5`,
              { token: alice.token },
            ),
          ],
          [
            "login",
            await httpCall(app.baseUrl, "POST", "/users/login", {
              body: { username: alice.username, password: alice.password },
            }),
          ],
        ];
        for (const [what, reply] of replies) {
          const problem = notUnavailable(reply);
          if (problem) wrong.push(`${what}: ${problem}`);
        }
      }
      expect({ phase, wrong }).toEqual({ phase, wrong: [] });
      const ready = await httpCall(app.baseUrl, "GET", "/readyz");
      expect({ phase, status: ready.status }).toEqual({ phase, status: 503 });
      expect((ready.body as { checks: Record<string, string> }).checks.database).toBe("failing");
      // Liveness needs no database.
      expect((await httpCall(app.baseUrl, "GET", "/healthz")).status).toBe(200);
    },
    async expectRecovery(phase: string) {
      await poll(
        `${phase}: a transfer succeeds again`,
        async () => {
          const reply = await sendTransfer(app.baseUrl, plan());
          if (reply.status === 201) {
            accepted++;
            return true;
          }
          const problem = notUnavailable(reply);
          if (problem) throw new Error(`${phase}: ${problem}`);
          return false;
        },
        { timeoutMs: 15_000, intervalMs: 100 },
      );
      expect((await httpCall(app.baseUrl, "GET", "/readyz")).status).toBe(200);
    },
  };
}

describe("full database outage", () => {
  test("the database's port closed: every request needing it is 503 with Retry-After, /readyz 503; back without a restart", async () => {
    const { url } = await testDatabase();
    const relay = await databaseRelay(url);
    const app = await appOn(relay.url, uniqueApplication("outage-port"));
    // Customers made through an app on the database itself, while the relay is still closed.
    const setup = await appOn(url, uniqueApplication("outage-setup"));
    const customers = await fundedCustomers(setup.baseUrl, admin, 2, 10_000).finally(() =>
      setup.stop(),
    );
    const [alice, bob] = customers as [HttpCustomer, HttpCustomer];
    const probe = outageProbe(app, alice, bob);
    try {
      // Down from the start: the pool never had a connection.
      await probe.expectOutage("never connected");
      await relay.open();
      await probe.expectRecovery("first connection");
      // Up, then gone: established connections dropped and the port closed.
      await relay.close();
      await probe.expectOutage("connections lost");
      await relay.open();
      await probe.expectRecovery("reconnection");

      // Logs: one warning per outage and one line when it is back, however many 503s; the
      // 503s' request lines at WARN; no ERROR, no stack (an expected, handled condition).
      await poll("the second recovery logged", () => app.outages().length === 4);
      expect(app.outages()).toEqual([
        ["warn", "down"],
        ["info", "back"],
        ["warn", "down"],
        ["info", "back"],
      ]);
      const requests503 = app.logs.filter((l) => l.msg === "request" && l.status === 503);
      expect(requests503.length).toBeGreaterThan(4);
      expect(requests503.every((l) => l.level === "warn")).toBe(true);
      expect(app.logs.filter((l) => l.level === "error")).toEqual([]);
      expect(JSON.stringify(app.logs)).not.toContain('"stack"');

      expect(app.unhandled()).toEqual([]);
      expect(await transfersBetween(admin, customers)).toBe(probe.accepted());
      expect(await ledgerViolations(admin)).toEqual([]);
    } finally {
      await app.stop();
      await relay.close();
    }
  }, 60_000);

  test("the database refusing connections (ALLOW_CONNECTIONS false): 503 with Retry-After, /readyz 503; back once allowed again", async () => {
    // A scratch database of this run: the only one we may lock everyone out of.
    const url = await scratchDatabase();
    const name = new URL(url).pathname.slice(1);
    const migrator = openDatabase({ url, poolMax: 2, applicationName: "outage-migrate" });
    await runMigrations(migrator);
    await migrator.close();

    const app = await appOn(url, uniqueApplication("outage-refused"), { jobs: false });
    const scratch = postgres(url, { max: 1, onnotice: () => {} });
    let allowed = true;
    const allowConnections = async (allow: boolean) => {
      await admin.unsafe(`alter database "${name}" allow_connections ${allow}`);
      allowed = allow;
    };
    try {
      const customers = await fundedCustomers(app.baseUrl, scratch, 2, 10_000);
      const [alice, bob] = customers as [HttpCustomer, HttpCustomer];
      const probe = outageProbe(app, alice, bob);
      await probe.expectRecovery("before");

      await allowConnections(false);
      await admin`
        with victims as materialized (
          select pid from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()
        )
        select pg_terminate_backend(pid) from victims`;
      // Refused at connection time with FATAL 55000 ("not currently accepting connections").
      await probe.expectOutage("connections refused");
      await allowConnections(true);
      await probe.expectRecovery("allowed again");

      expect(app.unhandled()).toEqual([]);
      expect(await transfersBetween(scratch, customers)).toBe(probe.accepted());
      expect(await ledgerViolations(scratch)).toEqual([]);
    } finally {
      if (!allowed) await allowConnections(true);
      await scratch.end({ timeout: 0 });
      await app.stop();
    }
  }, 60_000);
});
