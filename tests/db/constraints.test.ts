import { beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import type { Database, Transaction } from "../../src/core/db/client.ts";
import { PG, postgresError } from "../../src/core/db/errors.ts";
import { accounts, entries, idempotencyKeys, transfers, users } from "../../src/core/db/schema.ts";
import { MAX_AMOUNT, MAX_BALANCE } from "../../src/core/domain/money.ts";
import type { Actor } from "../../src/core/domain/types.ts";
import type { TestContext } from "../support/database.ts";
import { testDatabase } from "../support/database.ts";
import { balanceOf, createUser, treasuryAccount, uniqueName } from "../support/fixtures.ts";

/**
 * Schema-level guarantees, proven by writing rows directly (no service in between). The
 * database is shared with every other test file, so every write here, including the set-up a
 * failing write needs, runs inside a transaction that always ends by throwing: nothing stays.
 */

let deps: TestContext;
let db: Database;
let alice: Actor;
let bob: Actor;

beforeAll(async () => {
  deps = (await testDatabase()).deps;
  db = deps.db;
  alice = await createUser(deps);
  bob = await createUser(deps);
});

/** Thrown at the end of every transaction here so it rolls back. */
class Rollback extends Error {
  constructor() {
    super("rolled back on purpose");
    this.name = "Rollback";
  }
}

/** Runs `work` in a transaction that is always rolled back; resolves to what it threw. */
async function inRolledBackTransaction(work: (tx: Transaction) => Promise<unknown>) {
  try {
    await db.transaction(async (tx) => {
      await work(tx);
      throw new Rollback();
    });
  } catch (error) {
    return error;
  }
  throw new Error("the transaction committed; it must always roll back");
}

/** Asserts that `work` fails on the named constraint (and that nothing of it is kept). */
async function expectViolation(
  constraint: string,
  work: (tx: Transaction) => Promise<unknown>,
): Promise<void> {
  const error = await inRolledBackTransaction(work);
  if (error instanceof Rollback) {
    throw new Error(`expected a violation of ${constraint}, but every write succeeded`);
  }
  const info = postgresError(error);
  if (!info) throw error;
  expect(info.constraint).toBe(constraint);
}

/** Asserts that every write of `work` succeeds (then rolls it back all the same). */
async function expectAccepted(work: (tx: Transaction) => Promise<unknown>): Promise<void> {
  const error = await inRolledBackTransaction(work);
  if (!(error instanceof Rollback)) throw error;
}

type AccountValues = typeof accounts.$inferInsert;

async function insertAccount(tx: Transaction, values: AccountValues) {
  const [row] = await tx.insert(accounts).values(values).returning();
  if (!row) throw new Error("insert into accounts returned no row");
  return row;
}

/** Two customer USD accounts (alice's and bob's) and a transfer between them, all in `tx`. */
async function transferSetUp(tx: Transaction) {
  const from = await insertAccount(tx, { owner: alice.username, currency: "USD" });
  const to = await insertAccount(tx, { owner: bob.username, currency: "USD" });
  const [transfer] = await tx
    .insert(transfers)
    .values({ fromAccountId: from.id, toAccountId: to.id, amount: 1 })
    .returning();
  if (!transfer) throw new Error("insert into transfers returned no row");
  return { from, to, transfer };
}

function userValues(overrides: Partial<typeof users.$inferInsert> = {}) {
  const username = uniqueName("c");
  return {
    username,
    hashedPassword: "!",
    fullName: "Constraint Test",
    email: `${username}@example.com`,
    ...overrides,
  };
}

describe("the helpers themselves", () => {
  test("a rolled-back transaction leaves nothing behind", async () => {
    const values = userValues();
    await expectAccepted((tx) => tx.insert(users).values(values));
    const rows = await db.select().from(users).where(eq(users.username, values.username));
    expect(rows).toEqual([]);
  });

  test("expectViolation fails when the write is accepted", async () => {
    await expect(
      expectViolation("users_role_check", (tx) => tx.insert(users).values(userValues())),
    ).rejects.toThrow("every write succeeded");
  });
});

describe("seed migration", () => {
  test("created user `bank` and exactly one treasury account per currency", async () => {
    const [bank] = await db.select().from(users).where(eq(users.username, "bank"));
    expect(bank?.username).toBe("bank");
    expect(bank?.role).toBe("depositor");

    const owned = await db.select().from(accounts).where(eq(accounts.owner, "bank"));
    expect(owned.map((a) => a.currency).sort()).toEqual(["CAD", "EUR", "USD"]);
    expect(owned.every((a) => a.kind === "treasury")).toBe(true);

    for (const currency of ["USD", "EUR", "CAD"]) {
      const treasuries = await db
        .select()
        .from(accounts)
        .where(and(eq(accounts.kind, "treasury"), eq(accounts.currency, currency)));
      expect(treasuries).toHaveLength(1);
      expect(treasuries[0]?.owner).toBe("bank");
    }
  });
});

describe("accounts", () => {
  test("accounts_customer_balance_nonnegative: a customer balance of -1 is rejected", async () => {
    await expectViolation("accounts_customer_balance_nonnegative", (tx) =>
      insertAccount(tx, { owner: alice.username, currency: "USD", balance: -1 }),
    );
    await expectViolation("accounts_customer_balance_nonnegative", async (tx) => {
      const account = await insertAccount(tx, { owner: alice.username, currency: "EUR" });
      await tx.update(accounts).set({ balance: -1 }).where(eq(accounts.id, account.id));
    });
  });

  test("a customer balance of 0 is fine (the control for the case above)", async () => {
    await expectAccepted((tx) =>
      insertAccount(tx, { owner: alice.username, currency: "USD", balance: 0 }),
    );
  });

  test("a treasury balance may be negative (rolled back: the treasury is shared)", async () => {
    const treasury = await treasuryAccount(deps, "USD");
    const before = await balanceOf(deps, treasury.id);
    await expectAccepted(async (tx) => {
      const [row] = await tx
        .update(accounts)
        .set({ balance: -5 })
        .where(eq(accounts.id, treasury.id))
        .returning();
      expect(row?.balance).toBe(-5);
    });
    expect(await balanceOf(deps, treasury.id)).toBe(before);
  });

  test("accounts_currency_check: 'GBP' and lower-case 'usd' are rejected", async () => {
    for (const currency of ["GBP", "usd"]) {
      await expectViolation("accounts_currency_check", (tx) =>
        insertAccount(tx, { owner: alice.username, currency }),
      );
    }
  });

  test("owner_currency_key: one account per owner and currency", async () => {
    await expectViolation("owner_currency_key", async (tx) => {
      await insertAccount(tx, { owner: alice.username, currency: "USD" });
      await insertAccount(tx, { owner: alice.username, currency: "USD" });
    });
    // Another currency, or another owner, is fine.
    await expectAccepted(async (tx) => {
      await insertAccount(tx, { owner: alice.username, currency: "USD" });
      await insertAccount(tx, { owner: alice.username, currency: "EUR" });
      await insertAccount(tx, { owner: bob.username, currency: "USD" });
    });
  });

  test("accounts_treasury_owner: `bank` owns only treasuries, and only `bank` owns them", async () => {
    await expectViolation("accounts_treasury_owner", (tx) =>
      insertAccount(tx, { owner: "bank", kind: "customer", currency: "USD" }),
    );
    await expectViolation("accounts_treasury_owner", (tx) =>
      insertAccount(tx, { owner: alice.username, kind: "treasury", currency: "USD" }),
    );
    const treasury = await treasuryAccount(deps, "EUR");
    await expectViolation("accounts_treasury_owner", async (tx) => {
      // Balance 0 too: other tests leave treasuries negative, which a customer may not be.
      await tx
        .update(accounts)
        .set({ kind: "customer", balance: 0 })
        .where(eq(accounts.id, treasury.id));
    });
  });

  test("a second treasury in a currency is rejected", async () => {
    // `bank` already owns a USD account, so owner_currency_key (the older index) fires first;
    // accounts_one_treasury_per_currency guards the same rule.
    const error = await inRolledBackTransaction((tx) =>
      insertAccount(tx, { owner: "bank", kind: "treasury", currency: "USD" }),
    );
    expect(postgresError(error)?.code).toBe(PG.uniqueViolation);
    expect(["owner_currency_key", "accounts_one_treasury_per_currency"]).toContain(
      postgresError(error)?.constraint ?? "",
    );
  });

  test("accounts_balance_bounded: ±(2^53) is rejected, ±(2^53 − 1) is fine", async () => {
    await expectViolation("accounts_balance_bounded", (tx) =>
      insertAccount(tx, { owner: alice.username, currency: "USD", balance: 9007199254740992 }),
    );
    await expectAccepted((tx) =>
      insertAccount(tx, { owner: alice.username, currency: "USD", balance: MAX_BALANCE }),
    );
    const treasury = await treasuryAccount(deps, "CAD");
    await expectViolation("accounts_balance_bounded", (tx) =>
      tx.update(accounts).set({ balance: -9007199254740992 }).where(eq(accounts.id, treasury.id)),
    );
  });

  test("accounts_kind_check: only 'customer' and 'treasury'", async () => {
    await expectViolation("accounts_kind_check", (tx) =>
      insertAccount(tx, { owner: alice.username, kind: "savings", currency: "USD" }),
    );
  });

  test("accounts_owner_users_username_fk: the owner must be a user", async () => {
    await expectViolation("accounts_owner_users_username_fk", (tx) =>
      insertAccount(tx, { owner: uniqueName("ghost"), currency: "USD" }),
    );
  });
});

describe("users", () => {
  test("users_email_key: e-mails are unique regardless of case", async () => {
    const email = `${uniqueName("mail")}@Example.com`;
    await expectViolation("users_email_key", async (tx) => {
      await tx.insert(users).values(userValues({ email }));
      await tx.insert(users).values(userValues({ email: email.toUpperCase() }));
    });
    await expectViolation("users_email_key", async (tx) => {
      await tx.insert(users).values(userValues({ email }));
      await tx.insert(users).values(userValues({ email: email.toLowerCase() }));
    });
  });

  test("users_role_check: only 'depositor' and 'banker'", async () => {
    await expectViolation("users_role_check", (tx) =>
      tx.insert(users).values(userValues({ role: "admin" })),
    );
    await expectAccepted((tx) => tx.insert(users).values(userValues({ role: "banker" })));
  });

  test("users_pkey: usernames are unique", async () => {
    await expectViolation("users_pkey", (tx) =>
      tx.insert(users).values(userValues({ username: alice.username })),
    );
  });
});

describe("transfers", () => {
  test("transfers_amount_positive: 0, -1 and MAX_AMOUNT + 1 are rejected", async () => {
    expect(MAX_AMOUNT + 1).toBe(1_000_000_000_001);
    for (const amount of [0, -1, 1_000_000_000_001]) {
      await expectViolation("transfers_amount_positive", async (tx) => {
        const from = await insertAccount(tx, { owner: alice.username, currency: "USD" });
        const to = await insertAccount(tx, { owner: bob.username, currency: "USD" });
        await tx.insert(transfers).values({ fromAccountId: from.id, toAccountId: to.id, amount });
      });
    }
    await expectAccepted(async (tx) => {
      const from = await insertAccount(tx, { owner: alice.username, currency: "USD" });
      const to = await insertAccount(tx, { owner: bob.username, currency: "USD" });
      await tx
        .insert(transfers)
        .values({ fromAccountId: from.id, toAccountId: to.id, amount: MAX_AMOUNT });
    });
  });

  test("transfers_distinct_accounts: from and to differ", async () => {
    await expectViolation("transfers_distinct_accounts", async (tx) => {
      const account = await insertAccount(tx, { owner: alice.username, currency: "USD" });
      await tx
        .insert(transfers)
        .values({ fromAccountId: account.id, toAccountId: account.id, amount: 1 });
    });
  });

  test("transfers_from_account_id_accounts_id_fk: the accounts must exist", async () => {
    await expectViolation("transfers_from_account_id_accounts_id_fk", async (tx) => {
      const to = await insertAccount(tx, { owner: bob.username, currency: "USD" });
      await tx
        .insert(transfers)
        .values({ fromAccountId: 9_000_000_000_000, toAccountId: to.id, amount: 1 });
    });
  });
});

describe("entries", () => {
  test("entries_amount_nonzero: an entry of 0 is rejected", async () => {
    await expectViolation("entries_amount_nonzero", async (tx) => {
      const { from, transfer } = await transferSetUp(tx);
      await tx
        .insert(entries)
        .values({ accountId: from.id, transferId: transfer.id, amount: 0, balanceAfter: 0 });
    });
    await expectAccepted(async (tx) => {
      const { from, to, transfer } = await transferSetUp(tx);
      await tx.insert(entries).values([
        { accountId: from.id, transferId: transfer.id, amount: -1, balanceAfter: -1 },
        { accountId: to.id, transferId: transfer.id, amount: 1, balanceAfter: 1 },
      ]);
    });
  });

  test("entries_account_id_accounts_id_fk: the account must exist", async () => {
    await expectViolation("entries_account_id_accounts_id_fk", async (tx) => {
      const { transfer } = await transferSetUp(tx);
      await tx.insert(entries).values({
        accountId: 9_000_000_000_000,
        transferId: transfer.id,
        amount: 1,
        balanceAfter: 1,
      });
    });
  });

  test("entries_transfer_id_transfers_id_fk: the transfer must exist", async () => {
    await expectViolation("entries_transfer_id_transfers_id_fk", async (tx) => {
      const account = await insertAccount(tx, { owner: alice.username, currency: "USD" });
      await tx.insert(entries).values({
        accountId: account.id,
        transferId: 9_000_000_000_000,
        amount: 1,
        balanceAfter: 1,
      });
    });
  });
});

describe("idempotency_keys", () => {
  const keyRow = (owner: string, key: string) => ({
    owner,
    key,
    requestFingerprint: "0".repeat(64),
    response: { ok: true },
  });

  test("idempotency_keys_owner_key: one row per owner and key", async () => {
    const key = uniqueName("key");
    await expectViolation("idempotency_keys_owner_key", async (tx) => {
      await tx.insert(idempotencyKeys).values(keyRow(alice.username, key));
      await tx.insert(idempotencyKeys).values(keyRow(alice.username, key));
    });
    // The same key for another owner is a different row.
    await expectAccepted(async (tx) => {
      await tx.insert(idempotencyKeys).values(keyRow(alice.username, key));
      await tx.insert(idempotencyKeys).values(keyRow(bob.username, key));
    });
  });

  test("idempotency_keys_owner_fkey: the owner must be a user", async () => {
    await expectViolation("idempotency_keys_owner_fkey", (tx) =>
      tx.insert(idempotencyKeys).values(keyRow(uniqueName("ghost"), uniqueName("key"))),
    );
  });
});
