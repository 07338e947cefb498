import { z } from "@hono/zod-openapi";
import { ERROR_CODES } from "../../domain/errors.ts";
import { idempotencyKeyRule } from "../../domain/idempotency.ts";
import { idRule, MAX_ID } from "../../domain/ids.ts";
import { expected } from "../../domain/messages.ts";
import { amountRule, currencyRule, MAX_AMOUNT } from "../../domain/money.ts";
import {
  DEFAULT_LIMIT,
  DEFAULT_PAGE,
  MAX_PAGE_ID,
  MAX_PAGE_SIZE,
  ORDERS,
} from "../../domain/paging.ts";
import {
  MAX_MEMO_LENGTH,
  memoRule,
  RECIPIENT_REQUIRED,
  RECIPIENT_TWICE,
} from "../../domain/transfers.ts";
import { ROLES } from "../../domain/types.ts";
import {
  emailRule,
  fullNameRule,
  MAX_EMAIL_LENGTH,
  MAX_FULL_NAME_LENGTH,
  MAX_PASSWORD_BYTES,
  MIN_PASSWORD_BYTES,
  passwordRule,
  resetIdRule,
  secretCodeRule,
  sessionIdRule,
  usernameRule,
} from "../../domain/users.ts";

/**
 * The API's request and response shapes, documented once here and used both to validate
 * requests and to generate /openapi.json. Field rules come from the domain, so every
 * transport applies the same ones.
 */

/**
 * A domain rule, ready for `.openapi()`. Zod 4 copies methods onto each schema when it is
 * built, so a rule built before @hono/zod-openapi extended zod (any import order that loads
 * src/domain before this file) has no `.openapi`; a fresh instance of the same definition has.
 */
function documentable<T extends z.ZodType>(rule: T): T {
  const Schema = rule.constructor as new (def: T["_zod"]["def"]) => T;
  return new Schema(rule._zod.def);
}

// ---- building blocks -------------------------------------------------------------------

/** RFC 3339 date-time: `Z` or a numeric offset, optional fractional seconds. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

const Timestamp = z
  .string()
  .openapi({ format: "date-time", description: "RFC 3339, UTC", example: "2026-11-25T09:30:00Z" });

const Id = (description: string) =>
  z.number().int().min(1).openapi({ description, example: 42, minimum: 1, maximum: MAX_ID });

/** A username as a parameter: no example, which would pre-fill one user's name for everyone. */
const UsernameParam = documentable(usernameRule).openapi({
  pattern: "^[a-z0-9_]{3,100}$",
  description: "3 to 100 lowercase letters, digits or underscores",
});

const Username = UsernameParam.openapi({ example: "alice" });

const Password = documentable(passwordRule).openapi({
  format: "password",
  minLength: MIN_PASSWORD_BYTES,
  maxLength: MAX_PASSWORD_BYTES,
  description: `${MIN_PASSWORD_BYTES} to ${MAX_PASSWORD_BYTES} bytes (UTF-8); bcrypt's limit`,
  example: "correct horse battery",
});

const FullName = documentable(fullNameRule).openapi({
  minLength: 1,
  maxLength: MAX_FULL_NAME_LENGTH,
  description: "Letters of any script, spaces, apostrophes, hyphens and periods",
  example: "Alice Liddell",
});

const Email = documentable(emailRule).openapi({
  format: "email",
  maxLength: MAX_EMAIL_LENGTH,
  description: "Unique, compared case-insensitively",
  example: "alice@example.com",
});

const Currency = documentable(currencyRule).openapi({
  example: "USD",
  description: "Supported currencies (exact, upper case)",
});

const Amount = documentable(amountRule).openapi({
  description: "Integer minor units (cents)",
  example: 1000,
  minimum: 1,
  maximum: MAX_AMOUNT,
});

const BodyId = (description: string, example = 42) =>
  documentable(idRule).openapi({ description, example, minimum: 1, maximum: MAX_ID });

