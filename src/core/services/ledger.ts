import { eq, sql } from "drizzle-orm";
import type { Transaction } from "../db/client.ts";
import { accounts, entries, transfers } from "../db/schema.ts";
import { BusinessRuleError } from "../domain/errors.ts";
import { type Currency, MAX_BALANCE } from "../domain/money.ts";
import type { Account, AccountKind, Entry, Transfer } from "../domain/types.ts";

/**
 * The double-entry core shared by transfers, deposits and withdrawals. Callers run these
 * inside one transaction: lock, check their rules against the locked rows, then post.
 */

export function toAccount(row: typeof accounts.$inferSelect): Account {
  return {
    id: row.id,
    owner: row.owner,
    kind: row.kind as AccountKind,
    balance: row.balance,
    currency: row.currency as Currency,
    createdAt: row.createdAt,
  };
}

/**
 * Locks the given accounts (FOR NO KEY UPDATE, the lock a balance UPDATE takes; it does not
 * block the KEY SHARE locks of foreign-key checks) one at a time in ascending id order, so two
 * transactions over the same pair always queue instead of deadlocking. Missing ids are absent
 * from the result.
 */
export async function lockAccounts(tx: Transaction, ids: number[]): Promise<Map<number, Account>> {
  const locked = new Map<number, Account>();
  for (const id of [...new Set(ids)].sort((a, b) => a - b)) {
    const [row] = await tx.select().from(accounts).where(eq(accounts.id, id)).for("no key update");
    if (row) locked.set(id, toAccount(row));
  }
  return locked;
}

/** The treasury account of a currency (the bank's side of deposits and withdrawals). */
export async function treasuryId(tx: Transaction, currency: Currency): Promise<number> {
  const [row] = await tx
    .select({ id: accounts.id })
    .from(accounts)
    .where(sql`${accounts.kind} = 'treasury' and ${accounts.currency} = ${currency}`);
  if (!row) throw new Error(`no treasury account for ${currency}: migrations not applied?`);
  return row.id;
}

export interface Posting {
  transfer: Transfer;
  fromAccount: Account;
  toAccount: Account;
  fromEntry: Entry;
  toEntry: Entry;
}

/**
 * Writes one transfer: the transfer row, a −amount and a +amount entry, and both balance
 * updates (atomic increments, lower id first). Both accounts must already be locked by this
 * transaction and the caller's rules checked; the balance bounds are checked here.
 */
export async function postTransfer(
  tx: Transaction,
  from: Account,
  to: Account,
  amount: number,
  memo: string | null = null,
): Promise<Posting> {
  if (to.balance + amount > MAX_BALANCE || from.balance - amount < -MAX_BALANCE) {
    throw new BusinessRuleError(
      "balance_limit_exceeded",
      "this transfer would take a balance beyond the largest amount the bank can hold",
    );
  }
  const [transfer] = await tx
    .insert(transfers)
    .values({ fromAccountId: from.id, toAccountId: to.id, amount, memo })
    .returning();
  if (!transfer) throw new Error("insert into transfers returned no row");
  const written = await tx
    .insert(entries)
    .values([
      // Both accounts are locked: their balances after this transfer are exact here.
      {
        accountId: from.id,
        amount: -amount,
        transferId: transfer.id,
        balanceAfter: from.balance - amount,
      },
      { accountId: to.id, amount, transferId: transfer.id, balanceAfter: to.balance + amount },
    ])
    .returning();
  const fromEntry = written.find((e) => e.accountId === from.id);
  const toEntry = written.find((e) => e.accountId === to.id);
  if (!fromEntry || !toEntry) throw new Error("insert into entries returned too few rows");

  const updated = new Map<number, Account>();
  for (const [id, delta] of [
    [from.id, -amount],
    [to.id, amount],
  ].sort((a, b) => (a[0] as number) - (b[0] as number)) as [number, number][]) {
    const [row] = await tx
      .update(accounts)
      .set({ balance: sql`${accounts.balance} + ${delta}` })
      .where(eq(accounts.id, id))
      .returning();
    if (!row) throw new Error(`account ${id} vanished while locked`);
    const entry = id === from.id ? fromEntry : toEntry;
    if (row.balance !== entry.balanceAfter) throw new Error(`account ${id}: balance_after drift`);
    updated.set(id, toAccount(row));
  }
  return {
    transfer,
    fromAccount: updated.get(from.id) ?? from,
    toAccount: updated.get(to.id) ?? to,
    fromEntry: entryOf(fromEntry),
    toEntry: entryOf(toEntry),
  };
}

/** The entry as a transfer's result shows it (its statement fields are the statement's). */
function entryOf(row: typeof entries.$inferSelect): Entry {
  return {
    id: row.id,
    accountId: row.accountId,
    amount: row.amount,
    transferId: row.transferId,
    createdAt: row.createdAt,
  };
}
