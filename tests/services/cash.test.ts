import { beforeAll, describe, expect, test } from "bun:test";
import { sql } from "drizzle-orm";
import type { Actor } from "../../src/core/domain/types.ts";
import type { ServiceDeps } from "../../src/core/services/context.ts";
import { deposit, withdraw } from "../../src/core/services/transfers.ts";
import { testDatabase } from "../support/database.ts";
import { balanceOf, createUser, openAccount, treasuryAccount } from "../support/fixtures.ts";

let deps: ServiceDeps;
let banker: Actor;
beforeAll(async () => {
  deps = (await testDatabase()).deps;
  banker = await createUser(deps, "banker");
});

describe("deposits and withdrawals (treasury ↔ account)", () => {
  test("a deposit moves money from the treasury; a withdrawal moves it back", async () => {
    const { account } = await openAccount(deps, "EUR");
    const treasury = await treasuryAccount(deps, "EUR");
    const before = treasury.balance;

    const credited = await deposit(deps, banker, {
      accountId: account.id,
      amount: 5_000,
      currency: "EUR",
    });
    expect(credited.transfer.fromAccountId).toBe(treasury.id);
    expect(credited.transfer.toAccountId).toBe(account.id);
    expect(credited.toAccount.balance).toBe(5_000);
    expect(credited.fromEntry.amount).toBe(-5_000);
    expect(credited.toEntry.amount).toBe(5_000);

    const debited = await withdraw(deps, banker, {
      accountId: account.id,
      amount: 1_200,
      currency: "EUR",
    });
    expect(debited.transfer.fromAccountId).toBe(account.id);
    expect(debited.transfer.toAccountId).toBe(treasury.id);
    expect(debited.fromAccount.balance).toBe(3_800);
    expect(await balanceOf(deps, account.id)).toBe(3_800);
    // The treasury moved by exactly the net amount (other tests only ever add their own deltas).
    const [{ total } = { total: "" }] = await deps.db.execute<{ total: string }>(
      sql`select sum(balance)::text as total from accounts where currency = 'EUR'`,
    );
    expect(total).toBe("0");
    expect(before).toBeLessThanOrEqual(0);
  });

  test("only bankers: depositors get forbidden, even on their own account", async () => {
    const { owner, account } = await openAccount(deps, "USD");
    await expect(
      deposit(deps, owner, { accountId: account.id, amount: 10, currency: "USD" }),
    ).rejects.toMatchObject({ code: "forbidden" });
    await expect(
      withdraw(deps, owner, { accountId: account.id, amount: 10, currency: "USD" }),
    ).rejects.toMatchObject({ code: "forbidden" });
  });

  test("rules: missing 404, treasury 422, currency mismatch 422, funds 422, bad input 400", async () => {
    const { account } = await openAccount(deps, "CAD");
    const treasury = await treasuryAccount(deps, "CAD");
    const cases: [() => Promise<unknown>, string][] = [
      [
        () => deposit(deps, banker, { accountId: 9_000_000_000, amount: 1, currency: "CAD" }),
        "not_found",
      ],
      [
        () => deposit(deps, banker, { accountId: treasury.id, amount: 1, currency: "CAD" }),
        "invalid_account",
      ],
      [
        () => withdraw(deps, banker, { accountId: treasury.id, amount: 1, currency: "CAD" }),
        "invalid_account",
      ],
      [
        () => deposit(deps, banker, { accountId: account.id, amount: 1, currency: "USD" }),
        "currency_mismatch",
      ],
      [
        () => withdraw(deps, banker, { accountId: account.id, amount: 1, currency: "CAD" }),
        "insufficient_funds",
      ],
      [
        () => deposit(deps, banker, { accountId: account.id, amount: 0, currency: "CAD" }),
        "validation_failed",
      ],
      [
        () => deposit(deps, banker, { accountId: 0, amount: 1, currency: "CAD" }),
        "validation_failed",
      ],
      [
        () =>
          deposit(deps, banker, {
            accountId: account.id,
            amount: 1_000_000_000_001,
            currency: "CAD",
          }),
        "validation_failed",
      ],
    ];
    for (const [call, code] of cases) await expect(call()).rejects.toMatchObject({ code });
    expect(await balanceOf(deps, account.id)).toBe(0);
  });

  test("concurrent deposits and withdrawals on one account never overdraw it", async () => {
    const { account } = await openAccount(deps, "USD");
    await deposit(deps, banker, { accountId: account.id, amount: 1_000, currency: "USD" });
    const calls = Array.from({ length: 60 }, (_, i) =>
      i % 3 === 0
        ? deposit(deps, banker, { accountId: account.id, amount: 100, currency: "USD" })
        : withdraw(deps, banker, { accountId: account.id, amount: 150, currency: "USD" }),
    );
    const outcomes = await Promise.allSettled(calls);
    let expected = 1_000;
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome.status === "fulfilled") expected += i % 3 === 0 ? 100 : -150;
      else expect(outcome.reason).toMatchObject({ code: "insufficient_funds" });
    }
    const balance = await balanceOf(deps, account.id);
    expect(balance).toBe(expected);
    expect(balance).toBeGreaterThanOrEqual(0);
  });
});
