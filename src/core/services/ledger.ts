import { asc, inArray, sql } from "drizzle-orm";
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
 * block the KEY SHARE locks of foreign-key checks) in ONE statement, in ascending id order (the
 * lock is taken as each row leaves the ORDER BY), so two transactions over the same pair always
 * queue instead of deadlocking. Missing ids are absent from the result.
 */
export async function lockAccounts(tx: Transaction, ids: number[]): Promise<Map<number, Account>> {
  const rows = await tx
    .select()
    .from(accounts)
    .where(inArray(accounts.id, [...new Set(ids)]))
    .orderBy(asc(accounts.id))
    .for("no key update");
  return new Map(rows.map((row) => [row.id, toAccount(row)]));
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

/** The id the transfer inserted just before, in this session (sequences are per session). */
const THIS_TRANSFER = sql<number>`currval(pg_get_serial_sequence('transfers', 'id'))`;

export interface Posting {
  transfer: Transfer;
  fromAccount: Account;
  toAccount: Account;
  fromEntry: Entry;
  toEntry: Entry;
}

/**
 * Writes one transfer: the transfer row, a −amount and a +amount entry, and both balance
 * updates (atomic increments, one statement). Both accounts must already be locked by this
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
  // Three statements, sent together (postgres.js pipelines the queries of one connection, and
  // the server runs them in order): the transfer, its entries (their transfer_id is the id this
  // session's insert just drew from the transfers sequence), and both balances in one UPDATE
  // (the rows are already locked, so its row order cannot deadlock). One round trip, not three.
  const [[transfer], written, rows] = await Promise.all([
    tx
      .insert(transfers)
      .values({ fromAccountId: from.id, toAccountId: to.id, amount, memo })
      .returning(),
    tx
      .insert(entries)
      .values([
        // Both accounts are locked: their balances after this transfer are exact here.
        {
          accountId: from.id,
          amount: -amount,
          transferId: THIS_TRANSFER,
          balanceAfter: from.balance - amount,
        },
        { accountId: to.id, amount, transferId: THIS_TRANSFER, balanceAfter: to.balance + amount },
      ])
      .returning(),
    tx
      .update(accounts)
      .set({
        balance: sql`${accounts.balance} + case when ${accounts.id} = ${from.id} then ${-amount}::bigint else ${amount}::bigint end`,
      })
      .where(inArray(accounts.id, [from.id, to.id]))
      .returning(),
  ]);
  if (!transfer) throw new Error("insert into transfers returned no row");
  const fromEntry = written.find((e) => e.accountId === from.id);
  const toEntry = written.find((e) => e.accountId === to.id);
  if (!fromEntry || !toEntry) throw new Error("insert into entries returned too few rows");
  const updated = new Map(rows.map((row) => [row.id, toAccount(row)]));
  for (const entry of [fromEntry, toEntry]) {
    // A locked row cannot vanish or move, and the entries must name this transfer: anything
    // else is a bug, never a caller's error.
    const after = updated.get(entry.accountId)?.balance;
    if (after !== entry.balanceAfter) throw new Error(`balance_after drift: ${entry.accountId}`);
    if (entry.transferId !== transfer.id) throw new Error(`entry of another transfer: ${entry.id}`);
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
