import { and, eq, inArray, or, type SQL } from "drizzle-orm";
import { PgTransaction } from "drizzle-orm/pg-core";
import type { z } from "zod";
import type { Transaction } from "../db/client.ts";
import { isUnavailableError } from "../db/errors.ts";
import { accounts, transfers, users } from "../db/schema.ts";
import {
  BusinessRuleError,
  DomainError,
  ForbiddenError,
  NotFoundError,
  RecipientNotFoundError,
} from "../domain/errors.ts";
import { idRule } from "../domain/ids.ts";
import { amountRule, type Currency, currencyRule } from "../domain/money.ts";
import type { ListQuery } from "../domain/paging.ts";
import {
  memoRule,
  recipientRequiredRule,
  recipientTwiceRule,
  type TransferInput,
} from "../domain/transfers.ts";
import type { Account, AccountView, Actor, Transfer, TransferResult } from "../domain/types.ts";
import { usernameRule } from "../domain/users.ts";
import { createGroupCommit, type GroupResult } from "../lib/group-commit.ts";
import { getAccount } from "./accounts.ts";
import {
  type ActorContext,
  inTransaction,
  type PendingTransfer,
  type TransferGroups,
  type TransferOutcome,
} from "./context.ts";
import {
  claimIdempotencyKeys,
  type IdempotentCall,
  storeIdempotencyResults,
  withIdempotencyKey,
} from "./idempotency.ts";
import {
  customerAccountOf,
  drawPostingIds,
  lockAccounts,
  type PlannedPosting,
  type Posting,
  type PostingIds,
  plannedPosting,
  postingOf,
  treasuryId,
  writePostings,
} from "./ledger.ts";
import { type Listed, listWindow } from "./pagination.ts";
import { assertBanker, assertCanMoveMoneyFrom, canViewAccount, canViewTransfer } from "./policy.ts";
import { assertValid } from "./validation.ts";

/** Group commit for transfers (see `lib/group-commit.ts`), at most `maxGroup` a transaction. */
export function createTransferGroups(maxGroup: number): TransferGroups {
  return createGroupCommit({ maxGroup, settle: settleGroup });
}

/**
 * Moves `amount` between two customer accounts in one transaction. Rules, in the contract's
 * order, all checked under the row locks: from missing 404 → from currency ≠ request 422
 * `currency_mismatch` → from is a treasury 422 `invalid_account` → from not the caller's 403 →
 * to missing 404 (by username: 404 `recipient_not_found`) → to currency ≠ request 422 → to is a
 * treasury 422 `invalid_account` → from = to 422 `same_account` → balance too low 422
 * `insufficient_funds`. With an Idempotency-Key, its rules come before them all.
 *
 * A recipient named by `toUsername` is that user's customer account in `currency`, found and
 * locked by the same statement as the other accounts (an account's owner and currency never
 * change); nothing about the recipient is disclosed but what a transfer by id shows (no
 * balance, no other accounts).
 *
 * With `ctx.transferGroups`, the transfer is settled in its group's transaction (or alone right
 * after it, when another transaction holds one of its accounts); each answer is the one it would
 * get alone, run after the transfers before it in the group.
 */
export async function transfer(ctx: ActorContext, input: TransferInput): Promise<TransferOutcome> {
  assertValid([
    ["from_account_id", idRule, input.fromAccountId],
    ...recipientRules(input),
    ["amount", amountRule, input.amount],
    ["currency", currencyRule, input.currency],
    ...(input.memo === undefined ? [] : [["memo", memoRule, input.memo] as Rule]),
  ]);
  const pending = { ctx, input };
  if (ctx.transferGroups && !(ctx.db instanceof PgTransaction)) {
    return ctx.transferGroups.submit(ctx.db, pending);
  }
  return settleAlone(pending);
}

