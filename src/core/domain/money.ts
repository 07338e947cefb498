import { z } from "zod";
import { expected } from "./messages.ts";

/**
 * The money rules of the contract ("Conventions"), once, for every transport and the
 * database's CHECK constraints: currencies, amounts in integer minor units, and how large a
 * balance may grow while `number` stays exact.
 */

const CURRENCIES = ["USD", "EUR", "CAD"] as const;
export type Currency = (typeof CURRENCIES)[number];

/** Largest amount of one transfer (contract: 1 .. 1_000_000_000_000 minor units). */
export const MAX_AMOUNT = 1_000_000_000_000;
/** Largest balance magnitude an account may hold: Number.MAX_SAFE_INTEGER, so `number` is exact. */
export const MAX_BALANCE = 9_007_199_254_740_991;

const amountRange = `must be an integer between 1 and ${MAX_AMOUNT}`;

export const amountRule = z
  .number({ error: expected("an integer") })
  .int({ error: amountRange })
  .min(1, { error: amountRange })
  .max(MAX_AMOUNT, { error: amountRange });

export const currencyRule = z.enum(CURRENCIES, {
  error: expected(`one of ${CURRENCIES.join(", ")}`),
});
