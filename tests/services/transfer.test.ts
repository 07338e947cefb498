import { beforeAll, describe, expect, test } from "bun:test";
import { eq, or } from "drizzle-orm";
import { entries, transfers } from "../../src/core/db/schema.ts";
import type { DomainError } from "../../src/core/domain/errors.ts";
import type { Account, Actor } from "../../src/core/domain/types.ts";
import * as transfers_ from "../../src/core/services/transfers.ts";
import { getTransfer, transfer } from "../../src/core/services/transfers.ts";
import type { TestContext } from "../support/database.ts";
import { testDatabase } from "../support/database.ts";
import {
  balanceOf,
  createUser,
  errorCode,
  fund,
  fundedPair,
  openAccount,
  treasuryAccount,
} from "../support/fixtures.ts";

/** The original's ListTransfers (page pagination): the page's transfers. */
async function listTransfers(
  ctx: Parameters<typeof transfers_.listTransfers>[0],
  input: { accountId: number; page?: { pageId: number; pageSize: number } },
) {
  return (await transfers_.listTransfers(ctx, { accountId: input.accountId, ...input.page })).items;
}

let deps: TestContext;
beforeAll(async () => {
  deps = (await testDatabase()).deps;
});

describe("transfer (the original's TestTransferTx)", () => {
  test("5 concurrent transfers of 10 each observe a distinct serialized post-state", async () => {
    const { from: a, to: b } = await fundedPair(deps, { currency: "USD", from: 1_000, to: 500 });
    const start1 = await balanceOf(deps, a.account.id);
    const start2 = await balanceOf(deps, b.account.id);

    const n = 5;
    const amount = 10;
    const results = await Promise.all(
      Array.from({ length: n }, () =>
        transfer(
          { ...deps, actor: a.owner },
          {
            fromAccountId: a.account.id,
            toAccountId: b.account.id,
            amount,
            currency: "USD",
          },
        ),
      ),
    );

    const seen = new Set<number>();
    for (const { result, replayed } of results) {
      expect(replayed).toBe(false);
      expect(result.transfer.fromAccountId).toBe(a.account.id);
      expect(result.transfer.toAccountId).toBe(b.account.id);
      expect(result.transfer.amount).toBe(amount);
      expect(result.transfer.id).toBeGreaterThan(0);
      expect(result.transfer.createdAt).toBeInstanceOf(Date);
      expect((await getTransfer({ ...deps, actor: a.owner }, result.transfer.id)).id).toBe(
        result.transfer.id,
      );

      expect(result.fromEntry.accountId).toBe(a.account.id);
      expect(result.fromEntry.amount).toBe(-amount);
      expect(result.fromEntry.transferId).toBe(result.transfer.id);
      expect(result.toEntry.accountId).toBe(b.account.id);
      expect(result.toEntry.amount).toBe(amount);
      expect(result.toEntry.transferId).toBe(result.transfer.id);

      expect(result.fromAccount.id).toBe(a.account.id);
      expect(result.toAccount.id).toBe(b.account.id);
      // The sender does not own the recipient account: its balance is not shown (fix).
      expect(result.toAccount.balance).toBeUndefined();

      const diff = start1 - (result.fromAccount.balance ?? Number.NaN);
      expect(diff).toBeGreaterThan(0);
      expect(diff % amount).toBe(0);
      const k = diff / amount;
      expect(k).toBeGreaterThanOrEqual(1);
      expect(k).toBeLessThanOrEqual(n);
      expect(seen.has(k)).toBe(false);
      seen.add(k);
    }
    expect(await balanceOf(deps, a.account.id)).toBe(start1 - n * amount);
    expect(await balanceOf(deps, b.account.id)).toBe(start2 + n * amount);
  });

  test("the recipient's balance is hidden from a depositor sender, shown to a banker sender", async () => {
    const { from: sender, to: recipient } = await fundedPair(deps, { currency: "USD", from: 100 });
    const { result } = await transfer(
      { ...deps, actor: sender.owner },
      {
        fromAccountId: sender.account.id,
        toAccountId: recipient.account.id,
        amount: 40,
        currency: "USD",
      },
    );
    expect(result.fromAccount.balance).toBe(60);
    expect(result.toAccount.balance).toBeUndefined();
    expect(result.toAccount.owner).toBe(recipient.owner.username);

    const banker = await createUser(deps, "banker");
    const bankerAccount = (await openAccount(deps, "USD", banker)).account;
    await fund(deps, bankerAccount, 10);
    const byBanker = await transfer(
      { ...deps, actor: banker },
      {
        fromAccountId: bankerAccount.id,
        toAccountId: recipient.account.id,
        amount: 5,
        currency: "USD",
      },
    );
    expect(byBanker.result.toAccount.balance).toBe(45);
  });
});