/** One transfer in a transaction of its own, waiting for its accounts' locks as long as it takes. */
async function settleAlone(pending: PendingTransfer): Promise<TransferOutcome> {
  const [outcome] = await inTransaction(pending.ctx, (tx) => postTransfers(tx, [pending], "wait"));
  if (outcome?.status === "rejected") throw outcome.reason;
  if (outcome?.status !== "fulfilled") throw new Error("a transfer alone was not settled");
  return outcome.value;
}

/**
 * Settles a group of transfers in one transaction (on the first one's database handle), one
 * answer each, without waiting on a lock that another transaction holds: a transfer whose
 * account is locked elsewhere (or missing) is settled alone once the group has committed, and
 * the next group does not wait for it. Should the group's transaction fail before its commit
 * (a bug, a value the rules let through but a constraint does not, a connection cut, at BEGIN
 * too), nothing of it was written, and each transfer is settled again alone, so that the
 * failure stays with the transfer that caused it.
 */
async function settleGroup(group: PendingTransfer[]): Promise<GroupResult<TransferOutcome>[]> {
  const [first] = group;
  if (!first) return [];
  let committing = false;
  let settled: Settlement[];
  try {
    settled = await inTransaction(first.ctx, async (tx) => {
      committing = false;
      const outcomes = await postTransfers(tx, group, "skip-locked");
      committing = true;
      return outcomes;
    });
  } catch (error) {
    // A failure at COMMIT leaves the outcome unknown: nothing may run twice, so every transfer
    // of the group gets it, as a transfer alone would.
    if (group.length === 1 || committing) throw error;
    if (!isUnavailableError(error)) {
      first.ctx.logger.warn("a transfer group failed; settling each transfer alone", { error });
    }
    return group.map((pending) => ({ status: "later", result: settleAlone(pending) }));
  }
  return settled.map((settlement, i) => {
    const pending = group[i];
    if (settlement.status !== "deferred") return settlement;
    if (!pending) throw new Error("a transfer of the group went missing");
    return { status: "later", result: settleAlone(pending) };
  });
}

/** A transfer's answer from its group's transaction, or deferred: to be settled alone. */
type Settlement = PromiseSettledResult<TransferOutcome> | { status: "deferred" };

/**
 * The group's transfers in order, inside its transaction, in two round trips: every key
 * claimed, every account locked (by id, and the payees by username; one statement, ascending
 * ids) and the postings' ids drawn, together; then, with the rules checked for each transfer in
 * turn against the balances the transfers before it left, the accepted ones written and their
 * keys stored, together.
 */
async function postTransfers(
  tx: Transaction,
  group: PendingTransfer[],
  locking: "wait" | "skip-locked",
): Promise<Settlement[]> {
  const outcomes: Settlement[] = new Array(group.length);
  const keyed = group.flatMap((pending, index) =>
    pending.input.idempotencyKey === undefined ? [] : [{ index, call: keyCall(pending) }],
  );
  const [claims, balances, ids] = await Promise.all([
    claimIdempotencyKeys(
      tx,
      keyed.map(({ call }) => call),
    ),
    lockAccounts(
      tx,
      group.flatMap(({ input }) =>
        input.toAccountId === undefined
          ? [input.fromAccountId]
          : [input.fromAccountId, input.toAccountId],
      ),
      group.flatMap(({ input }) =>
        input.toUsername === undefined
          ? []
          : [{ owner: input.toUsername, currency: input.currency }],
      ),
      { skipLocked: locking === "skip-locked" },
    ),
    drawPostingIds(tx, group.length),
  ]);
  const keyOf = new Map(keyed.map(({ index, call }, i) => [index, { call, claim: claims[i] }]));

  const accepted: { index: number; pending: PendingTransfer; posting: PlannedPosting }[] = [];
  group.forEach((pending, index) => {
    const claim = keyOf.get(index)?.claim;
    if (claim && "error" in claim) {
      outcomes[index] = { status: "rejected", reason: claim.error };
      return;
    }
    if (claim && "replayed" in claim) {
      outcomes[index] = { status: "fulfilled", value: { result: claim.replayed, replayed: true } };
      return;
    }
    if (locking === "skip-locked" && !sidesLocked(pending.input, balances)) {
      outcomes[index] = { status: "deferred" };
      return;
    }
    const postingIds = ids[accepted.length];
    if (!postingIds) throw new Error("a transfer of the group went missing");
    try {
      const posting = checkTransfer(pending, postingIds, balances);
      balances.set(posting.from.id, posting.from);
      balances.set(posting.to.id, posting.to);
      accepted.push({ index, pending, posting });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      outcomes[index] = { status: "rejected", reason: error };
    }
  });

  const stored: Parameters<typeof storeIdempotencyResults<TransferResult>>[1] = [];
  for (const { index, pending, posting } of accepted) {
    const result = present(pending.ctx.actor, postingOf(posting));
    outcomes[index] = { status: "fulfilled", value: { result, replayed: false } };
    const key = keyOf.get(index);
    if (key?.claim && "fingerprint" in key.claim) {
      stored.push({ call: key.call, fingerprint: key.claim.fingerprint, value: result });
    }
  }
  await Promise.all([
    writePostings(
      tx,
      accepted.map(({ posting }) => posting),
    ),
    storeIdempotencyResults(tx, stored),
  ]);
  return outcomes;
}

