import type { ListQuery, Order } from "../domain/paging.ts";
import type {
  Account,
  AccountView,
  Entry,
  LoginResult,
  SessionInfo,
  StatementEntry,
  TokenPair,
  Transfer,
  TransferResult,
  User,
} from "../domain/types.ts";

/**
 * Domain objects → the contract's JSON (snake_case, RFC 3339 UTC timestamps). API shapes are
 * defined here and in openapi/schemas.ts, never derived from table definitions.
 */

/** RFC 3339 in UTC with `Z`, fractional seconds only when present (as Go's RFC3339Nano). */
function timestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.0+Z$/, "Z")
    .replace(/(\.\d*?)0+Z$/, "$1Z");
}

export function userJson(user: User) {
  return {
    username: user.username,
    full_name: user.fullName,
    email: user.email,
    role: user.role,
    is_email_verified: user.isEmailVerified,
    password_changed_at: timestamp(user.passwordChangedAt),
    created_at: timestamp(user.createdAt),
  };
}

export function accountJson(account: Account) {
  return {
    id: account.id,
    owner: account.owner,
    balance: account.balance,
    currency: account.currency,
    created_at: timestamp(account.createdAt),
  };
}

/** An account whose balance the caller may not see (a transfer's recipient): no `balance`. */
function accountViewJson(account: AccountView) {
  return {
    id: account.id,
    owner: account.owner,
    ...(account.balance === undefined ? {} : { balance: account.balance }),
    currency: account.currency,
    created_at: timestamp(account.createdAt),
  };
}

function entryJson(entry: Entry) {
  return {
    id: entry.id,
    account_id: entry.accountId,
    amount: entry.amount,
    transfer_id: entry.transferId,
    created_at: timestamp(entry.createdAt),
  };
}

export function statementEntryJson(entry: StatementEntry) {
  return {
    ...entryJson(entry),
    balance_after: entry.balanceAfter,
    kind: entry.kind,
    counterparty_account_id: entry.counterpartyAccountId,
    counterparty_owner: entry.counterpartyOwner,
    memo: entry.memo,
  };
}

/** A list route's validated query (snake_case) as the services take it. */
export function listQueryOf(query: {
  page_id?: number;
  page_size?: number;
  limit?: number;
  starting_after?: number;
  order?: Order;
  from?: Date;
  to?: Date;
}): ListQuery {
  return {
    pageId: query.page_id,
    pageSize: query.page_size,
    limit: query.limit,
    startingAfter: query.starting_after,
    order: query.order,
    from: query.from,
    to: query.to,
  };
}

export function transferJson(transfer: Transfer) {
  return {
    id: transfer.id,
    from_account_id: transfer.fromAccountId,
    to_account_id: transfer.toAccountId,
    amount: transfer.amount,
    memo: transfer.memo,
    created_at: timestamp(transfer.createdAt),
  };
}

export function transferResultJson(result: TransferResult) {
  return {
    transfer: transferJson(result.transfer),
    from_account: accountViewJson(result.fromAccount),
    to_account: accountViewJson(result.toAccount),
    from_entry: entryJson(result.fromEntry),
    to_entry: entryJson(result.toEntry),
  };
}

export function sessionJson(session: SessionInfo) {
  return {
    session_id: session.sessionId,
    user_agent: session.userAgent,
    client_ip: session.clientIp,
    created_at: timestamp(session.createdAt),
    renewed_at: session.renewedAt === null ? null : timestamp(session.renewedAt),
    expires_at: timestamp(session.expiresAt),
    current: session.current,
  };
}

export function tokenPairJson(pair: TokenPair) {
  return {
    access_token: pair.accessToken,
    access_token_expires_at: timestamp(pair.accessTokenExpiresAt),
    refresh_token: pair.refreshToken,
    refresh_token_expires_at: timestamp(pair.refreshTokenExpiresAt),
  };
}

export function loginJson(result: LoginResult) {
  return {
    session_id: result.sessionId,
    ...tokenPairJson(result),
    user: userJson(result.user),
  };
}
