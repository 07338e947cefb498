import { ValidationError } from "../domain/errors.ts";
import type { Page } from "../domain/types.ts";

export const DEFAULT_PAGE: Page = { pageId: 1, pageSize: 10 };
export const MAX_PAGE_SIZE = 100;
const MAX_PAGE_ID = Math.floor(Number.MAX_SAFE_INTEGER / MAX_PAGE_SIZE);

/** Validates a page (`page_id` >= 1, `page_size` 1..100) and returns its LIMIT / OFFSET. */
export function pageWindow(page: Page = DEFAULT_PAGE): { limit: number; offset: number } {
  const violations = [];
  if (!Number.isSafeInteger(page.pageId) || page.pageId < 1 || page.pageId > MAX_PAGE_ID) {
    violations.push({
      field: "page_id",
      message: `must be an integer between 1 and ${MAX_PAGE_ID}`,
    });
  }
  if (!Number.isSafeInteger(page.pageSize) || page.pageSize < 1 || page.pageSize > MAX_PAGE_SIZE) {
    violations.push({
      field: "page_size",
      message: `must be an integer between 1 and ${MAX_PAGE_SIZE}`,
    });
  }
  if (violations.length > 0) throw new ValidationError(violations);
  return { limit: page.pageSize, offset: (page.pageId - 1) * page.pageSize };
}