/** Whether both of a transfer's accounts are among the locked ones (else: locked elsewhere, or missing). */
function sidesLocked(input: TransferInput, locked: Map<number, Account>): boolean {
  return locked.has(input.fromAccountId) && recipientOf(input, locked) !== undefined;
}

/** The transfer's to account among the locked ones: by id, or the payee's by username. */
function recipientOf(input: TransferInput, locked: Map<number, Account>): Account | undefined {
  if (input.toUsername !== undefined) {
    return customerAccountOf(locked, { owner: input.toUsername, currency: input.currency });
  }
  return input.toAccountId === undefined ? undefined : locked.get(input.toAccountId);
}

/** One transfer's rules, in the contract's order, against the balances as they stand now. */
function checkTransfer(
  { ctx, input }: PendingTransfer,
  ids: PostingIds,
  balances: Map<number, Account>,
): PlannedPosting {
  const from = balances.get(input.fromAccountId);
  if (!from) throw new NotFoundError("from account");
  assertCurrency(from, input.currency, "from");
  assertCustomerAccount(from, "from");
  assertCanMoveMoneyFrom(ctx.actor, from);
  const to = recipientOf(input, balances);
  if (!to) {
    if (input.toUsername === undefined) throw new NotFoundError("to account");
    throw new RecipientNotFoundError(input.toUsername, input.currency);
  }
  assertCurrency(to, input.currency, "to");
  assertCustomerAccount(to, "to");
  if (from.id === to.id) {
    throw new BusinessRuleError("same_account", "cannot transfer to the same account");
  }
  assertFunds(from, input.amount);
  return plannedPosting(ids, from, to, input.amount, input.memo ?? null);
}

/** A transfer's Idempotency-Key call; absent fields are left out, so old requests hash alike. */
function keyCall({ ctx, input }: PendingTransfer): IdempotentCall<TransferResult> {
  return {
    owner: ctx.actor.username,
    key: input.idempotencyKey ?? "",
    operation: "transfer",
    request: {
      from_account_id: input.fromAccountId,
      to_account_id: input.toAccountId,
      to_username: input.toUsername,
      amount: input.amount,
      currency: input.currency,
      memo: input.memo,
    },
    encode: (result) => result,
    decode: reviveTransferResult,
  };
}

/**
 * Runs a cash movement inside its transaction: without a key as is; with one through
 * `withIdempotencyKey`, so the key is stored in the movement's own transaction.
 */
async function withOptionalKey(
  tx: Transaction,
  actor: Actor,
  key: string | undefined,
  operation: string,
  request: Record<string, unknown>,
  execute: () => Promise<TransferResult>,
): Promise<{ result: TransferResult; replayed: boolean }> {
  if (key === undefined) return { result: await execute(), replayed: false };
  const { value, replayed } = await withIdempotencyKey(
    tx,
    {
      owner: actor.username,
      key,
      operation,
      request,
      encode: (result: TransferResult) => result,
      decode: reviveTransferResult,
    },
    execute,
  );
  return { result: value, replayed };
}

