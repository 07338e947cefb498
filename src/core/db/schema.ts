import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  check,
  foreignKey,
  index,
  jsonb,
  pgTable,
  primaryKey,
  unique,
  uniqueIndex,
  uuid,
  varchar,
} from "drizzle-orm/pg-core";
import { MAX_AMOUNT, MAX_BALANCE } from "../domain/money.ts";
import { MAX_MEMO_LENGTH } from "../domain/transfers.ts";
import { timestamptz } from "./timestamp.ts";

/**
 * Storage schema. drizzle-kit generates `drizzle/*.sql` from this file (`bun run db:generate`);
 * the server applies them at start. API shapes are defined separately in the transports.
 *
 * Money columns are `bigint` in Postgres. In TypeScript they are `number`, which is exact
 * because CHECK constraints bound every amount to 1e12 and every balance to ±(2^53 − 1).
 */

const createdAt = () => timestamptz("created_at").notNull().default(sql`now()`);

export const users = pgTable(
  "users",
  {
    username: varchar("username", { length: 100 }).primaryKey(),
    hashedPassword: varchar("hashed_password").notNull(),
    fullName: varchar("full_name", { length: 100 }).notNull(),
    email: varchar("email", { length: 200 }).notNull(),
    role: varchar("role", { length: 20 }).notNull().default("depositor"),
    isEmailVerified: boolean("is_email_verified").notNull().default(false),
    passwordChangedAt: timestamptz("password_changed_at")
      .notNull()
      .default(sql`'0001-01-01 00:00:00Z'`),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex("users_email_key").on(sql`lower(${t.email})`),
    check("users_role_check", sql`${t.role} IN ('depositor', 'banker')`),
  ],
);

export const sessions = pgTable(
  "sessions",
  {
    id: uuid("id").primaryKey(),
    username: varchar("username", { length: 100 })
      .notNull()
      .references(() => users.username),
    /** SHA-256 of the current refresh token; the token itself is never stored. */
    refreshTokenHash: varchar("refresh_token_hash", { length: 64 }).notNull(),
    /**
     * SHA-256 of the refresh token the last rotation retired, and when it retired it: within
     * REFRESH_TOKEN_REUSE_INTERVAL of `rotatedAt` that one token may be presented again (a
     * renewal whose response was lost). Null before the first renewal.
     */
    previousRefreshTokenHash: varchar("previous_refresh_token_hash", { length: 64 }),
    rotatedAt: timestamptz("rotated_at"),
    userAgent: varchar("user_agent").notNull(),
    clientIp: varchar("client_ip").notNull(),
    isBlocked: boolean("is_blocked").notNull().default(false),
    expiresAt: timestamptz("expires_at").notNull(),
    createdAt: createdAt(),
  },
  (t) => [index("sessions_username_idx").on(t.username)],
);

export const verifyEmails = pgTable(
  "verify_emails",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    username: varchar("username", { length: 100 })
      .notNull()
      .references(() => users.username),
    email: varchar("email", { length: 200 }).notNull(),
    secretCode: varchar("secret_code").notNull(),
    isUsed: boolean("is_used").notNull().default(false),
    /** The job that created and mailed this link: its retries reuse the row, so one job = one link. */
    jobId: uuid("job_id").unique("verify_emails_job_id_key"),
    createdAt: createdAt(),
    expiredAt: timestamptz("expired_at").notNull().default(sql`now() + interval '15 minutes'`),
  },
  (t) => [index("verify_emails_username_idx").on(t.username)],
);

/**
 * Password reset links (POST /users/password_reset). The request writes the row and enqueues
 * its job in one transaction; the job mints the secret code, keeps only its SHA-256 here and
 * mails the code itself. A code is good once, until `expired_at` (15 minutes after it was
 * minted); a newer request for the same user marks the older rows used (one live link each).
 */
export const passwordResets = pgTable(
  "password_resets",
  {
    id: uuid("id").primaryKey(),
    username: varchar("username", { length: 100 })
      .notNull()
      .references(() => users.username),
    /** The address the link goes to: the user must still have it when the link is followed. */
    email: varchar("email", { length: 200 }).notNull(),
    /** SHA-256 (hex) of the secret code; null until the job has minted one. */
    secretCodeHash: varchar("secret_code_hash", { length: 64 }),
    isUsed: boolean("is_used").notNull().default(false),
    createdAt: createdAt(),
    /** Null until the job has minted the code. */
    expiredAt: timestamptz("expired_at"),
  },
  (t) => [index("password_resets_username_idx").on(t.username)],
);

