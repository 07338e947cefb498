import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { runMigrations } from "../../src/bun/migrate.ts";
import { type DatabaseHandle, openDatabase } from "../../src/core/db/client.ts";
import { deposit, transfer } from "../../src/core/services/transfers.ts";
import { checkLedger, checkSignups, rssReport } from "../../tools/soak/checks.ts";
import { Recorder, type Target } from "../../tools/soak/http.ts";
import type { DepositRecord, TransferRecord } from "../../tools/soak/load.ts";
import { TEST_CONFIG, type TestContext, testContext, testDatabase } from "../support/database.ts";
import { createUser, openAccount } from "../support/fixtures.ts";
import { freePort } from "../support/process.ts";

/**
 * The soak's verdicts (tools/soak), each shown to catch what it is for: the ledger check on a
 * scratch database of its own (it reads the whole database), the RSS rule, and the answer
 * rule (no 5xx but 503 with Retry-After; connection errors only from an instance that was down).
 */

let handle: DatabaseHandle;
let sql: postgres.Sql;
let deps: TestContext;

beforeAll(async () => {
  const url = await (await testDatabase()).scratchDatabase();
  handle = openDatabase({ url, poolMax: 4, applicationName: "bun-test-soak-checks" });
  await runMigrations(handle);
  sql = postgres(url, { max: 2, onnotice: () => {} });
  deps = testContext(TEST_CONFIG, handle.db);
});

afterAll(async () => {
  await sql?.end();
  await handle?.close();
});

const kinds = (recorder: Recorder) => [...recorder.violationKinds.keys()].sort();

describe("checkLedger", () => {
  test("what the clients were told matches the database: no violation; each lie is caught", async () => {
    const banker = await createUser(deps, "banker");
    const from = await openAccount(deps);
    const to = await openAccount(deps);
    const { result: cash } = await deposit(
      { ...deps, actor: banker },
      { accountId: from.account.id, amount: 100_001, currency: "USD" },
    );
    const pay = (key: string, amount: number) =>
      transfer(
        { ...deps, actor: from.owner },
        {
          fromAccountId: from.account.id,
          toAccountId: to.account.id,
          amount,
          currency: "USD",
          idempotencyKey: key,
        },
      );
    const paid = await pay("key-1", 500);
    const record = (key: string, amount: number, ids: number[]): TransferRecord => ({
      key,
      owner: from.owner.username,
      from: from.account.id,
      to: to.account.id,
      amount,
      answers: ids.map(() => "201"),
      ids,
      final: ids.length ? "paid" : "refused",
      replays: Math.max(0, ids.length - 1),
    });
    const deposits: DepositRecord[] = [
      {
        key: "deposit-1",

        accountId: from.account.id,
        amount: 100_001,
        answers: ["201"],
        transferId: cash.transfer.id,
      },
    ];

    const honest = new Recorder();
    const figures = await checkLedger(
      sql,
      honest,
      [record("key-1", 500, [paid.result.transfer.id, paid.result.transfer.id])],
      deposits,
    );
    expect(kinds(honest)).toEqual([]);
    expect(figures).toEqual({ transfers: 1, deposits: 1, depositedCents: 100_001 });

    // A transfer paid under a key whose client was refused, a 201 that is not there, and a
    // deposit paid although its banker was answered 503.
    const sneaky = await pay("key-2", 700);
    await deposit(
      { ...deps, actor: banker },
      { accountId: to.account.id, amount: 100_002, currency: "USD" },
    );
    const caught = new Recorder();
    await checkLedger(
      sql,
      caught,
      [
        record("key-1", 500, [paid.result.transfer.id]),
        record("key-2", 700, []),
        record("key-3", 900, [sneaky.result.transfer.id + 1000]),
      ],
      [
        ...deposits,
        { key: "deposit-2", accountId: to.account.id, amount: 100_002, answers: ["503", "503"] },
      ],
    );
    expect(kinds(caught)).toEqual([
      "a 201 transfer is missing",
      "a paid key is not stored",
      "a refused deposit left a trace",
      "a refused transfer left a key",
      "a transfer no client was paid for",
    ]);

    // The same deposit with its answer lost is no violation: it may have been paid.
    const lost = new Recorder();
    await checkLedger(
      sql,
      lost,
      [
        record("key-1", 500, [paid.result.transfer.id]),
        record("key-2", 700, [sneaky.result.transfer.id]),
      ],
      [
        ...deposits,
        { key: "deposit-3", accountId: to.account.id, amount: 100_002, answers: ["network"] },
      ],
    );
    expect(kinds(lost)).toEqual([]);

    const signups = new Recorder();
    await checkSignups(
      sql,
      signups,
      new Map([
        [banker.username, { username: banker.username, email: "", created: true, inDoubt: false }],
        [
          from.owner.username,
          { username: from.owner.username, email: "", created: false, inDoubt: false },
        ],
        ["never_stored", { username: "never_stored", email: "", created: true, inDoubt: false }],
      ]),
    );
    expect(kinds(signups)).toEqual([
      "a 201 user is missing",
      "a refused signup left a user",
      "a user no client signed up",
    ]);
  });
});