type Rule = [field: string, rule: z.ZodType, value: unknown];

/** Exactly one of `to_account_id` and `to_username`, each against its own rule. */
function recipientRules(input: TransferInput): Rule[] {
  if (input.toUsername === undefined) {
    return input.toAccountId === undefined
      ? [["to_account_id", recipientRequiredRule, undefined]]
      : [["to_account_id", idRule, input.toAccountId]];
  }
  return input.toAccountId === undefined
    ? [["to_username", usernameRule, input.toUsername]]
    : [["to_username", recipientTwiceRule, input.toUsername]];
}

export interface CashInput {
  accountId: number;
  amount: number;
  currency: Currency;
  /** Optional Idempotency-Key, with a transfer's semantics (operation and account hashed in). */
  idempotencyKey?: string;
}

type CashResult = { result: TransferResult; replayed: boolean };

/** Banker only: cash in, as a transfer from the currency's treasury to a customer account. */
export function deposit(ctx: ActorContext, input: CashInput): Promise<CashResult> {
  return moveCash(ctx, input, "in");
}

/** Banker only: cash out, as a transfer from a customer account to the treasury (funds checked). */
export function withdraw(ctx: ActorContext, input: CashInput): Promise<CashResult> {
  return moveCash(ctx, input, "out");
}

/**
 * Deposits and withdrawals: the account and its currency's treasury, locked in id order. The
 * caller's role is checked against the token first, then again against the database inside the
 * transaction (the user row locked FOR SHARE, so a concurrent role change waits for this commit):
 * money moves only on the role that holds at commit. With an Idempotency-Key the operation
 * ("deposit" or "withdrawal") and the account id are part of the fingerprint.
 */
async function moveCash(
  ctx: ActorContext,
  input: CashInput,
  direction: "in" | "out",
): Promise<CashResult> {
  const { actor } = ctx;
  const action = direction === "in" ? "post deposits" : "post withdrawals";
  assertBanker(actor, action);
  validateCash(input);
  const execute = async (tx: Transaction) => {
    const [caller] = await tx
      .select({ role: users.role })
      .from(users)
      .where(eq(users.username, actor.username))
      .for("share");
    assertBanker({ role: caller?.role }, action);
    const bankId = await treasuryId(tx, input.currency);
    const [locked, [ids]] = await Promise.all([
      lockAccounts(tx, [bankId, input.accountId]),
      drawPostingIds(tx, 1),
    ]);
    const account = checkCashAccount(locked.get(input.accountId), input.currency);
    const treasury = locked.get(bankId);
    if (!treasury || !ids) throw new Error("treasury account vanished");
    if (direction === "out") assertFunds(account, input.amount);
    const posting =
      direction === "in"
        ? plannedPosting(ids, treasury, account, input.amount)
        : plannedPosting(ids, account, treasury, input.amount);
    await writePostings(tx, [posting]);
    return present(actor, postingOf(posting));
  };
  return inTransaction(ctx, (tx) =>
    withOptionalKey(
      tx,
      actor,
      input.idempotencyKey,
      direction === "in" ? "deposit" : "withdrawal",
      { account_id: input.accountId, amount: input.amount, currency: input.currency },
      () => execute(tx),
    ),
  );
}

/** 404 if missing; 403 unless the caller owns either side or is a banker. */
export async function getTransfer(ctx: ActorContext, id: number): Promise<Transfer> {
  assertValid([["id", idRule, id]]);
  const [row] = await ctx.db.select().from(transfers).where(eq(transfers.id, id));
  if (!row) throw new NotFoundError("transfer");
  const sides = await ctx.db
    .select({ id: accounts.id, owner: accounts.owner })
    .from(accounts)
    .where(inArray(accounts.id, [row.fromAccountId, row.toAccountId]));
  const ownerOf = (accountId: number) => sides.find((o) => o.id === accountId)?.owner ?? "";
  const owners = { from: ownerOf(row.fromAccountId), to: ownerOf(row.toAccountId) };
  if (!canViewTransfer(ctx.actor, owners)) {
    throw new ForbiddenError("this transfer is not between your accounts");
  }
  return row;
}