export const accounts = pgTable(
  "accounts",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    owner: varchar("owner", { length: 100 })
      .notNull()
      .references(() => users.username),
    kind: varchar("kind", { length: 20 }).notNull().default("customer"),
    balance: bigint("balance", { mode: "number" }).notNull().default(0),
    currency: varchar("currency", { length: 3 }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    // Also serves "accounts by owner" (owner is its leading column).
    unique("owner_currency_key").on(t.owner, t.currency),
    uniqueIndex("accounts_one_treasury_per_currency").on(t.currency).where(sql`kind = 'treasury'`),
    check("accounts_kind_check", sql`${t.kind} IN ('customer', 'treasury')`),
    check("accounts_currency_check", sql`${t.currency} IN ('USD', 'EUR', 'CAD')`),
    check(
      "accounts_customer_balance_nonnegative",
      sql`${t.kind} = 'treasury' OR ${t.balance} >= 0`,
    ),
    check(
      "accounts_balance_bounded",
      sql`${t.balance} BETWEEN ${sql.raw(String(-MAX_BALANCE))} AND ${sql.raw(String(MAX_BALANCE))}`,
    ),
    // Treasury accounts belong to the system user `bank`, and `bank` owns nothing else.
    check("accounts_treasury_owner", sql`(${t.kind} = 'treasury') = (${t.owner} = 'bank')`),
  ],
);

export const transfers = pgTable(
  "transfers",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    fromAccountId: bigint("from_account_id", { mode: "number" })
      .notNull()
      .references(() => accounts.id),
    toAccountId: bigint("to_account_id", { mode: "number" })
      .notNull()
      .references(() => accounts.id),
    amount: bigint("amount", { mode: "number" }).notNull(),
    /** The payer's description (plain text, 1..140 characters); null when none was given. */
    memo: varchar("memo", { length: MAX_MEMO_LENGTH }),
    createdAt: createdAt(),
  },
  (t) => [
    index("transfers_from_account_id_idx").on(t.fromAccountId, t.id),
    index("transfers_to_account_id_idx").on(t.toAccountId, t.id),
    check(
      "transfers_amount_positive",
      sql`${t.amount} > 0 AND ${t.amount} <= ${sql.raw(String(MAX_AMOUNT))}`,
    ),
    check("transfers_distinct_accounts", sql`${t.fromAccountId} <> ${t.toAccountId}`),
    check("transfers_memo_not_empty", sql`char_length(${t.memo}) >= 1`),
  ],
);

export const entries = pgTable(
  "entries",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    accountId: bigint("account_id", { mode: "number" })
      .notNull()
      .references(() => accounts.id),
    amount: bigint("amount", { mode: "number" }).notNull(),
    transferId: bigint("transfer_id", { mode: "number" })
      .notNull()
      .references(() => transfers.id),
    /** The account's balance right after this entry, written with it (never recomputed). */
    balanceAfter: bigint("balance_after", { mode: "number" }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    index("entries_account_id_idx").on(t.accountId, t.id),
    index("entries_transfer_id_idx").on(t.transferId),
    check("entries_amount_nonzero", sql`${t.amount} <> 0`),
  ],
);

export const idempotencyKeys = pgTable(
  "idempotency_keys",
  {
    owner: varchar("owner", { length: 100 }).notNull(),
    key: varchar("key", { length: 255 }).notNull(),
    /** SHA-256 of the operation name and its canonical request. */
    requestFingerprint: varchar("request_fingerprint", { length: 64 }).notNull(),
    /** The result replayed to a retry with the same key and request. */
    response: jsonb("response").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: "idempotency_keys_owner_key", columns: [t.owner, t.key] }),
    foreignKey({
      name: "idempotency_keys_owner_fkey",
      columns: [t.owner],
      foreignColumns: [users.username],
    }),
    index("idempotency_keys_created_at_idx").on(t.createdAt),
  ],
);
