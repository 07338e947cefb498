import { and, asc, eq, inArray, or, sql } from "drizzle-orm";
import type { Transaction } from "../db/client.ts";
import { accounts, entries, transfers } from "../db/schema.ts";
import { parsePostgresTimestamp } from "../db/timestamp.ts";
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

/** A customer account named by its owner and currency (a payee by username). */
export interface AccountOf {
  owner: string;
  currency: Currency;
}

/**
 * Locks the given accounts, and the customer accounts of `owners` (payees by username), (FOR
 * NO KEY UPDATE, the lock a balance UPDATE takes; it does not block the KEY SHARE locks of
 * foreign-key checks) in ONE statement, in ascending id order (the lock is taken as each row
 * leaves the ORDER BY), so two transactions over the same rows always queue instead of
 * deadlocking. Missing accounts are absent from the result; with `skipLocked`, so are those
 * another transaction holds locked (nothing waits).
 */
export async function lockAccounts(
  tx: Transaction,
  ids: number[],
  owners: AccountOf[] = [],
  { skipLocked = false }: { skipLocked?: boolean } = {},
): Promise<Map<number, Account>> {
  const byId = ids.length === 0 ? undefined : inArray(accounts.id, [...new Set(ids)]);
  const byOwner =
    owners.length === 0
      ? undefined
      : and(
          eq(accounts.kind, "customer"),
          or(
            ...owners.map((of) =>
              and(eq(accounts.owner, of.owner), eq(accounts.currency, of.currency)),
            ),
          ),
        );
  if (!byId && !byOwner) return new Map();
  const locking = tx.select().from(accounts).where(or(byId, byOwner)).orderBy(asc(accounts.id));
  const rows = await (skipLocked
    ? locking.for("no key update", { skipLocked: true })
    : locking.for("no key update"));
  return new Map(rows.map((row) => [row.id, toAccount(row)]));
}

/** The customer account of `of` among locked accounts, if the owner has one in that currency. */
export function customerAccountOf(
  locked: Map<number, Account>,
  of: AccountOf,
): Account | undefined {
  for (const account of locked.values()) {
    if (
      account.kind === "customer" &&
      account.owner === of.owner &&
      account.currency === of.currency
    ) {
      return account;
    }
  }
  return undefined;
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
 * What a posting is written with, drawn before it: the ids of its transfer and its two entries,
 * and the time they are created at (the transaction's `now()`, which their `created_at` default
 * to), so that a posting is known in full before it is written.
 */
export interface PostingIds {
  transfer: number;
  fromEntry: number;
  toEntry: number;
  createdAt: Date;
}

/** A transfer about to be written: its ids and both sides after it. */
export interface PlannedPosting {
  ids: PostingIds;
  from: Account;
  to: Account;
  amount: number;
  memo: string | null;
}

/**
 * `count` postings' ids from the transfers' and entries' sequences, ascending (in order of use),
 * in one statement. An id drawn for a transfer that is then refused is never used: ids have
 * gaps, as any sequence's.
 */
export async function drawPostingIds(tx: Transaction, count: number): Promise<PostingIds[]> {
  const rows = await tx.execute<{ transfer: string; entry_a: string; entry_b: string; at: string }>(
    sql`select nextval(pg_get_serial_sequence('transfers', 'id')) as transfer, nextval(pg_get_serial_sequence('entries', 'id')) as entry_a, nextval(pg_get_serial_sequence('entries', 'id')) as entry_b, now()::text as at from generate_series(1, ${count}::int)`,
  );
  const ascending = (a: number, b: number) => a - b;
  const transferIds = rows.map((row) => Number(row.transfer)).sort(ascending);
  const entryIds = rows
    .flatMap((row) => [Number(row.entry_a), Number(row.entry_b)])
    .sort(ascending);
  const [first] = rows;
  if (!first) return [];
  // now() is the transaction's start: the same in every row.
  const createdAt = parsePostgresTimestamp(first.at);
  return transferIds.map((transfer, i) => {
    const [fromEntry, toEntry] = [entryIds[2 * i], entryIds[2 * i + 1]];
    if (fromEntry === undefined || toEntry === undefined) throw new Error("entry ids missing");
    return { transfer, fromEntry, toEntry, createdAt };
  });
}

/**
 * Both sides after moving `amount` from `from` to `to` (as locked, or as earlier postings of
 * this transaction left them); 422 `balance_limit_exceeded` beyond the bank's bounds.
 */
export function plannedPosting(
  ids: PostingIds,
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
    ids,
    from: { ...from, balance: from.balance - amount },
    to: { ...to, balance: to.balance + amount },
    amount,
    memo,
  };
}

