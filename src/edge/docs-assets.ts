import swaggerCss from "swagger-ui-dist/swagger-ui.css";
import swaggerBundle from "swagger-ui-dist/swagger-ui-bundle.js";
import type { DocsAssets } from "../core/http/env.ts";

/**
 * Swagger UI's files for /docs, bundled into the Worker as text modules (wrangler.toml's Text
 * rule matches these two files).
 */
export const docsAssets: DocsAssets = { bundleJs: swaggerBundle, css: swaggerCss };
