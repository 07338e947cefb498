import type { Currency } from "./money.ts";

export const ROLES = ["depositor", "banker"] as const;
export type Role = (typeof ROLES)[number];

/** Who is asking: every service call that touches someone's data takes one. */
export interface Actor {
  username: string;
  role: Role;
}

export type AccountKind = "customer" | "treasury";

export interface Account {
  id: number;
  owner: string;
  kind: AccountKind;
  balance: number;
  currency: Currency;
  createdAt: Date;
}

/** An account as shown to someone who may not see its balance (a transfer's recipient). */
export type AccountView = Omit<Account, "balance"> & { balance?: number };

export interface Entry {
  id: number;
  accountId: number;
  amount: number;
  transferId: number;
  createdAt: Date;
}

export type EntryKind = "transfer_in" | "transfer_out" | "deposit" | "withdrawal";

/** An entry as an account's statement shows it. */
export interface StatementEntry extends Entry {
  /** The account's balance right after this entry (written with it). */
  balanceAfter: number;
  kind: EntryKind;
  /** The other side of the entry's transfer. */
  counterpartyAccountId: number;
  /** Its owner (`bank` for cash). */
  counterpartyOwner: string;
  memo: string | null;
}

export interface Transfer {
  id: number;
  fromAccountId: number;
  toAccountId: number;
  amount: number;
  /** The payer's description; null when none was given. */
  memo: string | null;
  createdAt: Date;
}

/** The contract's transfer result object. */
export interface TransferResult {
  transfer: Transfer;
  fromAccount: AccountView;
  toAccount: AccountView;
  fromEntry: Entry;
  toEntry: Entry;
}

export interface Page {
  pageId: number;
  pageSize: number;
}

export interface User {
  username: string;
  fullName: string;
  email: string;
  role: Role;
  isEmailVerified: boolean;
  /** 0001-01-01T00:00:00Z until the first password change. */
  passwordChangedAt: Date;
  createdAt: Date;
}

/** A caller proven by an access token: who, with which role, in which session. */
export interface AuthenticatedActor extends Actor {
  sessionId: string;
}

/** Where a login comes from, recorded on its session. */
export interface ClientInfo {
  userAgent: string;
  clientIp: string;
}

export interface TokenPair {
  accessToken: string;
  accessTokenExpiresAt: Date;
  refreshToken: string;
  refreshTokenExpiresAt: Date;
}

export interface LoginResult extends TokenPair {
  sessionId: string;
  user: User;
}

/** One of a user's active sessions, as its owner sees it. */
export interface SessionInfo {
  sessionId: string;
  userAgent: string;
  clientIp: string;
  createdAt: Date;
  /** The last renewal of its tokens; null before the first. */
  renewedAt: Date | null;
  expiresAt: Date;
  /** The session of the token asking. */
  current: boolean;
}