describe("rssReport", () => {
  const series = (name: string, pid: number, kib: (i: number) => number, n = 40) =>
    Array.from({ length: n }, (_, i) => ({ at: i * 1000, process: name, pid, kib: kib(i) }));

  test("a flat saw-tooth passes, steady growth fails, a short life is not judged", () => {
    const recorder = new Recorder();
    const lines = rssReport(
      [
        ...series("api-a", 1, (i) => 120_000 + (i % 5) * 8_000),
        ...series("api-b", 2, (i) => 100_000 + i * 10_000),
        ...series("worker", 3, () => 80_000, 5),
      ],
      recorder,
      20,
    );
    expect(lines.find((l) => l.includes("api-a"))).toContain("flat");
    expect(lines.find((l) => l.includes("api-b"))).toContain("GROWING");
    expect(lines.find((l) => l.includes("worker"))).toContain("not judged");
    expect(kinds(recorder)).toEqual(["RSS grew"]);
  });
});

describe("Recorder.call", () => {
  test("500 and 503 without Retry-After are violations; 503 with it is not; refusals only when down", async () => {
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(request) {
        const path = new URL(request.url).pathname;
        if (path === "/500") return Response.json({ code: "internal" }, { status: 500 });
        if (path === "/503") return Response.json({ code: "unavailable" }, { status: 503 });
        return Response.json(
          { code: "unavailable" },
          { status: 503, headers: { "Retry-After": "5" } },
        );
      },
    });
    const closed = await freePort();
    try {
      const up: Target = {
        name: "up",
        baseUrl: `http://127.0.0.1:${server.port}`,
        mayBeDown: () => false,
      };
      const recorder = new Recorder();
      await recorder.call("read", up, "GET", "/503-with-retry-after", { expect: [200] });
      expect(kinds(recorder)).toEqual([]);
      await recorder.call("read", up, "GET", "/500", { expect: [200] });
      await recorder.call("read", up, "GET", "/503", { expect: [200] });
      expect(kinds(recorder)).toEqual(["503 without Retry-After", "HTTP 500"].sort());

      const down = (mayBeDown: boolean): Target => ({
        name: "b",
        baseUrl: `http://127.0.0.1:${closed}`,
        mayBeDown: () => mayBeDown,
      });
      const refusals = new Recorder();
      const outcome = await refusals.call("read", down(true), "GET", "/", { expect: [200] });
      expect(outcome.kind).toBe("network");
      expect(kinds(refusals)).toEqual([]);
      await refusals.call("read", down(false), "GET", "/", { expect: [200] });
      expect(kinds(refusals)).toEqual(["connection error from an instance that was up"]);
    } finally {
      await server.stop(true);
    }
  });
});
