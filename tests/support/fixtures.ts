import { and, eq } from "drizzle-orm";
import { accounts, users } from "../../src/core/db/schema.ts";
import { DomainError } from "../../src/core/domain/errors.ts";
import type { Currency } from "../../src/core/domain/money.ts";
import type { Account, Actor, Role } from "../../src/core/domain/types.ts";
import { createAccount } from "../../src/core/services/accounts.ts";
import { toAccount } from "../../src/core/services/ledger.ts";
import { deposit } from "../../src/core/services/transfers.ts";
import type { TestContext } from "./database.ts";

/** Unique per call, so tests never see each other's rows. */
export function uniqueName(prefix = "u"): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
}

/**
 * Inserts a user row (users get their own service and routes with the REST API; the ledger
 * tests only need owners). The hash is a placeholder: these users never log in.
 */
export async function createUser(deps: TestContext, role: Role = "depositor"): Promise<Actor> {
  const username = uniqueName();
  await deps.db.insert(users).values({
    username,
    hashedPassword: "!",
    fullName: "Test User",
    email: `${username}@example.com`,
    role,
  });
  return { username, role };
}

/** An account and its owner, as `openAccount` makes them. */
export interface Holder {
  owner: Actor;
  account: Account;
}

/** An account in `currency` (USD by default) for `owner`, or for a new user. */
export async function openAccount(
  deps: TestContext,
  currency: Currency = "USD",
  owner?: Actor,
): Promise<Holder> {
  const actor = owner ?? (await createUser(deps));
  return { owner: actor, account: await createAccount({ ...deps, actor }, { currency }) };
}

let banker: Actor | undefined;

/** Funds an account the only legitimate way: a banker's deposit from the treasury. */
export async function fund(deps: TestContext, account: Account, amount: number): Promise<void> {
  banker ??= await createUser(deps, "banker");
  await deposit(
    { ...deps, actor: banker },
    { accountId: account.id, amount, currency: account.currency },
  );
}

/**
 * Two new owners, each with an account in `currency` (USD by default), `from`'s opened first;
 * then `from`'s account funded with the `from` amount and `to`'s with the `to` amount (`fund`,
 * in that order). An account given no amount is left at 0.
 */
export async function fundedPair(
  deps: TestContext,
  { currency = "USD", from, to }: { currency?: Currency; from?: number; to?: number } = {},
): Promise<{ from: Holder; to: Holder }> {
  const pair = { from: await openAccount(deps, currency), to: await openAccount(deps, currency) };
  if (from !== undefined) await fund(deps, pair.from.account, from);
  if (to !== undefined) await fund(deps, pair.to.account, to);
  return pair;
}

export async function balanceOf(deps: TestContext, accountId: number): Promise<number> {
  const [row] = await deps.db
    .select({ balance: accounts.balance })
    .from(accounts)
    .where(eq(accounts.id, accountId));
  if (!row) throw new Error(`account ${accountId} not found`);
  return row.balance;
}

export async function treasuryAccount(deps: TestContext, currency: Currency): Promise<Account> {
  const [row] = await deps.db
    .select()
    .from(accounts)
    .where(and(eq(accounts.kind, "treasury"), eq(accounts.currency, currency)));
  if (!row) throw new Error(`no ${currency} treasury`);
  return toAccount(row);
}

/** Resolves to the domain error code the promise rejected with (fails if it resolved). */
export async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
  throw new Error("expected the call to fail");
}
