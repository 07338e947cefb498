import { z } from "zod";
import { expected } from "./messages.ts";

/** Ids of accounts, entries, transfers and links: positive bigserials that fit `number` exactly. */
export const MAX_ID = Number.MAX_SAFE_INTEGER;

export const idRule = z
  .number({ error: expected("a positive integer") })
  .int({ error: "must be a positive integer" })
  .min(1, { error: "must be a positive integer" })
  .max(MAX_ID, { error: `must be at most ${MAX_ID}` });
