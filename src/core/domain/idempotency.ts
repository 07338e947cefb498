import { z } from "zod";
import { expected } from "./messages.ts";

/** Idempotency-Key (IETF draft "The Idempotency-Key HTTP Header Field"): 1..255 printable ASCII. */
export const idempotencyKeyRule = z
  .string({ error: expected("a string") })
  .regex(/^[\x20-\x7e]{1,255}$/, { error: "must be 1 to 255 printable ASCII characters" });
