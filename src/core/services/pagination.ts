import { and, asc, desc, gt, gte, lt, type SQL } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import { idRule } from "../domain/ids.ts";
import {
  DEFAULT_LIMIT,
  DEFAULT_PAGE,
  type ListQuery,
  limitRule,
  mixedPaginationRule,
  orderRule,
  pageIdRule,
  pageSizeRule,
  timestampRule,
} from "../domain/paging.ts";
import type { Page } from "../domain/types.ts";
import { assertValid } from "./validation.ts";

/** Validates a page (`page_id`, `page_size`; domain/paging.ts) and returns its LIMIT / OFFSET. */
export function pageWindow(page: Page = DEFAULT_PAGE): { limit: number; offset: number } {
  assertValid([
    ["page_id", pageIdRule, page.pageId],
    ["page_size", pageSizeRule, page.pageSize],
  ]);
  return { limit: page.pageSize, offset: (page.pageId - 1) * page.pageSize };
}

/** A page of a list, and whether more follow it (in its order, within its range). */
export interface Listed<T> {
  items: T[];
  hasMore: boolean;
  /** Cursor pagination only, when more follow: the `starting_after` of the next page. */
  nextStartingAfter?: number;
}

/** A validated list query as SQL parts over a table's `id` and `created_at` columns. */
export interface ListWindow {
  where: SQL | undefined;
  orderBy: SQL;
  /** One more row than the page holds, to tell whether more follow. */
  fetch: number;
  offset: number;
  /** The page's rows and `hasMore`, from the `fetch` rows read. */
  listed<T extends { id: number }>(rows: T[]): Listed<T>;
}

/**
 * Validates a list query (page OR cursor pagination, order, time range; one ValidationError
 * naming every bad field) and returns its window.
 */
export function listWindow(
  query: ListQuery,
  columns: { id: PgColumn; createdAt: PgColumn },
): ListWindow {
  const cursor = query.limit !== undefined || query.startingAfter !== undefined;
  const paged = query.pageId !== undefined || query.pageSize !== undefined;
  const optional = (
    field: string,
    rule: Parameters<typeof assertValid>[0][0][1],
    value: unknown,
  ) => (value === undefined ? [] : [[field, rule, value] as Parameters<typeof assertValid>[0][0]]);
  assertValid([
    ...optional("page_id", pageIdRule, query.pageId),
    ...optional("page_size", pageSizeRule, query.pageSize),
    ...optional("limit", limitRule, query.limit),
    ...optional("starting_after", idRule, query.startingAfter),
    ...optional("order", orderRule, query.order),
    ...optional("from", timestampRule, query.from),
    ...optional("to", timestampRule, query.to),
  ]);
  if (cursor && paged) {
    assertValid([[query.limit === undefined ? "starting_after" : "limit", mixedPaginationRule, 0]]);
  }
  const descending = query.order === "desc";
  const conditions = [
    query.from === undefined ? undefined : gte(columns.createdAt, query.from),
    query.to === undefined ? undefined : lt(columns.createdAt, query.to),
    query.startingAfter === undefined
      ? undefined
      : descending
        ? lt(columns.id, query.startingAfter)
        : gt(columns.id, query.startingAfter),
  ];
  const size = cursor ? (query.limit ?? DEFAULT_LIMIT) : (query.pageSize ?? DEFAULT_PAGE.pageSize);
  const offset = cursor ? 0 : ((query.pageId ?? DEFAULT_PAGE.pageId) - 1) * size;
  return {
    where: and(...conditions),
    orderBy: descending ? desc(columns.id) : asc(columns.id),
    fetch: size + 1,
    offset,
    listed(rows) {
      const items = rows.slice(0, size);
      const hasMore = rows.length > size;
      const last = items.at(-1);
      return cursor && hasMore && last
        ? { items, hasMore, nextStartingAfter: last.id }
        : { items, hasMore };
    },
  };
}