/** An integer in a URL (path or query): digits only, then range-checked. */
const urlInteger = (options: {
  min: number;
  max: number;
  description: string;
  fallback?: number;
}) => {
  const range = `must be an integer between ${options.min} and ${options.max}`;
  const digits = z
    .string({ error: expected("an integer") })
    .regex(/^[0-9]{1,16}$/, { error: range });
  const number = z.number().min(options.min, { error: range }).max(options.max, { error: range });
  const meta = {
    type: "integer" as const,
    minimum: options.min,
    maximum: options.max,
    description: options.description,
    ...(options.fallback === undefined ? {} : { default: options.fallback }),
  };
  const { fallback } = options;
  return fallback === undefined
    ? digits.transform(Number).pipe(number).openapi(meta)
    : digits
        .optional()
        .transform((value) => (value === undefined ? fallback : Number(value)))
        .pipe(number)
        .openapi(meta);
};

const PageId = urlInteger({
  min: 1,
  max: MAX_PAGE_ID,
  description: "Page number, from 1",
  fallback: DEFAULT_PAGE.pageId,
}).openapi({ param: { name: "page_id", in: "query" } });

const PageSize = urlInteger({
  min: 1,
  max: MAX_PAGE_SIZE,
  description: "Items per page",
  fallback: DEFAULT_PAGE.pageSize,
}).openapi({ param: { name: "page_size", in: "query" } });

// ---- parameters ------------------------------------------------------------------------

export const IdParams = z.object({
  id: urlInteger({ min: 1, max: MAX_ID, description: "Account id" }).openapi({
    param: { name: "id", in: "path" },
    example: 42,
  }),
});

export const TransferIdParams = z.object({
  id: urlInteger({ min: 1, max: MAX_ID, description: "Transfer id" }).openapi({
    param: { name: "id", in: "path" },
    example: 7,
  }),
});

export const UsernameParams = z.object({
  username: UsernameParam.openapi({ param: { name: "username", in: "path" } }),
});

const PageQuery = z.object({ page_id: PageId, page_size: PageSize });

/**
 * Statements and transfer lists: page OR cursor pagination, order and a time range. Pages and
 * limits have no default here (the service applies them), so mixing the two is told apart.
 */
const urlTimestamp = (name: string, description: string) =>
  z
    .string({ error: expected("an RFC 3339 timestamp") })
    .regex(RFC3339, { error: "must be an RFC 3339 timestamp (e.g. 2026-11-25T09:30:00Z)" })
    .transform((value) => new Date(value))
    .refine((date) => !Number.isNaN(date.getTime()), { error: "must be a valid date and time" })
    .optional()
    .openapi({
      type: "string",
      format: "date-time",
      description,
      param: { name, in: "query" },
      example: "2026-11-25T00:00:00Z",
    });

const ListQueryParams = z.object({
  page_id: urlInteger({ min: 1, max: MAX_PAGE_ID, description: "Page number, from 1 (default 1)" })
    .optional()
    .openapi({ param: { name: "page_id", in: "query" } }),
  page_size: urlInteger({
    min: 1,
    max: MAX_PAGE_SIZE,
    description: `Items per page (default ${DEFAULT_PAGE.pageSize})`,
  })
    .optional()
    .openapi({ param: { name: "page_size", in: "query" } }),
  limit: urlInteger({
    min: 1,
    max: MAX_PAGE_SIZE,
    description: `Cursor pagination: items per page (default ${DEFAULT_LIMIT}); a \`Link: <…>; rel="next"\` header says when more exist. Not with page_id/page_size.`,
  })
    .optional()
    .openapi({ param: { name: "limit", in: "query" } }),
  starting_after: urlInteger({
    min: 1,
    max: MAX_ID,
    description: "Cursor pagination: the last id of the previous page. Not with page_id/page_size.",
  })
    .optional()
    .openapi({ param: { name: "starting_after", in: "query" } }),
  order: z
    .enum(ORDERS, { error: expected("asc or desc") })
    .optional()
    .openapi({
      param: { name: "order", in: "query" },
      description: "By id: `asc` (default, oldest first) or `desc` (newest first)",
    }),
  from: urlTimestamp("from", "Only items created at or after this instant (RFC 3339)"),
  to: urlTimestamp("to", "Only items created before this instant (RFC 3339)"),
});

