import type { Context } from "hono";

/**
 * Cursor pagination's `Link: <…>; rel="next"` (RFC 8288), when more items follow: this
 * request's path and query with `starting_after` set to the page's last id. Relative, so it
 * holds behind any proxy (RFC 8288 resolves it against the request's URL).
 */
export function setNextLink(c: Context, nextStartingAfter: number | undefined): void {
  if (nextStartingAfter === undefined) return;
  const url = new URL(c.req.url);
  url.searchParams.set("starting_after", String(nextStartingAfter));
  c.header("Link", `<${url.pathname}${url.search}>; rel="next"`);
}