describe("transfer deadlock (the original's TestTransferTxDeadlock, scaled up)", () => {
  test("100 concurrent transfers, half A→B and half B→A: none fails, balances unchanged", async () => {
    const { from: a, to: b } = await fundedPair(deps, {
      currency: "EUR",
      from: 10_000,
      to: 10_000,
    });

    const outcomes = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) => {
        const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
        return transfer(
          { ...deps, actor: from.owner },
          {
            fromAccountId: from.account.id,
            toAccountId: to.account.id,
            amount: 10,
            currency: "EUR",
          },
        );
      }),
    );
    const failures = outcomes.filter((o) => o.status === "rejected");
    expect(failures).toEqual([]);
    expect(await balanceOf(deps, a.account.id)).toBe(10_000);
    expect(await balanceOf(deps, b.account.id)).toBe(10_000);
  });
});

describe("transfer rules, in the contract's check order", () => {
  let alice: Actor;
  let aliceUsd: Account;
  let aliceEur: Account;
  let bobUsd: Account;
  let bobCad: Account;
  let treasuryUsdId: number;

  beforeAll(async () => {
    alice = await createUser(deps);
    aliceUsd = (await openAccount(deps, "USD", alice)).account;
    aliceEur = (await openAccount(deps, "EUR", alice)).account;
    const bob = await createUser(deps);
    bobUsd = (await openAccount(deps, "USD", bob)).account;
    bobCad = (await openAccount(deps, "CAD", bob)).account;
    await fund(deps, aliceUsd, 100);
    treasuryUsdId = (await treasuryAccount(deps, "USD")).id;
  });

  const move = (actor: Actor, from: number, to: number, amount: number, currency = "USD") =>
    transfer(
      { ...deps, actor: actor },
      {
        fromAccountId: from,
        toAccountId: to,
        amount,
        currency: currency as "USD",
      },
    );

  test("validation lists every bad field", async () => {
    try {
      await move(alice, 0, -1, 0, "GBP");
      throw new Error("expected a validation error");
    } catch (error) {
      expect((error as DomainError).code).toBe("validation_failed");
      const fields = (error as { violations: { field: string }[] }).violations.map((v) => v.field);
      expect(fields).toEqual(["from_account_id", "to_account_id", "amount", "currency"]);
    }
    for (const amount of [0, -5, 1.5, 1_000_000_000_001, Number.NaN, 2 ** 60]) {
      expect(await errorCode(move(alice, aliceUsd.id, bobUsd.id, amount))).toBe(
        "validation_failed",
      );
    }
  });

  test("the recipient: exactly one of to_account_id and to_username; a memo by its rule", async () => {
    const violations = async (input: Record<string, unknown>) => {
      try {
        await transfer(
          { ...deps, actor: alice },
          { fromAccountId: aliceUsd.id, amount: 1, currency: "USD", ...input },
        );
      } catch (error) {
        return (error as { violations?: { field: string; message: string }[] }).violations;
      }
      throw new Error("expected a validation error");
    };
    expect(await violations({})).toEqual([
      { field: "to_account_id", message: "is required (or give to_username)" },
    ]);
    expect(await violations({ toAccountId: bobUsd.id, toUsername: "bob" })).toEqual([
      { field: "to_username", message: "cannot be given with to_account_id" },
    ]);
    expect(await violations({ toUsername: "Not A Name", memo: "" })).toEqual([
      {
        field: "to_username",
        message: "must be 3 to 100 characters: lowercase letters, digits or underscores",
      },
      { field: "memo", message: "must be 1 to 140 characters of printable text" },
    ]);
  });

  test("from account missing → not_found (before anything about the recipient)", async () => {
    expect(await errorCode(move(alice, 9_000_000_000, 9_000_000_001, 10))).toBe("not_found");
  });

  test("from currency ≠ request currency → currency_mismatch (before ownership)", async () => {
    expect(await errorCode(move(alice, bobCad.id, aliceUsd.id, 10, "USD"))).toBe(
      "currency_mismatch",
    );
  });

  test("from account not the caller's → forbidden, even for a banker", async () => {
    expect(await errorCode(move(alice, bobUsd.id, aliceUsd.id, 10))).toBe("forbidden");
    const banker = await createUser(deps, "banker");
    expect(await errorCode(move(banker, bobUsd.id, aliceUsd.id, 10))).toBe("forbidden");
  });

  test("to account missing → not_found", async () => {
    expect(await errorCode(move(alice, aliceUsd.id, 9_000_000_000, 10))).toBe("not_found");
  });

  test("to currency ≠ request currency → currency_mismatch", async () => {
    expect(await errorCode(move(alice, aliceUsd.id, bobCad.id, 10))).toBe("currency_mismatch");
    expect(await errorCode(move(alice, aliceUsd.id, aliceEur.id, 10))).toBe("currency_mismatch");
  });

  test("treasury accounts are not valid in a transfer → invalid_account", async () => {
    expect(await errorCode(move(alice, aliceUsd.id, treasuryUsdId, 10))).toBe("invalid_account");
    expect(await errorCode(move(alice, treasuryUsdId, aliceUsd.id, 10))).toBe("invalid_account");
  });

  test("from = to → same_account (before funds)", async () => {
    expect(await errorCode(move(alice, aliceUsd.id, aliceUsd.id, 1_000_000))).toBe("same_account");
  });

  test("balance too low → insufficient_funds, and nothing is written", async () => {
    const before = await deps.db
      .select()
      .from(transfers)
      .where(or(eq(transfers.fromAccountId, aliceUsd.id), eq(transfers.toAccountId, aliceUsd.id)));
    expect(await errorCode(move(alice, aliceUsd.id, bobUsd.id, 101))).toBe("insufficient_funds");
    const after = await deps.db
      .select()
      .from(transfers)
      .where(or(eq(transfers.fromAccountId, aliceUsd.id), eq(transfers.toAccountId, aliceUsd.id)));
    expect(after.length).toBe(before.length);
    expect(await balanceOf(deps, aliceUsd.id)).toBe(100);
    // Exactly the balance is fine.
    await move(alice, aliceUsd.id, bobUsd.id, 100);
    expect(await balanceOf(deps, aliceUsd.id)).toBe(0);
    expect(await errorCode(move(alice, aliceUsd.id, bobUsd.id, 1))).toBe("insufficient_funds");
  });
});

