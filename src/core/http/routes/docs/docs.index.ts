import { createRoute, z } from "@hono/zod-openapi";
import { ERROR_CODES, type ErrorCode } from "../../../domain/errors.ts";
import { escapeHtml } from "../../../lib/html.ts";
import { createRouter } from "../../create-router.ts";
import { problemEntry } from "../../openapi/problem-catalog.ts";
import { problems } from "../../openapi/responses.ts";

/**
 * GET /docs: an interactive reference (Swagger UI) whose assets the app serves itself, no CDN
 * (each runtime's entry embeds them: `HttpDeps.docsAssets`); and GET /problems/{code}: what each
 * problem `type` means.
 */

const CACHE = "public, max-age=86400";
/** Swagger UI sets inline styles and data: icons; scripts come only from here. */
const DOCS_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>simplebank API reference</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/init.js"></script>
</body>
</html>`;

const INIT = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  tryItOutEnabled: false,
  persistAuthorization: false,
  validatorUrl: "none"
});`;

const ProblemParams = z.object({
  code: z
    .enum(ERROR_CODES, { error: "is not a known problem code" })
    .openapi({ param: { name: "code", in: "path" }, example: "insufficient_funds" }),
});

const problemType = createRoute({
  method: "get",
  path: "/problems/{code}",
  operationId: "problemType",
  tags: ["Operations"],
  summary: "What a problem `type` means",
  request: { params: ProblemParams },
  responses: {
    200: {
      description: "A short page explaining the problem code",
      content: { "text/html": { schema: z.string() } },
    },
    ...problems(400),
  },
});

function problemPage(code: ErrorCode): string {
  const { status, title, meaning } = problemEntry(code);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body><h1>${escapeHtml(title)}</h1>
<p>HTTP ${status}, <code>code: "${code}"</code></p>
<p>${escapeHtml(meaning).replace(/`([^`]+)`/g, "<code>$1</code>")}</p>
<p>See the <a href="/docs">API reference</a>.</p></body></html>`;
}

export const docsRouter = createRouter()
  .openapi(problemType, (c) => {
    const { code } = c.req.valid("param");
    return c.html(problemPage(code), 200);
  })
  .get("/docs", (c) => {
    c.header("Content-Security-Policy", DOCS_CSP);
    return c.html(PAGE);
  })
  .get("/docs/assets/swagger-ui-bundle.js", (c) =>
    c.body(c.var.deps.docsAssets.bundleJs, 200, {
      "Content-Type": "text/javascript; charset=utf-8",
      "Cache-Control": CACHE,
    }),
  )
  .get("/docs/assets/swagger-ui.css", (c) =>
    c.body(c.var.deps.docsAssets.css, 200, {
      "Content-Type": "text/css; charset=utf-8",
      "Cache-Control": CACHE,
    }),
  )
  .get("/docs/assets/init.js", (c) =>
    c.body(INIT, 200, { "Content-Type": "text/javascript; charset=utf-8" }),
  );
