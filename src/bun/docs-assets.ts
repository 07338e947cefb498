import swaggerCss from "swagger-ui-dist/swagger-ui.css" with { type: "text" };
import swaggerBundle from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "text" };
import type { DocsAssets } from "../core/http/env.ts";

/** Swagger UI's files for /docs, embedded by Bun as text (and into a compiled binary). */
export const docsAssets: DocsAssets = { bundleJs: swaggerBundle, css: swaggerCss };
