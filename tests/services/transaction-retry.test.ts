import { beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import type { Transaction } from "../../src/core/db/client.ts";
import { postgresError } from "../../src/core/db/errors.ts";
import { inTransaction, MAX_TRANSACTION_ATTEMPTS } from "../../src/core/services/context.ts";
import { type TestContext, testDatabase } from "../support/database.ts";
import { openAccount } from "../support/fixtures.ts";

let deps: TestContext;
beforeAll(async () => {
  deps = (await testDatabase()).deps;
});

const lockRow = (tx: Transaction, id: number) =>
  tx.execute(sql`select id from accounts where id = ${id} for update`);

describe("inTransaction retries", () => {
  test("a real deadlock reported by Postgres is retried in full and never surfaces", async () => {
    const a = (await openAccount(deps)).account.id;
    const b = (await openAccount(deps)).account.id;
    // Both transactions take their first lock, wait for each other, then cross: a deadlock.
    let arrived = 0;
    let release: () => void = () => {};
    const bothHoldFirstLock = new Promise<void>((resolve) => {
      release = resolve;
    });
    const barrier = async () => {
      arrived++;
      if (arrived === 2) release();
      await bothHoldFirstLock;
    };
    const attempts = [0, 0];
    const crossing = (index: number, first: number, second: number) =>
      inTransaction(deps, async (tx) => {
        attempts[index] = (attempts[index] ?? 0) + 1;
        await lockRow(tx, first);
        if (attempts[index] === 1) await barrier();
        await lockRow(tx, second);
        return index;
      });
    expect(await Promise.all([crossing(0, a, b), crossing(1, b, a)])).toEqual([0, 1]);
    // Exactly one of the two was chosen as the deadlock victim and ran again.
    expect((attempts[0] ?? 0) + (attempts[1] ?? 0)).toBe(3);
  }, 20_000);

  test("retries are bounded: a persistent serialization failure surfaces after the last attempt", async () => {
    let attempts = 0;
    const failing = inTransaction(deps, async (tx) => {
      attempts++;
      await tx.execute(
        sql`do $$ begin raise exception 'simulated' using errcode = 'serialization_failure'; end $$`,
      );
    });
    const error = await failing.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(postgresError(error)?.code).toBe("40001");
    expect(attempts).toBe(MAX_TRANSACTION_ATTEMPTS);
  });

  test("other errors are not retried", async () => {
    let attempts = 0;
    await expect(
      inTransaction(deps, async (tx) => {
        attempts++;
        await tx.execute(sql`select 1/0`);
      }),
    ).rejects.toThrow();
    expect(attempts).toBe(1);
  });

  test("inside an open transaction it joins it: no nesting, one commit or rollback for all", async () => {
    const { account } = await openAccount(deps);
    const touch = (ctx: Pick<TestContext, "db" | "logger">) =>
      inTransaction(ctx, async (tx) => {
        await tx.execute(sql`update accounts set balance = balance where id = ${account.id}`);
        const [row] = await tx.execute<{ txid: string }>(sql`select txid_current()::text as txid`);
        return row?.txid;
      });
    let inner: string | undefined;
    let outer: string | undefined;
    await expect(
      inTransaction(deps, async (tx) => {
        outer = (await tx.execute<{ txid: string }>(sql`select txid_current()::text as txid`))[0]
          ?.txid;
        inner = await touch({ ...deps, db: tx });
        throw new Error("roll everything back");
      }),
    ).rejects.toThrow("roll everything back");
    expect(inner).toBe(outer);
    // A separate call opens its own transaction.
    expect(await touch(deps)).not.toBe(outer);
  });
});
