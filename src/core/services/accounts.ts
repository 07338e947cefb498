import { and, asc, eq, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import { isConstraintViolation } from "../db/errors.ts";
import { preparedQuery } from "../db/prepared.ts";
import { accounts, entries, transfers } from "../db/schema.ts";
import { ConflictError, NotFoundError } from "../domain/errors.ts";
import { idRule } from "../domain/ids.ts";
import { type Currency, currencyRule } from "../domain/money.ts";
import type { ListQuery } from "../domain/paging.ts";
import type { Account, EntryKind, Page, StatementEntry } from "../domain/types.ts";
import type { ActorContext } from "./context.ts";
import { toAccount } from "./ledger.ts";
import { type Listed, listWindow, pageWindow } from "./pagination.ts";
import { assertCanListAccountsOf, assertCanViewAccount } from "./policy.ts";
import { assertValid } from "./validation.ts";

/** Opens the caller's account in `currency` with balance 0 (one per owner and currency). */
export async function createAccount(
  ctx: ActorContext,
  input: { currency: Currency },
): Promise<Account> {
  assertValid([["currency", currencyRule, input.currency]]);
  try {
    const [row] = await ctx.db
      .insert(accounts)
      .values({ owner: ctx.actor.username, currency: input.currency, balance: 0 })
      .returning();
    if (!row) throw new Error("insert into accounts returned no row");
    return toAccount(row);
  } catch (error) {
    if (isConstraintViolation(error, "owner_currency_key")) {
      throw new ConflictError("account_exists", `you already have a ${input.currency} account`);
    }
    if (isConstraintViolation(error, "accounts_owner_users_username_fk")) {
      throw new NotFoundError("user");
    }
    throw error;
  }
}

/** One account by id (prepared: the hot read). */
const accountById = preparedQuery((db) =>
  db
    .select()
    .from(accounts)
    .where(eq(accounts.id, sql.placeholder("id")))
    .prepare("account_by_id"),
);

/** 404 if missing, 403 unless the caller owns it or is a banker. */
export async function getAccount(ctx: ActorContext, id: number): Promise<Account> {
  assertValid([["id", idRule, id]]);
  const [row] = await accountById(ctx.db).execute({ id });
  if (!row) throw new NotFoundError("account");
  const account = toAccount(row);
  assertCanViewAccount(ctx.actor, account);
  return account;
}

/** The accounts of `owner` (default: the caller; others only for bankers), by id. */
export async function listAccounts(
  ctx: ActorContext,
  input: { owner?: string; page?: Page } = {},
): Promise<Account[]> {
  const owner = input.owner ?? ctx.actor.username;
  const { limit, offset } = pageWindow(input.page);
  assertCanListAccountsOf(ctx.actor, owner);
  const rows = await ctx.db
    .select()
    .from(accounts)
    .where(eq(accounts.owner, owner))
    .orderBy(asc(accounts.id))
    .limit(limit)
    .offset(offset);
  return rows.map(toAccount);
}

/**
 * An account's statement (the account's own visibility rules): its entries with the balance
 * after each, their kind, the counterparty account and its owner, and the transfer's memo;
 * filtered by time range, in id order (`desc` for newest first), page or cursor paginated.
 */
export async function statement(
  ctx: ActorContext,
  input: ListQuery & { accountId: number },
): Promise<Listed<StatementEntry>> {
  const window = listWindow(input, { id: entries.id, createdAt: entries.createdAt });
  const account = await getAccount(ctx, input.accountId);
  const counterparty = alias(accounts, "counterparty");
  const rows = await ctx.db
    .select({
      entry: entries,
      memo: transfers.memo,
      counterpartyId: counterparty.id,
      counterpartyOwner: counterparty.owner,
      counterpartyKind: counterparty.kind,
    })
    .from(entries)
    .innerJoin(transfers, eq(transfers.id, entries.transferId))
    .innerJoin(
      counterparty,
      sql`${counterparty.id} = case when ${transfers.fromAccountId} = ${entries.accountId} then ${transfers.toAccountId} else ${transfers.fromAccountId} end`,
    )
    .where(and(eq(entries.accountId, account.id), window.where))
    .orderBy(window.orderBy)
    .limit(window.fetch)
    .offset(window.offset);
  const cash = (kind: string) => kind === "treasury" || account.kind === "treasury";
  const listed = window.listed(rows.map((r) => ({ ...r, id: r.entry.id })));
  return {
    ...listed,
    items: listed.items.map((r) => ({
      id: r.entry.id,
      accountId: r.entry.accountId,
      amount: r.entry.amount,
      transferId: r.entry.transferId,
      createdAt: r.entry.createdAt,
      balanceAfter: r.entry.balanceAfter,
      kind: entryKind(r.entry.amount, cash(r.counterpartyKind), account.kind === "treasury"),
      counterpartyAccountId: r.counterpartyId,
      counterpartyOwner: r.counterpartyOwner,
      memo: r.memo,
    })),
  };
}

/**
 * Cash is a transfer with a treasury: a deposit credits the customer (and debits the
 * treasury), a withdrawal the reverse; between customers, the sign says in or out.
 */
function entryKind(amount: number, cash: boolean, treasurySide: boolean): EntryKind {
  if (!cash) return amount > 0 ? "transfer_in" : "transfer_out";
  return amount > 0 !== treasurySide ? "deposit" : "withdrawal";
}
