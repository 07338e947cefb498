import { asc, inArray, sql } from "drizzle-orm";
import type { Transaction } from "../db/client.ts";
import { accounts, entries, transfers } from "../db/schema.ts";
import { BusinessRuleError } from "../domain/errors.ts";
import { type Currency, MAX_BALANCE } from "../domain/money.ts";
import type { Account, AccountKind, Entry, Transfer } from "../domain/types.ts";

/**
 * The double-entry core shared by transfers, deposits and withdrawals. Callers run these
 * inside one transaction: lock (drawing the transfers' ids alongside), check their rules against
 * the locked rows, plan each posting, then write them all.
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

export interface Posting {
  transfer: Transfer;
  fromAccount: Account;
  toAccount: Account;
  fromEntry: Entry;
  toEntry: Entry;
}

/** A transfer about to be written: its id (drawn with `drawTransferIds`) and both sides after it. */
export interface PlannedPosting {
  id: number;
  from: Account;
  to: Account;
  amount: number;
  memo: string | null;
}

/**
 * `count` ids from the transfers' sequence, ascending, for the postings of this transaction
 * (drawn up front, so the transfers and their entries are written in one round trip). An id
 * drawn for a transfer that is then refused is never used: ids have gaps, as any sequence's.
 */
export async function drawTransferIds(tx: Transaction, count: number): Promise<number[]> {
  if (count === 0) return [];
  const rows = await tx.execute<{ id: string | number }>(
    sql`select nextval(pg_get_serial_sequence('transfers', 'id')) as id from generate_series(1, ${count}::int)`,
  );
  return rows.map((row) => Number(row.id)).sort((a, b) => a - b);
}

/**
 * Both sides after moving `amount` from `from` to `to` (as locked, or as earlier postings of
 * this transaction left them); 422 `balance_limit_exceeded` beyond the bank's bounds.
 */
export function plannedPosting(
  id: number,
  from: Account,
  to: Account,
  amount: number,
  memo: string | null = null,
): PlannedPosting {
  if (to.balance + amount > MAX_BALANCE || from.balance - amount < -MAX_BALANCE) {
    throw new BusinessRuleError(
      "balance_limit_exceeded",
      "this transfer would take a balance beyond the largest amount the bank can hold",
    );
  }
  return {
    id,
    from: { ...from, balance: from.balance - amount },
    to: { ...to, balance: to.balance + amount },
    amount,
    memo,
  };
}

/**
 * Writes planned postings, in order: the transfer rows, a −amount and a +amount entry each
 * (with the balance after it), and every touched balance set to its final value, three
 * statements sent together (postgres.js pipelines the queries of one connection, and the server
 * runs them in order): one round trip however many postings. Every account must already be
 * locked by this transaction, and the callers' rules checked against the locked balances.
 */
export async function writePostings(
  tx: Transaction,
  planned: PlannedPosting[],
): Promise<Posting[]> {
  if (planned.length === 0) return [];
  const finalBalance = new Map<number, number>();
  for (const { from, to } of planned) {
    finalBalance.set(from.id, from.balance);
    finalBalance.set(to.id, to.balance);
  }
  const [written, entryRows, accountRows] = await Promise.all([
    tx
      .insert(transfers)
      .values(
        planned.map((p) => ({
          id: p.id,
          fromAccountId: p.from.id,
          toAccountId: p.to.id,
          amount: p.amount,
          memo: p.memo,
        })),
      )
      .returning(),
    tx
      .insert(entries)
      .values(
        planned.flatMap((p) => [
          {
            accountId: p.from.id,
            amount: -p.amount,
            transferId: p.id,
            balanceAfter: p.from.balance,
          },
          { accountId: p.to.id, amount: p.amount, transferId: p.id, balanceAfter: p.to.balance },
        ]),
      )
      .returning(),
    tx
      .update(accounts)
      .set({
        balance: sql`case ${accounts.id} ${sql.join(
          [...finalBalance].map(([id, balance]) => sql`when ${id} then ${balance}::bigint`),
          sql` `,
        )} end`,
      })
      .where(inArray(accounts.id, [...finalBalance.keys()]))
      .returning({ id: accounts.id, balance: accounts.balance }),
  ]);
  // A locked row cannot vanish or change under us: any mismatch is a bug, never a caller's error.
  for (const row of accountRows) {
    if (row.balance !== finalBalance.get(row.id)) throw new Error(`balance drift: ${row.id}`);
  }
  if (accountRows.length !== finalBalance.size) throw new Error("a locked account vanished");
  return planned.map((p) => {
    const transfer = written.find((t) => t.id === p.id);
    const fromEntry = entryRows.find((e) => e.transferId === p.id && e.accountId === p.from.id);
    const toEntry = entryRows.find((e) => e.transferId === p.id && e.accountId === p.to.id);
    if (!transfer || !fromEntry || !toEntry) throw new Error(`posting ${p.id} not written`);
    return {
      transfer,
      fromAccount: p.from,
      toAccount: p.to,
      fromEntry: entryOf(fromEntry),
      toEntry: entryOf(toEntry),
    };
  });
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