describe("reading transfers", () => {
  test("visible to either side and to bankers, forbidden to others; listed by account", async () => {
    const { from: a, to: b } = await fundedPair(deps, { currency: "CAD", from: 100 });
    const stranger = await createUser(deps);
    const banker = await createUser(deps, "banker");
    const { result } = await transfer(
      { ...deps, actor: a.owner },
      {
        fromAccountId: a.account.id,
        toAccountId: b.account.id,
        amount: 30,
        currency: "CAD",
      },
    );
    const id = result.transfer.id;
    expect((await getTransfer({ ...deps, actor: a.owner }, id)).amount).toBe(30);
    expect((await getTransfer({ ...deps, actor: b.owner }, id)).amount).toBe(30);
    expect((await getTransfer({ ...deps, actor: banker }, id)).amount).toBe(30);
    expect(await errorCode(getTransfer({ ...deps, actor: stranger }, id))).toBe("forbidden");
    expect(await errorCode(getTransfer({ ...deps, actor: a.owner }, 9_000_000_000))).toBe(
      "not_found",
    );
    expect(await errorCode(getTransfer({ ...deps, actor: a.owner }, 0))).toBe("validation_failed");

    // The deposit that funded `a` and the transfer, in id order, from either side.
    const listedA = await listTransfers({ ...deps, actor: a.owner }, { accountId: a.account.id });
    expect(listedA.map((t) => t.amount)).toEqual([100, 30]);
    const listedB = await listTransfers({ ...deps, actor: b.owner }, { accountId: b.account.id });
    expect(listedB.map((t) => t.id)).toEqual([id]);
    expect(
      await errorCode(listTransfers({ ...deps, actor: stranger }, { accountId: a.account.id })),
    ).toBe("forbidden");
    expect(
      await listTransfers(
        { ...deps, actor: a.owner },
        {
          accountId: a.account.id,
          page: { pageId: 2, pageSize: 1 },
        },
      ),
    ).toHaveLength(1);
    expect(
      await listTransfers(
        { ...deps, actor: a.owner },
        {
          accountId: a.account.id,
          page: { pageId: 3, pageSize: 1 },
        },
      ),
    ).toEqual([]);
  });

  test("every transfer has exactly two entries that sum to zero", async () => {
    const { from: a, to: b } = await fundedPair(deps, { currency: "USD", from: 50 });
    const { result } = await transfer(
      { ...deps, actor: a.owner },
      {
        fromAccountId: a.account.id,
        toAccountId: b.account.id,
        amount: 20,
        currency: "USD",
      },
    );
    const rows = await deps.db
      .select()
      .from(entries)
      .where(eq(entries.transferId, result.transfer.id));
    expect(rows).toHaveLength(2);
    expect(rows.reduce((sum, e) => sum + e.amount, 0)).toBe(0);
  });
});
