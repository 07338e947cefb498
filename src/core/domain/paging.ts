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
