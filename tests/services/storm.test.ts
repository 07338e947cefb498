import { beforeAll, describe, expect, test } from "bun:test";
import { inArray, or, sql } from "drizzle-orm";
import { accounts, entries, transfers } from "../../src/core/db/schema.ts";
import { BusinessRuleError } from "../../src/core/domain/errors.ts";
import { transfer } from "../../src/core/services/transfers.ts";
import type { TestContext } from "../support/database.ts";
import { testDatabase } from "../support/database.ts";
import { fund, type Holder, openAccount } from "../support/fixtures.ts";
import { balanceAfterViolations } from "../support/resilience.ts";

let deps: TestContext;
beforeAll(async () => {
  deps = (await testDatabase()).deps;
});

/** Deterministic PRNG (mulberry32), so a failing storm can be replayed with its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("transfer storm", () => {
  test("1,000 concurrent transfers over 20 accounts keep the books balanced", async () => {
    const ACCOUNTS = 20;
    const TRANSFERS = 1_000;
    const seed = Date.now() % 1_000_000;
    const rand = random(seed);

    const holders: Holder[] = [];
    for (let i = 0; i < ACCOUNTS; i++) holders.push(await openAccount(deps, "USD"));
    // Funded the only legitimate way: deposits from the treasury.
    const deposits = holders.map((h, i) => fund(deps, h.account, 1_000 + i * 100));
    await Promise.all(deposits);

    const calls = Array.from({ length: TRANSFERS }, () => {
      const from = holders[Math.floor(rand() * ACCOUNTS)];
      let to = holders[Math.floor(rand() * ACCOUNTS)];
      while (to === from) to = holders[Math.floor(rand() * ACCOUNTS)];
      // Mostly small amounts; one in five larger than any balance can be.
      const amount =
        rand() < 0.2 ? 50_000 + Math.floor(rand() * 50_000) : 1 + Math.floor(rand() * 400);
      if (!from || !to) throw new Error("unreachable");
      return transfer(
        { ...deps, actor: from.owner },
        {
          fromAccountId: from.account.id,
          toAccountId: to.account.id,
          amount,
          currency: "USD",
        },
      );
    });
    const outcomes = await Promise.allSettled(calls);

    let successes = 0;
    let insufficient = 0;
    const unexpected: unknown[] = [];
    for (const outcome of outcomes) {
      if (outcome.status === "fulfilled") successes++;
      else if (
        outcome.reason instanceof BusinessRuleError &&
        outcome.reason.code === "insufficient_funds"
      )
        insufficient++;
      else unexpected.push(outcome.reason);
    }
    expect({ seed, unexpected }).toEqual({ seed, unexpected: [] });
    expect(successes + insufficient).toBe(TRANSFERS);
    expect(successes).toBeGreaterThan(0);
    expect(insufficient).toBeGreaterThan(0);

    const ids = holders.map((h) => h.account.id);
    const db = deps.db;

    // No customer balance is negative.
    const rows = await db.select().from(accounts).where(inArray(accounts.id, ids));
    for (const row of rows) expect(row.balance).toBeGreaterThanOrEqual(0);

    // Per currency, the sum of ALL balances, treasury included, is exactly zero.
    const sums = await db
      .select({ currency: accounts.currency, total: sql<string>`sum(${accounts.balance})::text` })
      .from(accounts)
      .groupBy(accounts.currency);
    for (const { total } of sums) expect(total).toBe("0");

    // Every balance (storm accounts and treasuries) equals the sum of its entries.
    const mismatched = await db.execute(sql`
      select a.id from accounts a
      left join entries e on e.account_id = a.id
      group by a.id, a.balance
      having a.balance <> coalesce(sum(e.amount), 0)`);
    expect([...mismatched]).toEqual([]);

    // Every transfer has exactly two entries, summing to zero.
    const badTransfers = await db.execute(sql`
      select t.id from transfers t
      left join entries e on e.transfer_id = t.id
      group by t.id
      having count(e.id) <> 2 or coalesce(sum(e.amount), 0) <> 0`);
    expect([...badTransfers]).toEqual([]);

    // Every account's latest balance_after equals its balance, under all that concurrency.
    expect(await balanceAfterViolations((await testDatabase()).handle.sql)).toEqual([]);

    // Transfer rows touching these accounts = successful transfers + the funding deposits.
    const touching = await db
      .select({ id: transfers.id })
      .from(transfers)
      .where(or(inArray(transfers.fromAccountId, ids), inArray(transfers.toAccountId, ids)));
    expect(touching.length).toBe(successes + deposits.length);
    const entryRows = await db
      .select({ id: entries.id })
      .from(entries)
      .where(inArray(entries.accountId, ids));
    expect(entryRows.length).toBe(2 * successes + deposits.length);
  }, 120_000);
});
