import { z } from "zod";
import { expected } from "./messages.ts";

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
