import type { Context } from "hono";
import { createRouter } from "../../create-router.ts";
import type { AppEnv } from "../../env.ts";
import { problemResponse } from "../../problem.ts";

/**
 * The web console (console/, a Vue app) served by the API itself: index.html at the console's
 * own pages (an explicit list: any other path stays the API's 404), the hashed build files under
 * /assets/ with long immutable caching, and /console-config.json (`api_base` "": this origin).
 * The files come from the runtime's entry (`HttpDeps.consoleAssets`: console/dist.json, built by
 * `bun run console:build`). GET /verify_email, the API endpoint the verification email's link
 * names, answers the console's landing page only to a browser's navigation (an Accept that
 * lists text/html before any JSON); every other request keeps the JSON API.
 */

/** The console's pages; console/src/paths.ts names the same (tests/http/console.test.ts). */
export const CONSOLE_PAGES = [
  "/",
  "/login",
  "/signup",
  "/forgot_password",
  "/reset_password",
  "/app/accounts",
  "/app/accounts/:id{[0-9]+}",
  "/app/pay",
  "/app/sessions",
  "/app/banker",
] as const;

/** Scripts, styles and requests from this origin only; nothing inline, nothing external. */
export const CONSOLE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const IMMUTABLE = "public, max-age=31536000, immutable";

/** True when the Accept header names text/html (q > 0) before any JSON type. */
export function prefersHtml(accept: string | undefined): boolean {
  const types = (accept ?? "").split(",").map((item) => {
    const [type = "", ...params] = item.split(";").map((part) => part.trim().toLowerCase());
    const q = params.find((p) => p.startsWith("q="));
    return { type, refused: q !== undefined && Number(q.slice(2)) === 0 };
  });
  const html = types.findIndex((t) => t.type === "text/html" && !t.refused);
  if (html === -1) return false;
  const json = types.findIndex((t) => t.type === "application/json" || t.type.endsWith("+json"));
  return json === -1 || html < json;
}

function indexPage(c: Context<AppEnv>): Response {
  const page = c.var.deps.consoleAssets["/index.html"];
  if (!page)
    return problemResponse(c, "not_found", "the web console is not built into this server");
  return c.body(page.body, 200, {
    "Content-Type": page.contentType,
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONSOLE_CSP,
  });
}

const router = createRouter();
for (const page of CONSOLE_PAGES) router.get(page, indexPage);

export const consoleRouter = router
  .get("/verify_email", async (c, next) => {
    if (prefersHtml(c.req.header("Accept"))) return indexPage(c);
    await next();
  })
  .get("/console-config.json", (c) =>
    c.body(JSON.stringify({ api_base: "" }), 200, {
      "Content-Type": "application/json",
      "Cache-Control": "no-cache",
    }),
  )
  .get("/assets/:file", (c) => {
    const file = c.var.deps.consoleAssets[`/assets/${c.req.param("file")}`];
    if (!file) return problemResponse(c, "not_found", `no route for GET ${c.req.path}`);
    return c.body(file.body, 200, { "Content-Type": file.contentType, "Cache-Control": IMMUTABLE });
  });

/** Every path the console's router registers (all GET): its pages, its files, /verify_email. */
export const CONSOLE_ROUTES: ReadonlySet<string> = new Set(consoleRouter.routes.map((r) => r.path));
