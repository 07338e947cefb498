import { z } from "zod";
import { MAX_ID } from "./ids.ts";
import { expected } from "./messages.ts";

/**
 * Page-number pagination (contract, "Conventions"): `page_id` from 1, `page_size` 1..100,
 * page 1 of 10 by default. Pages beyond MAX_PAGE_ID would skip past every id there can be.
 */
export const MAX_PAGE_SIZE = 100;
export const MAX_PAGE_ID = Math.floor(MAX_ID / MAX_PAGE_SIZE);
export const DEFAULT_PAGE = { pageId: 1, pageSize: 10 } as const;

const between = (max: number) => {
  const range = `must be an integer between 1 and ${max}`;
  return z
    .number({ error: expected("an integer") })
    .int({ error: range })
    .min(1, { error: range })
    .max(max, { error: range });
};

export const pageIdRule = between(MAX_PAGE_ID);
export const pageSizeRule = between(MAX_PAGE_SIZE);

/**
 * Cursor pagination (contract, "Conventions": statements and transfer lists): `limit` 1..100
 * (default 10) and `starting_after`, the last id of the previous page, instead of
 * `page_id`/`page_size`; with `order` (`asc` by default, or `desc`) and a time range
 * (`from` inclusive, `to` exclusive) on `created_at`.
 */
export const DEFAULT_LIMIT = 10;
export const ORDERS = ["asc", "desc"] as const;
export type Order = (typeof ORDERS)[number];

export const limitRule = between(MAX_PAGE_SIZE);
export const orderRule = z.enum(ORDERS, { error: expected("asc or desc") });
/** RFC 3339 with `Z` or an offset, as the contract's timestamps. */
export const timestampRule = z
  .date({ error: expected("an RFC 3339 timestamp") })
  .refine((d) => !Number.isNaN(d.getTime()), { error: "must be an RFC 3339 timestamp" });
export const mixedPaginationRule = z.never({
  error: "cannot be combined with page_id or page_size",
});

/** What a list of statements or transfers may be asked for; every part optional. */
export interface ListQuery {
  pageId?: number;
  pageSize?: number;
  limit?: number;
  startingAfter?: number;
  order?: Order;
  from?: Date;
  to?: Date;
}
