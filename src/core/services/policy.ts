import { ForbiddenError } from "../domain/errors.ts";
import type { Account, Actor } from "../domain/types.ts";
import { SYSTEM_USERNAME } from "../domain/users.ts";

/**
 * Who may see or do what (contract, "Roles"). A banker may read any account and transfer and
 * post deposits and withdrawals; nobody, banker included, moves money out of a customer
 * account they do not own.
 */
function isBanker(actor: { role?: string }): boolean {
  return actor.role === "banker";
}

export function canViewAccount(actor: Actor, account: Pick<Account, "owner">): boolean {
  return isBanker(actor) || account.owner === actor.username;
}

/** A transfer is visible to the owner of either side, or a banker. */
export function canViewTransfer(actor: Actor, owners: { from: string; to: string }): boolean {
  return isBanker(actor) || owners.from === actor.username || owners.to === actor.username;
}

export function assertCanViewAccount(actor: Actor, account: Pick<Account, "owner">): void {
  if (!canViewAccount(actor, account)) {
    throw new ForbiddenError("this account belongs to another user");
  }
}

export function assertCanListAccountsOf(actor: Actor, owner: string): void {
  if (!isBanker(actor) && owner !== actor.username) {
    throw new ForbiddenError("only bankers may list other users' accounts");
  }
}

/** `actor`: the caller as its token says, or its role as the database says. */
export function assertBanker(actor: { role?: string }, action: string): void {
  if (!isBanker(actor)) throw new ForbiddenError(`only bankers may ${action}`);
}

/** The reserved system user `bank` (it owns the treasuries): nobody logs in as it or changes it. */
export function isSystemUser(username: string): boolean {
  return username === SYSTEM_USERNAME;
}

export function assertNotSystemUser(username: string): void {
  if (isSystemUser(username)) throw new ForbiddenError("the system user cannot be changed");
}

/** A depositor may update only themself, a banker anyone (but the system user). */
export function assertCanUpdateUser(actor: Actor, username: string): void {
  if (actor.username !== username && !isBanker(actor)) {
    throw new ForbiddenError("you may only update your own user");
  }
  assertNotSystemUser(username);
}

export function assertCanMoveMoneyFrom(actor: Actor, account: Pick<Account, "owner">): void {
  if (account.owner !== actor.username) {
    throw new ForbiddenError("money can only be moved out of your own account");
  }
}