export const StatementQuery = ListQueryParams;

export const ListAccountsQuery = PageQuery.extend({
  owner: UsernameParam.optional().openapi({
    param: { name: "owner", in: "query" },
    description: "Whose accounts (bankers only; default: the caller)",
  }),
});

export const ListTransfersQuery = ListQueryParams.extend({
  account_id: urlInteger({
    min: 1,
    max: MAX_ID,
    description: "Transfers with this account on either side (default: any of your accounts)",
  })
    .optional()
    .openapi({ param: { name: "account_id", in: "query" }, example: 42 }),
});

export const VerifyEmailQuery = z.object({
  email_id: urlInteger({ min: 1, max: MAX_ID, description: "From the verification link" }).openapi({
    param: { name: "email_id", in: "query" },
    example: 1,
  }),
  secret_code: documentable(secretCodeRule).openapi({
    param: { name: "secret_code", in: "query" },
    description: "From the verification link",
    example: "Zq3oK2p9yGQ1w8sV4bXcTg",
  }),
});

export const IdempotencyHeaders = z.object({
  "Idempotency-Key": documentable(idempotencyKeyRule)
    .optional()
    .openapi({
      param: { name: "Idempotency-Key", in: "header" },
      description:
        "Retries with the same key and body replay the first result (header `Idempotent-Replayed: true`) instead of moving money twice. Kept at least 24 h.",
      example: "8e03978e-40d5-43e8-bc93-6894a57f9324",
    }),
});

/** The response header of a replayed 201, next to `IdempotencyHeaders`. */
export const IdempotentReplayedHeader = {
  "Idempotent-Replayed": {
    description:
      "`true` when this is the stored result of an earlier request with the same Idempotency-Key",
    schema: { type: "string" as const, enum: ["true"] },
  },
};

// ---- request bodies --------------------------------------------------------------------

export const CreateUserBody = z
  .strictObject({ username: Username, password: Password, full_name: FullName, email: Email })
  .openapi("CreateUserRequest");

export const LoginBody = z
  .strictObject({ username: Username, password: Password })
  .openapi("LoginRequest");

export const RenewAccessTokenBody = z
  .strictObject({
    refresh_token: z
      .string({ error: expected("a string") })
      .min(1, { error: "is required" })
      .max(4096, { error: "is too long" })
      .openapi({
        description: "The refresh token from login or the last renewal",
        example: "v4.local.Q2xpZW50LXNpZGUtZXhhbXBsZS1vbmx5",
      }),
  })
  .openapi("RenewAccessTokenRequest");

export const UpdateUserBody = z
  .strictObject({
    full_name: FullName.optional(),
    email: Email.optional(),
    password: Password.optional(),
  })
  .openapi("UpdateUserRequest", { description: "Only the fields present change; at least one." });

export const PasswordResetBody = z
  .strictObject({
    email: z.string({ error: expected("a string") }).openapi({
      description:
        "The account's address. Any string is accepted and answered alike: whether it is anyone's address is never told.",
      example: "alice@example.com",
    }),
  })
  .openapi("PasswordResetRequest");

export const ConfirmPasswordResetBody = z
  .strictObject({
    reset_id: documentable(resetIdRule).openapi({
      format: "uuid",
      description: "From the password reset link",
      example: "0b8e6f64-5a8b-4f8f-9a51-2c7b4f1e9d3a",
    }),
    secret_code: documentable(secretCodeRule).openapi({
      description: "From the password reset link",
      example: "Zq3oK2p9yGQ1w8sV4bXcTg",
    }),
    new_password: Password,
  })
  .openapi("ConfirmPasswordResetRequest");