/**
 * Transfers with the account on either side (the account's visibility rules apply), or
 * without `accountId` those touching any of the caller's own accounts (a banker's too): in id
 * order (`desc`: newest first), within a time range, page or cursor paginated.
 */
export async function listTransfers(
  ctx: ActorContext,
  input: ListQuery & { accountId?: number },
): Promise<Listed<Transfer>> {
  const window = listWindow(input, { id: transfers.id, createdAt: transfers.createdAt });
  let touching: SQL | undefined;
  if (input.accountId === undefined) {
    const mine = ctx.db
      .select({ id: accounts.id })
      .from(accounts)
      .where(eq(accounts.owner, ctx.actor.username));
    touching = or(inArray(transfers.fromAccountId, mine), inArray(transfers.toAccountId, mine));
  } else {
    assertValid([["account_id", idRule, input.accountId]]);
    await getAccount(ctx, input.accountId);
    touching = or(
      eq(transfers.fromAccountId, input.accountId),
      eq(transfers.toAccountId, input.accountId),
    );
  }
  const rows = await ctx.db
    .select()
    .from(transfers)
    .where(and(touching, window.where))
    .orderBy(window.orderBy)
    .limit(window.fetch)
    .offset(window.offset);
  return window.listed(rows);
}

function validateCash(input: CashInput): void {
  assertValid([
    ["amount", amountRule, input.amount],
    ["currency", currencyRule, input.currency],
  ]);
  assertValid([["id", idRule, input.accountId]]);
}

function checkCashAccount(account: Account | undefined, currency: Currency): Account {
  if (!account) throw new NotFoundError("account");
  assertCustomerAccount(account, "the");
  assertCurrency(account, currency, "the");
  return account;
}

function assertCurrency(account: Account, currency: Currency, side: string): void {
  if (account.currency !== currency) {
    throw new BusinessRuleError(
      "currency_mismatch",
      `${side} account ${account.id} holds ${account.currency}, not ${currency}`,
    );
  }
}

function assertCustomerAccount(account: Account, side: string): void {
  if (account.kind !== "customer") {
    throw new BusinessRuleError(
      "invalid_account",
      `${side} account ${account.id} is a treasury account`,
    );
  }
}

function assertFunds(account: Account, amount: number): void {
  if (account.balance < amount) {
    throw new BusinessRuleError(
      "insufficient_funds",
      `account ${account.id} has insufficient funds for this amount`,
    );
  }
}

/** The contract's result; the recipient's balance only for its owner or a banker. */
function present(actor: Actor, posting: Posting): TransferResult {
  const hideBalance = (account: Account): AccountView => {
    if (canViewAccount(actor, account)) return account;
    const { balance: _hidden, ...rest } = account;
    return rest;
  };
  return {
    transfer: posting.transfer,
    fromAccount: posting.fromAccount,
    toAccount: hideBalance(posting.toAccount),
    fromEntry: posting.fromEntry,
    toEntry: posting.toEntry,
  };
}

/** Stored results come back from jsonb with ISO strings where Dates were. */
function reviveTransferResult(stored: unknown): TransferResult {
  const r = stored as Record<string, Record<string, unknown>>;
  const revive = <T>(part: Record<string, unknown> | undefined): T =>
    ({ ...part, createdAt: new Date(String(part?.createdAt)) }) as T;
  return {
    transfer: revive(r.transfer),
    fromAccount: revive(r.fromAccount),
    toAccount: revive(r.toAccount),
    fromEntry: revive(r.fromEntry),
    toEntry: revive(r.toEntry),
  };
}
