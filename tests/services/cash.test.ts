import { beforeAll, describe, expect, test } from "bun:test";
import { and, eq, sql } from "drizzle-orm";
import { accounts, idempotencyKeys, transfers, users } from "../../src/core/db/schema.ts";
import { MAX_BALANCE } from "../../src/core/domain/money.ts";
import type { Actor } from "../../src/core/domain/types.ts";
import { inTransaction } from "../../src/core/services/context.ts";
import {
  IDEMPOTENCY_KEY_TTL_MS,
  pruneIdempotencyKeys,
} from "../../src/core/services/idempotency.ts";
import { deposit, withdraw } from "../../src/core/services/transfers.ts";
import type { TestContext } from "../support/database.ts";
import { testDatabase } from "../support/database.ts";
import {
  balanceOf,
  createUser,
  errorCode,
  openAccount,
  treasuryAccount,
  uniqueName,
} from "../support/fixtures.ts";

let deps: TestContext;
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

    const { result: credited } = await deposit(
      { ...deps, actor: banker },
      {
        accountId: account.id,
        amount: 5_000,
        currency: "EUR",
      },
    );
    expect(credited.transfer.fromAccountId).toBe(treasury.id);
    expect(credited.transfer.toAccountId).toBe(account.id);
    expect(credited.toAccount.balance).toBe(5_000);
    expect(credited.fromEntry.amount).toBe(-5_000);
    expect(credited.toEntry.amount).toBe(5_000);

    const { result: debited } = await withdraw(
      { ...deps, actor: banker },
      {
        accountId: account.id,
        amount: 1_200,
        currency: "EUR",
      },
    );
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
      deposit({ ...deps, actor: owner }, { accountId: account.id, amount: 10, currency: "USD" }),
    ).rejects.toMatchObject({ code: "forbidden" });
    await expect(
      withdraw({ ...deps, actor: owner }, { accountId: account.id, amount: 10, currency: "USD" }),
    ).rejects.toMatchObject({ code: "forbidden" });
  });

  test("the role is re-checked in the transaction: a banker demoted since their token moves nothing", async () => {
    const { account } = await openAccount(deps, "USD");
    const demoted = await createUser(deps, "banker");
    await deps.db
      .update(users)
      .set({ role: "depositor" })
      .where(eq(users.username, demoted.username));
    // `demoted` still claims "banker", as an access token issued before the change would.
    await expect(
      deposit({ ...deps, actor: demoted }, { accountId: account.id, amount: 10, currency: "USD" }),
    ).rejects.toMatchObject({ code: "forbidden" });
    expect(await balanceOf(deps, account.id)).toBe(0);
  });

  test("a role change waits for the deposit in flight: money moves on the role that holds at commit", async () => {
    const { account } = await openAccount(deps, "USD");
    const teller = await createUser(deps, "banker");
    const order: string[] = [];
    // The deposit's transaction holds the teller's user row (FOR SHARE) until it commits...
    const depositing = inTransaction(deps, async (tx) => {
      const result = await deposit(
        { ...deps, db: tx, actor: teller },
        { accountId: account.id, amount: 10, currency: "USD" },
      );
      const demoting = deps.db
        .update(users)
        .set({ role: "depositor" })
        .where(eq(users.username, teller.username))
        .then(() => order.push("demoted"));
      await Bun.sleep(200);
      order.push("deposit committing");
      return { result, demoting };
    });
    const { demoting } = await depositing;
    // ...so the demotion lands after it, and the next deposit is refused.
    await demoting;
    expect(order).toEqual(["deposit committing", "demoted"]);
    expect(await balanceOf(deps, account.id)).toBe(10);
    await expect(
      deposit({ ...deps, actor: teller }, { accountId: account.id, amount: 10, currency: "USD" }),
    ).rejects.toMatchObject({ code: "forbidden" });
  });

  test("rules: missing 404, treasury 422, currency mismatch 422, funds 422, bad input 400", async () => {
    const { account } = await openAccount(deps, "CAD");
    const treasury = await treasuryAccount(deps, "CAD");
    const cases: [() => Promise<unknown>, string][] = [
      [
        () =>
          deposit(
            { ...deps, actor: banker },
            { accountId: 9_000_000_000, amount: 1, currency: "CAD" },
          ),
        "not_found",
      ],
      [
        () =>
          deposit(
            { ...deps, actor: banker },
            { accountId: treasury.id, amount: 1, currency: "CAD" },
          ),
        "invalid_account",
      ],
      [
        () =>
          withdraw(
            { ...deps, actor: banker },
            { accountId: treasury.id, amount: 1, currency: "CAD" },
          ),
        "invalid_account",
      ],
      [
        () =>
          deposit(
            { ...deps, actor: banker },
            { accountId: account.id, amount: 1, currency: "USD" },
          ),
        "currency_mismatch",
      ],
      [
        () =>
          withdraw(
            { ...deps, actor: banker },
            { accountId: account.id, amount: 1, currency: "CAD" },
          ),
        "insufficient_funds",
      ],
      [
        () =>
          deposit(
            { ...deps, actor: banker },
            { accountId: account.id, amount: 0, currency: "CAD" },
          ),
        "validation_failed",
      ],
      [
        () => deposit({ ...deps, actor: banker }, { accountId: 0, amount: 1, currency: "CAD" }),
        "validation_failed",
      ],
      [
        () =>
          deposit(
            { ...deps, actor: banker },
            {
              accountId: account.id,
              amount: 1_000_000_000_001,
              currency: "CAD",
            },
          ),
        "validation_failed",
      ],
    ];
    for (const [call, code] of cases) await expect(call()).rejects.toMatchObject({ code });
    expect(await balanceOf(deps, account.id)).toBe(0);
  });

  test("concurrent deposits and withdrawals on one account never overdraw it", async () => {
    const { account } = await openAccount(deps, "USD");
    await deposit(
      { ...deps, actor: banker },
      { accountId: account.id, amount: 1_000, currency: "USD" },
    );
    const calls = Array.from({ length: 60 }, (_, i) =>
      i % 3 === 0
        ? deposit(
            { ...deps, actor: banker },
            { accountId: account.id, amount: 100, currency: "USD" },
          )
        : withdraw(
            { ...deps, actor: banker },
            { accountId: account.id, amount: 150, currency: "USD" },
          ),
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

  test("a deposit that would take the treasury past −(2^53 − 1): 422 balance_limit_exceeded, nothing written", async () => {
    // The state a bank holding almost 2^53 − 1 cents of CAD would be in (its customers hold
    // what its treasury owes, so the books still balance), made inside a transaction that is
    // always rolled back: no other test ever sees it.
    const { account } = await openAccount(deps, "CAD");
    const treasury = await treasuryAccount(deps, "CAD");
    const room = 500;
    const moved = treasury.balance + MAX_BALANCE - room;
    const rolledBack = new Error("rolled back on purpose");
    const outcome = deps.db.transaction(async (tx) => {
      const add = (id: number, amount: number) =>
        tx
          .update(accounts)
          .set({ balance: sql`${accounts.balance} + ${amount}` })
          .where(eq(accounts.id, id));
      await add(treasury.id, -moved);
      await add(account.id, moved);
      const ctx = { ...deps, db: tx, actor: banker };
      const input = { accountId: account.id, currency: "CAD" as const };
      expect(await errorCode(deposit(ctx, { ...input, amount: room + 1 }))).toBe(
        "balance_limit_exceeded",
      );
      expect(await tx.$count(transfers, eq(transfers.toAccountId, account.id))).toBe(0);
      // Up to the limit is fine.
      expect((await deposit(ctx, { ...input, amount: room })).result.fromAccount.balance).toBe(
        -MAX_BALANCE,
      );
      throw rolledBack;
    });
    await expect(outcome).rejects.toBe(rolledBack);
    expect(await balanceOf(deps, account.id)).toBe(0);
    expect(await balanceOf(deps, treasury.id)).toBe(treasury.balance);
  });
});

describe("deposits and withdrawals with an Idempotency-Key", () => {
  test("held by a request in flight: 409 idempotency_in_progress at once, nothing moves", async () => {
    const { account } = await openAccount(deps, "USD");
    const key = uniqueName("cash");
    const input = {
      accountId: account.id,
      amount: 10,
      currency: "USD" as const,
      idempotencyKey: key,
    };
    const lock = `idempotency:${banker.username}:${key}`;
    await inTransaction(deps, async (tx) => {
      // The first request's transaction holds the key's advisory lock until it commits.
      await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${lock}, 0))`);
      expect(await errorCode(deposit({ ...deps, actor: banker }, input))).toBe(
        "idempotency_in_progress",
      );
      expect(await errorCode(withdraw({ ...deps, actor: banker }, input))).toBe(
        "idempotency_in_progress",
      );
    });
    expect(await balanceOf(deps, account.id)).toBe(0);
    expect((await deposit({ ...deps, actor: banker }, input)).replayed).toBe(false);
  });

  test("a pruned key (older than 24 h) runs the deposit afresh", async () => {
    const { account } = await openAccount(deps, "CAD");
    const key = uniqueName("cash");
    const input = {
      accountId: account.id,
      amount: 25,
      currency: "CAD" as const,
      idempotencyKey: key,
    };
    const first = await deposit({ ...deps, actor: banker }, input);
    expect((await deposit({ ...deps, actor: banker }, input)).replayed).toBe(true);
    const now = Date.now();
    await deps.db
      .update(idempotencyKeys)
      .set({ createdAt: new Date(now - IDEMPOTENCY_KEY_TTL_MS - 60_000) })
      .where(and(eq(idempotencyKeys.owner, banker.username), eq(idempotencyKeys.key, key)));
    expect(
      await pruneIdempotencyKeys({ db: deps.db, clock: { now: () => new Date(now) } }),
    ).toBeGreaterThanOrEqual(1);
    const again = await deposit({ ...deps, actor: banker }, input);
    expect(again.replayed).toBe(false);
    expect(again.result.transfer.id).not.toBe(first.result.transfer.id);
    expect(await balanceOf(deps, account.id)).toBe(50);
  });
});