export const CreateAccountBody = z
  .strictObject({ currency: Currency })
  .openapi("CreateAccountRequest");

export const CashBody = z
  .strictObject({ amount: Amount, currency: Currency })
  .openapi("CashRequest", { description: "Must match the account's currency" });

const Memo = documentable(memoRule).openapi({
  minLength: 1,
  maxLength: MAX_MEMO_LENGTH,
  description: `Plain text, 1 to ${MAX_MEMO_LENGTH} characters (no control characters); stored on the transfer and shown in both statements`,
  example: "Dinner on Friday",
});

export const TransferBody = z
  .strictObject({
    from_account_id: BodyId("Your account, debited"),
    to_account_id: BodyId("The account credited (or give `to_username`)", 43).optional(),
    to_username: Username.optional().openapi({
      description:
        "Pay a person: their account in `currency` is credited (404 `recipient_not_found` when they have none). Exactly one of `to_account_id` and `to_username`.",
      example: "bob",
    }),
    amount: Amount,
    currency: Currency,
    memo: Memo.optional(),
  })
  // Exactly one recipient, reported with every other invalid field (even when some are).
  .superRefine(
    (body, ctx) => {
      const byId = body.to_account_id !== undefined;
      const byName = body.to_username !== undefined;
      if (!byId && !byName) {
        ctx.addIssue({ code: "custom", path: ["to_account_id"], message: RECIPIENT_REQUIRED });
      } else if (byId && byName) {
        ctx.addIssue({ code: "custom", path: ["to_username"], message: RECIPIENT_TWICE });
      }
    },
    {
      when: ({ value }) => typeof value === "object" && value !== null && !Array.isArray(value),
    },
  )
  .openapi("TransferRequest", {
    description: "Exactly one of `to_account_id` and `to_username` (else 400).",
  });

// ---- responses ---------------------------------------------------------------------------

export const UserSchema = z
  .object({
    username: z.string().openapi({ example: "alice" }),
    full_name: z.string().openapi({ example: "Alice Liddell" }),
    email: z.string().openapi({ example: "alice@example.com" }),
    role: z.enum(ROLES).openapi({ example: "depositor" }),
    is_email_verified: z.boolean(),
    password_changed_at: Timestamp.openapi({
      description: "0001-01-01T00:00:00Z until the first change",
      example: "0001-01-01T00:00:00Z",
    }),
    created_at: Timestamp,
  })
  .openapi("User");

const TokenPairShape = {
  access_token: z.string().openapi({ description: "Send as `Authorization: Bearer <token>`" }),
  access_token_expires_at: Timestamp,
  refresh_token: z.string().openapi({
    description: "Single use: each renewal returns a new one and retires this one",
  }),
  refresh_token_expires_at: Timestamp,
};

export const TokenPairSchema = z.object(TokenPairShape).openapi("TokenPair");

export const LoginResultSchema = z
  .object({
    session_id: z.string().uuid(),
    ...TokenPairShape,
    user: UserSchema,
  })
  .openapi("LoginResult");

export const SessionIdParams = z.object({
  session_id: documentable(sessionIdRule).openapi({
    param: { name: "session_id", in: "path" },
    format: "uuid",
    description: "From GET /users/me/sessions",
    example: "5b0e3f7a-7d7c-4a51-9b8e-3c1f2a6d9e10",
  }),
});

export const SessionSchema = z
  .object({
    session_id: z.string().uuid(),
    user_agent: z.string().openapi({ example: "Mozilla/5.0 (X11; Linux x86_64)" }),
    client_ip: z.string().openapi({ example: "203.0.113.7" }),
    created_at: Timestamp,
    renewed_at: Timestamp.nullable().openapi({
      description: "The last renewal of its tokens; null before the first",
    }),
    expires_at: Timestamp,
    current: z.boolean().openapi({ description: "The session of the token asking" }),
  })
  .openapi("Session");