/** A planned posting as it will read once written (an entry as a transfer's result shows it). */
export function postingOf(p: PlannedPosting): Posting {
  const entry = (id: number, account: Account, amount: number): Entry => ({
    id,
    accountId: account.id,
    amount,
    transferId: p.ids.transfer,
    createdAt: p.ids.createdAt,
  });
  return {
    transfer: {
      id: p.ids.transfer,
      fromAccountId: p.from.id,
      toAccountId: p.to.id,
      amount: p.amount,
      memo: p.memo,
      createdAt: p.ids.createdAt,
    },
    fromAccount: p.from,
    toAccount: p.to,
    fromEntry: entry(p.ids.fromEntry, p.from, -p.amount),
    toEntry: entry(p.ids.toEntry, p.to, p.amount),
  };
}

/**
 * Writes planned postings, in order: the transfer rows, a −amount and a +amount entry each
 * (with the balance after it), and every touched balance moved by its postings' sum (checked
 * against the planned balance, as the entries' balance_after), three
 * statements sent together (postgres.js pipelines the queries of one connection, and the server
 * runs them in order): one round trip however many postings. Every account must already be
 * locked by this transaction, and the callers' rules checked against the locked balances.
 */
export async function writePostings(tx: Transaction, planned: PlannedPosting[]): Promise<void> {
  if (planned.length === 0) return;
  const delta = new Map<number, number>();
  const finalBalance = new Map<number, number>();
  for (const { from, to, amount } of planned) {
    delta.set(from.id, (delta.get(from.id) ?? 0) - amount);
    delta.set(to.id, (delta.get(to.id) ?? 0) + amount);
    finalBalance.set(from.id, from.balance);
    finalBalance.set(to.id, to.balance);
  }
  // Each statement's rows go as ONE JSON parameter, so its text is the same for any number of
  // postings: prepared once per connection, and nothing to build per posting but the JSON.
  const [, , updated] = await Promise.all([
    tx.execute(
      sql`insert into ${transfers} (id, from_account_id, to_account_id, amount, memo)
        select id, from_account_id, to_account_id, amount, memo
        from json_to_recordset(${JSON.stringify(
          planned.map((p) => ({
            id: p.ids.transfer,
            from_account_id: p.from.id,
            to_account_id: p.to.id,
            amount: p.amount,
            memo: p.memo,
          })),
        )}::json) as r(id bigint, from_account_id bigint, to_account_id bigint, amount bigint, memo text)`,
    ),
    tx.execute(
      sql`insert into ${entries} (id, account_id, amount, transfer_id, balance_after)
        select id, account_id, amount, transfer_id, balance_after
        from json_to_recordset(${JSON.stringify(
          planned.flatMap((p) => [
            {
              id: p.ids.fromEntry,
              account_id: p.from.id,
              amount: -p.amount,
              transfer_id: p.ids.transfer,
              balance_after: p.from.balance,
            },
            {
              id: p.ids.toEntry,
              account_id: p.to.id,
              amount: p.amount,
              transfer_id: p.ids.transfer,
              balance_after: p.to.balance,
            },
          ]),
        )}::json) as r(id bigint, account_id bigint, amount bigint, transfer_id bigint, balance_after bigint)`,
    ),
    tx.execute<{ id: string; balance: string }>(
      sql`update ${accounts} set balance = ${accounts}.balance + d.delta
        from json_to_recordset(${JSON.stringify(
          [...delta].map(([id, change]) => ({ id, delta: change })),
        )}::json) as d(id bigint, delta bigint)
        where ${accounts}.id = d.id
        returning ${accounts}.id, ${accounts}.balance`,
    ),
  ]);
  // The balances were planned from the locked rows, and the entries' balance_after with them:
  // any other result is a bug, never a caller's error.
  for (const row of updated) {
    const id = Number(row.id);
    if (Number(row.balance) !== finalBalance.get(id)) throw new Error(`balance drift: ${id}`);
  }
  if (updated.length !== delta.size) throw new Error("a locked account vanished");
}
