import { z } from "zod";
import { expected } from "./messages.ts";
import type { Currency } from "./money.ts";

/**
 * A transfer's memo (contract, "Transfers"): optional, 1..140 characters of plain text. Counted
 * in Unicode code points (as PostgreSQL's varchar(140) counts them); control characters,
 * surrogates, private-use and unassigned code points are refused, so a memo prints as it was
 * written and can carry no markup trickery beyond what plain text shows.
 */
export const MAX_MEMO_LENGTH = 140;

export const memoRule = z
  .string({ error: expected("a string") })
  .regex(/^[^\p{Cc}\p{Cs}\p{Co}\p{Cn}]{1,140}$/u, {
    error: `must be 1 to ${MAX_MEMO_LENGTH} characters of printable text`,
  });

/** A transfer names its recipient by exactly one of `to_account_id` and `to_username`. */
export const RECIPIENT_REQUIRED = "is required (or give to_username)";
export const RECIPIENT_TWICE = "cannot be given with to_account_id";
export const recipientRequiredRule = z.never({ error: RECIPIENT_REQUIRED });
export const recipientTwiceRule = z.never({ error: RECIPIENT_TWICE });

/** A transfer as asked for, before any rule is checked (services/transfers.ts). */
export interface TransferInput {
  fromAccountId: number;
  /** Exactly one of `toAccountId` and `toUsername` (that user's account in `currency`). */
  toAccountId?: number;
  toUsername?: string;
  amount: number;
  currency: Currency;
  /** Optional plain-text description, stored on the transfer and shown in statements. */
  memo?: string;
  /** Optional Idempotency-Key: retries with the same key and body replay the first result. */
  idempotencyKey?: string;
}
