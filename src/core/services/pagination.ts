import { DEFAULT_PAGE, pageIdRule, pageSizeRule } from "../domain/paging.ts";
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