export const ResendVerificationResultSchema = z
  .object({
    queued: z.literal(true),
    email: z
      .string()
      .openapi({ description: "Where the email goes", example: "alice@example.com" }),
  })
  .openapi("ResendVerificationResult");

export const VerifyEmailResultSchema = z
  .object({ is_verified: z.literal(true) })
  .openapi("VerifyEmailResult");

export const AccountSchema = z
  .object({
    id: Id("Account id"),
    owner: z.string().openapi({ example: "alice" }),
    balance: z.number().int().openapi({ description: "Minor units (cents)", example: 12_500 }),
    currency: Currency,
    created_at: Timestamp,
  })
  .openapi("Account");

const AccountViewSchema = AccountSchema.extend({
  balance: AccountSchema.shape.balance.optional().openapi({
    description: "Shown only to the account's owner or a banker",
  }),
}).openapi("AccountView");

const EntrySchema = z
  .object({
    id: Id("Entry id"),
    account_id: Id("Account id"),
    amount: z
      .number()
      .int()
      .openapi({ description: "Negative: money out; positive: money in", example: -1000 }),
    transfer_id: Id("The transfer this entry belongs to"),
    created_at: Timestamp,
  })
  .openapi("Entry");

export const StatementEntrySchema = EntrySchema.extend({
  balance_after: z.number().int().openapi({
    description:
      "The account's balance right after this entry, written with it: the latest entry's always equals the balance",
    example: 11_500,
  }),
  kind: z.enum(["transfer_in", "transfer_out", "deposit", "withdrawal"]).openapi({
    description: "Deposits and withdrawals are cash, with the bank's treasury",
  }),
  counterparty_account_id: Id("The other side of the transfer"),
  counterparty_owner: z
    .string()
    .openapi({ description: "Its owner (`bank` for cash)", example: "bob" }),
  memo: z.string().nullable().openapi({ description: "The transfer's memo", example: null }),
}).openapi("StatementEntry");

export const TransferSchema = z
  .object({
    id: Id("Transfer id"),
    from_account_id: Id("Debited account"),
    to_account_id: Id("Credited account"),
    amount: z.number().int().openapi({ example: 1000 }),
    memo: z
      .string()
      .nullable()
      .openapi({ description: "The payer's description; null when none", example: null }),
    created_at: Timestamp,
  })
  .openapi("Transfer");

export const TransferResultSchema = z
  .object({
    transfer: TransferSchema,
    from_account: AccountViewSchema,
    to_account: AccountViewSchema,
    from_entry: EntrySchema,
    to_entry: EntrySchema,
  })
  .openapi("TransferResult");

export const ProblemSchema = z
  .object({
    // No examples here: each error status shows examples of its own codes (problem-examples.ts).
    type: z.string().openapi({ description: "`/problems/<code>`, a page explaining the code" }),
    title: z.string().openapi({ description: "The code's title" }),
    status: z.number().int().openapi({ description: "The HTTP status" }),
    detail: z.string().openapi({ description: "For humans; may change" }),
    code: z.enum(ERROR_CODES).openapi({ description: "Stable machine-readable code" }),
    request_id: z.string().optional().openapi({ description: "Also in the X-Request-Id header" }),
    errors: z
      .array(
        z.object({
          field: z.string().openapi({ description: "As the client sent it (dotted when nested)" }),
          message: z.string(),
        }),
      )
      .optional()
      .openapi({ description: "Every invalid field (validation_failed only)" }),
  })
  .openapi("Problem", { description: "RFC 9457 problem details" });

export const HealthSchema = z.object({ status: z.literal("ok") }).openapi("Health");

export const ReadinessSchema = z
  .object({
    status: z.literal("ok"),
    checks: z.record(z.string(), z.enum(["ok", "failing", "pending"])),
  })
  .openapi("Readiness");
