import { and, asc, eq } from "drizzle-orm";
import { isConstraintViolation } from "../db/errors.ts";
import { accounts, entries } from "../db/schema.ts";
import { ConflictError, NotFoundError } from "../domain/errors.ts";
import { idRule } from "../domain/ids.ts";
import { type Currency, currencyRule } from "../domain/money.ts";
import type { Account, Entry, Page } from "../domain/types.ts";
import type { ActorContext } from "./context.ts";
import { toAccount } from "./ledger.ts";
import { pageWindow } from "./pagination.ts";
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

/** 404 if missing, 403 unless the caller owns it or is a banker. */
export async function getAccount(ctx: ActorContext, id: number): Promise<Account> {
  assertValid([["id", idRule, id]]);
  const [row] = await ctx.db.select().from(accounts).where(eq(accounts.id, id));
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

/** An account's statement: its entries by id, with the account's own visibility rules. */
export async function listEntries(
  ctx: ActorContext,
  input: { accountId: number; page?: Page },
): Promise<Entry[]> {
  const { limit, offset } = pageWindow(input.page);
  await getAccount(ctx, input.accountId);
  return ctx.db
    .select()
    .from(entries)
    .where(and(eq(entries.accountId, input.accountId)))
    .orderBy(asc(entries.id))
    .limit(limit)
    .offset(offset);
}
