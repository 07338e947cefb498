import { describe, expect, test } from "bun:test";
import { createConnection } from "node:net";
import postgres from "postgres";
import { TEST_ENV, testDatabase } from "../support/database.ts";
import { poll } from "../support/poll.ts";
import { freePort, type ServerProcess, startServer, waitUntilReady } from "../support/process.ts";
import {
  type HttpCustomer,
  type HttpReply,
  httpCall,
  httpCustomer,
  httpDeposit,
  ledgerViolations,
} from "../support/resilience.ts";

/**
 * Graceful shutdown of the real entry point (`bun src/main.ts`, the job worker included) on
 * its own scratch database: a signal during a burst of transfers lets every request in
 * flight finish, leaves nothing half-written and exits 0; a request still running when
 * SHUTDOWN_TIMEOUT expires is cut and the process exits anyway.
 *
 * "In flight" is made certain rather than hoped for: a separate SQL connection holds a row
 * lock on one account, so the transfers touching it are provably inside the server (waiting
 * in Postgres, seen in pg_stat_activity) when the signal is sent.
 */

interface Bank {
  server: ServerProcess;
  baseUrl: string;
  /** A client of the scratch database, apart from the server's pool. */
  sql: postgres.Sql;
  stop(): Promise<void>;
}

/**
 * One scratch database for the file (each DROP DATABASE at teardown forces a checkpoint, so
 * fewer is faster); the tests only count their own accounts' rows.
 */
let scratch: Promise<string> | undefined;

async function startBank(env: Record<string, string>): Promise<Bank> {
  scratch ??= testDatabase().then((database) => database.scratchDatabase());
  const url = await scratch;
  const port = await freePort();
  const server = startServer({
    ...TEST_ENV,
    DATABASE_URL: url,
    PORT: String(port),
    RATE_LIMIT_ENABLED: "false",
    ...env,
  });
  await waitUntilReady(server);
  const sql = postgres(url, { max: 3, onnotice: () => {} });
  return {
    server,
    baseUrl: `http://127.0.0.1:${port}`,
    sql,
    async stop() {
      if (server.process.exitCode === null) server.process.kill("SIGKILL");
      await server.process.exited;
      await sql.end();
    },
  };
}

type Customer = HttpCustomer;

const newCustomer = (bank: Bank, role?: "banker") => httpCustomer(bank.baseUrl, bank.sql, role);

const deposit = (bank: Bank, banker: Customer, accountId: number, amount: number) =>
  httpDeposit(bank.baseUrl, banker, accountId, amount);

/** Holds a FOR UPDATE lock on an account row from its own connection until `release()`. */
async function lockAccount(sql: postgres.Sql, accountId: number) {
  const connection = await sql.reserve();
  await connection`begin`;
  await connection`select id from accounts where id = ${accountId} for update`;
  return {
    async release() {
      await connection`rollback`;
      connection.release();
    },
  };
}

