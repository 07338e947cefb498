import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type FieldViolation, ValidationError } from "../domain/errors.ts";
import { DEFAULT_PAGE, type ListQuery, type Order } from "../domain/paging.ts";
import type {
  AccountView,
  Entry,
  Page,
  SessionInfo,
  StatementEntry,
  TokenPair,
  Transfer,
  TransferResult,
  User,
} from "../domain/types.ts";
import type { AccountSchema, EntrySchema, TransferSchema } from "./gen/pb/account_pb.ts";
import type { SessionSchema } from "./gen/pb/rpc_users_pb.ts";
import type { UserSchema } from "./gen/pb/user_pb.ts";

/**
 * Proto messages ⇄ domain objects. Amounts and ids are int64 on the wire (bigint) and `number`
 * in the domain, exact up to 2^53 − 1, far beyond every rule (amounts ≤ 10^12, balances
 * bounded by CHECKs): an int64 beyond that is InvalidArgument naming the field, and every
 * other rule is the services' own, as for REST. Timestamps are google.protobuf.Timestamp.
 */

const SAFE_RANGE = `must be an integer between ${Number.MIN_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`;

/**
 * int64 fields as numbers, keyed by their proto field names; throws ONE ValidationError
 * naming every field out of the exact range.
 */
export function int64Fields<K extends string>(fields: Record<K, bigint>): Record<K, number> {
  const violations: FieldViolation[] = [];
  const numbers = {} as Record<K, number>;
  for (const [field, value] of Object.entries(fields) as [K, bigint][]) {
    const number = Number(value);
    if (!Number.isSafeInteger(number)) violations.push({ field, message: SAFE_RANGE });
    numbers[field] = number;
  }
  if (violations.length > 0) throw new ValidationError(violations);
  return numbers;
}

/** A domain number as int64 (always exact: the domain holds safe integers only). */
export function int64(value: number): bigint {
  return BigInt(value);
}

/** A page from `page_id` / `page_size`; 0 (proto3's unset) is the default. */
export function pageOf(request: { pageId: number; pageSize: number }): Page {
  return {
    pageId: request.pageId === 0 ? DEFAULT_PAGE.pageId : request.pageId,
    pageSize: request.pageSize === 0 ? DEFAULT_PAGE.pageSize : request.pageSize,
  };
}

/**
 * Runs `work`, naming the fields of its validation errors as the proto does where the
 * service's name differs (GetAccount's `id` is ListEntries' `account_id`).
 */
export async function withFieldNames<T>(
  names: Record<string, string>,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new ValidationError(
      error.violations.map((v) => ({ ...v, field: names[v.field] ?? v.field })),
    );
  }
}

const timestamp = (date: Date): Timestamp => timestampFromDate(date);

export function userMessage(user: User): MessageInitShape<typeof UserSchema> {
  return {
    username: user.username,
    fullName: user.fullName,
    email: user.email,
    role: user.role,
    isEmailVerified: user.isEmailVerified,
    passwordChangedAt: timestamp(user.passwordChangedAt),
    createdAt: timestamp(user.createdAt),
  };
}

/** An account; `balance` unset when the caller may not see it (a transfer's recipient). */
export function accountMessage(account: AccountView): MessageInitShape<typeof AccountSchema> {
  return {
    id: int64(account.id),
    owner: account.owner,
    ...(account.balance === undefined ? {} : { balance: int64(account.balance) }),
    currency: account.currency,
    createdAt: timestamp(account.createdAt),
  };
}

function entryMessage(entry: Entry): MessageInitShape<typeof EntrySchema> {
  return {
    id: int64(entry.id),
    accountId: int64(entry.accountId),
    amount: int64(entry.amount),
    transferId: int64(entry.transferId),
    createdAt: timestamp(entry.createdAt),
  };
}

export function statementEntryMessage(entry: StatementEntry): MessageInitShape<typeof EntrySchema> {
  return {
    ...entryMessage(entry),
    balanceAfter: int64(entry.balanceAfter),
    kind: entry.kind,
    counterpartyAccountId: int64(entry.counterpartyAccountId),
    counterpartyOwner: entry.counterpartyOwner,
    ...(entry.memo === null ? {} : { memo: entry.memo }),
  };
}

/**
 * A list request's pagination, order and range; proto3's unset (0, "", no timestamp) is
 * absent. `starting_after` is int64 (exact or InvalidArgument naming it).
 */
export function listQueryOf(request: {
  pageId: number;
  pageSize: number;
  limit: number;
  startingAfter: bigint;
  order: string;
  from?: Timestamp;
  to?: Timestamp;
}): ListQuery {
  const { starting_after } = int64Fields({ starting_after: request.startingAfter });
  return {
    pageId: request.pageId === 0 ? undefined : request.pageId,
    pageSize: request.pageSize === 0 ? undefined : request.pageSize,
    limit: request.limit === 0 ? undefined : request.limit,
    startingAfter: starting_after === 0 ? undefined : starting_after,
    order: request.order === "" ? undefined : (request.order as Order),
    from: request.from === undefined ? undefined : timestampDate(request.from),
    to: request.to === undefined ? undefined : timestampDate(request.to),
  };
}

export function transferMessage(transfer: Transfer): MessageInitShape<typeof TransferSchema> {
  return {
    id: int64(transfer.id),
    fromAccountId: int64(transfer.fromAccountId),
    toAccountId: int64(transfer.toAccountId),
    amount: int64(transfer.amount),
    ...(transfer.memo === null ? {} : { memo: transfer.memo }),
    createdAt: timestamp(transfer.createdAt),
  };
}

/** The fields CreateTransfer, Deposit and Withdraw answer alike. */
export function transferResultFields(result: TransferResult) {
  return {
    transfer: transferMessage(result.transfer),
    fromAccount: accountMessage(result.fromAccount),
    toAccount: accountMessage(result.toAccount),
    fromEntry: entryMessage(result.fromEntry),
    toEntry: entryMessage(result.toEntry),
  };
}

export function sessionMessage(session: SessionInfo): MessageInitShape<typeof SessionSchema> {
  return {
    sessionId: session.sessionId,
    userAgent: session.userAgent,
    clientIp: session.clientIp,
    createdAt: timestamp(session.createdAt),
    ...(session.renewedAt === null ? {} : { renewedAt: timestamp(session.renewedAt) }),
    expiresAt: timestamp(session.expiresAt),
    current: session.current,
  };
}

export function tokenPairFields(pair: TokenPair) {
  return {
    accessToken: pair.accessToken,
    accessTokenExpiresAt: timestamp(pair.accessTokenExpiresAt),
    refreshToken: pair.refreshToken,
    refreshTokenExpiresAt: timestamp(pair.refreshTokenExpiresAt),
  };
}
