import { MAX_AMOUNT } from "../db/schema.ts";
import type { FieldViolation } from "./errors.ts";

export const CURRENCIES = ["USD", "EUR", "CAD"] as const;
export type Currency = (typeof CURRENCIES)[number];

export { MAX_AMOUNT };

export function isCurrency(value: unknown): value is Currency {
  return typeof value === "string" && (CURRENCIES as readonly string[]).includes(value);
}

/** Integer minor units in 1 .. 1_000_000_000_000. */
export function isValidAmount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1 && (value as number) <= MAX_AMOUNT;
}

/** Positive bigserial id that fits a JS number exactly. */
export function isValidId(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}

export function checkAmount(field: string, value: unknown): FieldViolation[] {
  return isValidAmount(value)
    ? []
    : [{ field, message: `must be an integer between 1 and ${MAX_AMOUNT}` }];
}

export function checkCurrency(field: string, value: unknown): FieldViolation[] {
  return isCurrency(value) ? [] : [{ field, message: `must be one of ${CURRENCIES.join(", ")}` }];
}

export function checkId(field: string, value: unknown): FieldViolation[] {
  return isValidId(value) ? [] : [{ field, message: "must be a positive integer" }];
}