/** Server connections of the app's pool (application_name "simplebank") waiting on a lock. */
async function appBackendsWaitingOnLocks(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and application_name = 'simplebank'
      and wait_event_type = 'Lock'`;
  return row?.n ?? 0;
}

async function appBackends(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and application_name like 'simplebank%'`;
  return row?.n ?? 0;
}

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** The exit code; kills the process and fails if it does not exit within `timeoutMs`. */
async function exitCode(server: ServerProcess, timeoutMs = 40_000): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    server.process.exited,
    new Promise<"stuck">((resolve) => {
      timer = setTimeout(() => resolve("stuck"), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (outcome === "stuck") {
    server.process.kill("SIGKILL");
    throw new Error(`the server did not exit after the signal:\n${server.output()}`);
  }
  return outcome;
}

/** Index in the output of the first line containing each message, in order; -1 if missing. */
function logPositions(output: string, ...messages: string[]): number[] {
  return messages.map((message) => output.indexOf(message));
}

const SHUTDOWN_STEPS = (signal: string) => [
  `received ${signal}, shutting down`,
  "HTTP server stopped",
  "job worker stopped, job queue closed",
  "database pool closed",
];

interface Planned {
  from: Customer;
  to: Customer;
  amount: number;
  idempotencyKey?: string;
  /** Touches the locked account: certainly in flight when the signal is sent. */
  hot: boolean;
}

type Outcome = { plan: Planned; reply: HttpReply } | { plan: Planned; error: unknown };

async function drainUnderBurst(signal: "SIGTERM" | "SIGINT", burst: number) {
  const HOT = 8;
  // A pool large enough that the transfers blocked on the lock leave room for the others.
  const bank = await startBank({ SHUTDOWN_TIMEOUT: "10s", DATABASE_POOL_MAX: "20" });
  try {
    const banker = await newCustomer(bank, "banker");
    const customers = await Promise.all(Array.from({ length: 9 }, () => newCustomer(bank)));
    for (const c of customers) await deposit(bank, banker, c.accountId, 1_000);
    // The hot account has the lowest id: transfers lock in ascending id order, so the blocked
    // ones wait on it holding no other lock, and the rest of the burst flows past them.
    customers.sort((a, b) => a.accountId - b.accountId);
    const [hot, ...others] = customers;
    if (!hot) throw new Error("unreachable");

    const plans: Planned[] = Array.from({ length: burst }, (_, i) => {
      const idempotencyKey = i % 3 === 0 ? crypto.randomUUID() : undefined;
      if (i < HOT) {
        const to = others[i % others.length] as Customer;
        return { from: hot, to, amount: 10, idempotencyKey, hot: true };
      }
      const from = others[Math.floor(Math.random() * others.length)] as Customer;
      let to = from;
      while (to === from) to = others[Math.floor(Math.random() * others.length)] as Customer;
      // One in five more than any balance can hold: 422 insufficient_funds.
      const amount = Math.random() < 0.2 ? 50_000 : 1 + Math.floor(Math.random() * 300);
      return { from, to, amount, idempotencyKey, hot: false };
    });

    const lock = await lockAccount(bank.sql, hot.accountId);
    let released = false;
    try {
      let settled = 0;
      const outcomes: Promise<Outcome>[] = plans.map((plan) =>
        httpCall(bank.baseUrl, "POST", "/transfers", {
          token: plan.from.token,
          body: {
            from_account_id: plan.from.accountId,
            to_account_id: plan.to.accountId,
            amount: plan.amount,
            currency: "USD",
          },
          headers: plan.idempotencyKey ? { "Idempotency-Key": plan.idempotencyKey } : {},
        })
          .then(
            (reply) => ({ plan, reply }),
            (error: unknown) => ({ plan, error }),
          )
          .finally(() => settled++),
      );
      // Signal mid-burst: some transfers answered already, the hot ones provably running.
      await poll("a quarter of the burst answered", () => settled >= burst / 4);
      await poll(`${HOT} transfers waiting on the locked account`, async () => {
        return (await appBackendsWaitingOnLocks(bank.sql)) >= HOT;
      });

      bank.server.process.kill(signal);
      await poll("the shutdown began", () => bank.server.output().includes(`received ${signal}`));
      await poll("the listener closed", async () => !(await acceptsConnections(bank.server.port)));
      // Draining: the blocked transfers are still running. Let them go.
      await lock.release();
      released = true;

      expect(await exitCode(bank.server)).toBe(0);
      const results = await Promise.all(outcomes);

      const unexpected: string[] = [];
      const accepted: { plan: Planned; transferId: number }[] = [];
      let insufficient = 0;
      let noResponse = 0;
      for (const outcome of results) {
        if (!("reply" in outcome)) {
          // Never answered: allowed only for a request that never reached the server (refused
          // once the listener closed); one cut off mid-request is a lost request.
          noResponse++;
          const refused = (outcome.error as { code?: string }).code === "ECONNREFUSED";
          if (outcome.plan.hot || !refused) unexpected.push(`request lost: ${outcome.error}`);
          continue;
        }
        const { status, body } = outcome.reply;
        if (status === 201) {
          const transfer = (body as { transfer: { id: number } }).transfer;
          accepted.push({ plan: outcome.plan, transferId: transfer.id });
        } else if (status === 422 && (body as { code?: string }).code === "insufficient_funds") {
          insufficient++;
        } else {
          unexpected.push(`${status} ${JSON.stringify(body)}`);
        }
      }
      const inFlight = /waiting for requests in flight \{"pending":(\d+)\}/.exec(
        bank.server.output(),
      )?.[1];
      console.info(
        `[shutdown ${signal}] ${burst} transfers, ${inFlight} in flight at the signal: ${accepted.length} accepted (201), ${insufficient} insufficient funds (422), ${noResponse} without a response`,
      );
      // The signal came while requests were running (at least those blocked on the lock).
      expect(Number(inFlight)).toBeGreaterThanOrEqual(HOT);
      expect(unexpected).toEqual([]);
      expect(accepted.length).toBeGreaterThan(0);
      // The requests provably in flight when the signal came all completed.
      expect(accepted.filter((a) => a.plan.hot).length).toBe(HOT);

      // Exactly the accepted transfers are in the database (besides the deposits): requests
      // refused at the door never ran, and none was answered without being committed.
      const ids = customers.map((c) => c.accountId);
      const rows = await bank.sql<{ id: number }[]>`
        select id::int as id from transfers where from_account_id in ${bank.sql(ids)}`;
      const stored = new Set(rows.map((r) => r.id));
      expect(accepted.filter((a) => !stored.has(a.transferId))).toEqual([]);
      expect(stored.size).toBe(accepted.length);
      const owners = customers.map((c) => c.username);
      const [keys] = await bank.sql<{ n: number }[]>`
        select count(*)::int as n from idempotency_keys where owner in ${bank.sql(owners)}`;
      expect(keys?.n).toBe(accepted.filter((a) => a.plan.idempotencyKey).length);
      expect(await ledgerViolations(bank.sql)).toEqual([]);

      // The log tells the steps, in order: signal, HTTP drained, worker stopped, pool closed.
      const positions = logPositions(bank.server.output(), ...SHUTDOWN_STEPS(signal));
      expect(positions.every((p) => p >= 0)).toBe(true);
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
      expect(bank.server.output()).toContain("waiting for requests in flight");
      expect(bank.server.output()).not.toContain("shutdown timeout");
      expect(await appBackends(bank.sql)).toBe(0);
    } finally {
      if (!released) await lock.release();
    }
  } finally {
    await bank.stop();
  }
}

describe("graceful shutdown of bun src/main.ts", () => {
  test("SIGTERM during a burst of 200 transfers: every request in flight completes, nothing half-written, exit 0", async () => {
    await drainUnderBurst("SIGTERM", 200);
  }, 60_000);

  test("SIGINT does the same", async () => {
    await drainUnderBurst("SIGINT", 60);
  }, 60_000);

  test("a request still running when SHUTDOWN_TIMEOUT expires is cut; the process exits 0 and no transfer is half-written", async () => {
    const bank = await startBank({ SHUTDOWN_TIMEOUT: "1s" });
    try {
      const banker = await newCustomer(bank, "banker");
      const alice = await newCustomer(bank);
      const bob = await newCustomer(bank);
      await deposit(bank, banker, alice.accountId, 500);

      const lock = await lockAccount(bank.sql, alice.accountId);
      let released = false;
      try {
        const pending = httpCall(bank.baseUrl, "POST", "/transfers", {
          token: alice.token,
          body: {
            from_account_id: alice.accountId,
            to_account_id: bob.accountId,
            amount: 100,
            currency: "USD",
          },
          headers: { "Idempotency-Key": crypto.randomUUID() },
        }).then(
          (reply) => reply,
          (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
        );
        await poll("the transfer waits on the locked account", async () => {
          return (await appBackendsWaitingOnLocks(bank.sql)) >= 1;
        });

        const signalled = performance.now();
        bank.server.process.kill("SIGTERM");
        expect(await exitCode(bank.server)).toBe(0);
        const exitedAfterMs = Math.round(performance.now() - signalled);
        console.info(`[shutdown timeout 1s] the process exited ${exitedAfterMs} ms after SIGTERM`);

        const output = bank.server.output();
        expect(output).toContain("shutdown timeout: cutting the requests still in flight");
        const positions = logPositions(output, ...SHUTDOWN_STEPS("SIGTERM"));
        expect(positions.every((p) => p >= 0)).toBe(true);

        // The cut request never got an answer (or, at most, a 503; never a 201).
        const outcome = await pending;
        if (!(outcome instanceof Error)) expect(outcome.status).toBe(503);
      } finally {
        if (!released) {
          await lock.release();
          released = true;
        }
      }

      // The cut transaction's server process dies once it gets the lock and finds its client
      // gone; nothing it did is committed.
      await poll("the cut transaction is gone", async () => (await appBackends(bank.sql)) === 0);
      const [moved] = await bank.sql<{ n: number }[]>`
        select count(*)::int as n from transfers
        where from_account_id = ${alice.accountId} or to_account_id = ${bob.accountId}`;
      expect(moved?.n).toBe(0);
      const balances = await bank.sql<{ id: number; balance: number }[]>`
        select id::int, balance::int from accounts
        where id in ${bank.sql([alice.accountId, bob.accountId])} order by id`;
      expect([...balances]).toEqual([
        { id: alice.accountId, balance: 500 },
        { id: bob.accountId, balance: 0 },
      ]);
      const [keys] = await bank.sql<{ n: number }[]>`
        select count(*)::int as n from idempotency_keys where owner = ${alice.username}`;
      expect(keys?.n).toBe(0);
      expect(await ledgerViolations(bank.sql)).toEqual([]);
    } finally {
      await bank.stop();
    }
  }, 60_000);
});
