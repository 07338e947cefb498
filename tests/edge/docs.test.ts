import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { createApp } from "../../src/core/http/app.ts";
import type { LocalWorker } from "../../tools/edge/workerd.ts";
import { testHttpDeps } from "../support/app.ts";
import {
  browserTests,
  CHROMIUM_TIME_LIMIT_MS,
  decodePng,
  expectSwaggerUiRendered,
  PUBLIC_LOOKING_HOST,
  runChromium,
  troubleIn,
} from "../support/chromium.ts";
import { logLines, startEdge, stopEdges } from "../support/edge.ts";
import { poll } from "../support/poll.ts";
import { PROJECT_ROOT } from "../support/process.ts";

/**
 * GET /docs on the Worker, in workerd itself (the built bundle, Swagger UI's files bundled as
 * text modules): the same page, assets and document as the Bun server's, and proven to render
 * in a real browser as tests/http/docs.test.ts proves for the Bun server: headless Chromium
 * loads the page from the Worker with every host other than 127.0.0.1 unresolvable, runs
 * Swagger UI, which fetches /openapi.json from the Worker (its log shows the request) and
 * renders the operations; a screenshot is kept in .data/docs-edge-screenshot.png.
 */

const { browserTest, browserName } = browserTests("edge/docs.test");

const SCREENSHOT = path.join(PROJECT_ROOT, ".data", "docs-edge-screenshot.png");

/** What the Bun server serves at these paths, byte for byte, the Worker must serve too. */
const SAME_AS_BUN = [
  "/docs",
  "/docs/assets/init.js",
  "/docs/assets/swagger-ui-bundle.js",
  "/docs/assets/swagger-ui.css",
  "/openapi.json",
];

let edge: LocalWorker;
let port: string;

beforeAll(async () => {
  edge = await startEdge();
  port = new URL(edge.url).port;
}, 60_000);

afterAll(stopEdges);

/** The Worker's "request" log lines for `path` (one per request it served). */
const requestsFor = (path: string) =>
  logLines(edge).filter((line) => line.includes(" request ") && line.includes(`"path":"${path}"`));

describe("GET /docs on the Worker: Swagger UI, self-hosted", () => {
  test("the page, its assets and the document are the Bun server's, with the same headers", async () => {
    const bun = createApp(await testHttpDeps());
    for (const asset of SAME_AS_BUN) {
      const [onEdge, onBun] = [await fetch(`${edge.url}${asset}`), await bun.request(asset)];
      expect({ asset, status: onEdge.status }).toEqual({ asset, status: 200 });
      for (const header of ["content-type", "content-security-policy", "x-content-type-options"]) {
        expect({ asset, header, value: onEdge.headers.get(header) }).toEqual({
          asset,
          header,
          value: onBun.headers.get(header),
        });
      }
      const [edgeBody, bunBody] = [await onEdge.text(), await onBun.text()];
      expect({ asset, bytes: edgeBody.length }).toEqual({ asset, bytes: bunBody.length });
      expect(edgeBody === bunBody).toBe(true);
    }
    const csp = (await fetch(`${edge.url}/docs`)).headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/https?:|\*|blob:|unsafe-eval/);
  });

  browserTest(
    browserName("renders in headless Chromium: the operations from the Worker's /openapi.json"),
    async () => {
      // At 127.0.0.1, and at a public-looking name (Swagger UI treats localhost specially).
      for (const origin of [edge.url, `http://${PUBLIC_LOOKING_HOST}:${port}`]) {
        const fetchedBefore = requestsFor("/openapi.json").length;
        const run = await runChromium(["--dump-dom", `${origin}/docs`]);
        const dom = run.stdout;
        expect({ origin, trouble: troubleIn(run) }).toEqual({ origin, trouble: [] });
        // Rendered by Swagger UI's JavaScript (the served page has an empty #swagger-ui).
        expect(dom).toMatch(/class="title"[^>]*>simplebank API/);
        for (const tag of ["Users", "Sessions", "Accounts", "Transfers", "Operations"]) {
          expect(dom).toContain(`data-tag="${tag}"`);
        }
        for (const route of [
          "/users",
          "/users/login",
          "/accounts",
          "/accounts/{id}",
          "/transfers",
        ]) {
          expect(dom).toContain(`data-path="${route}"`);
        }
        expect(dom.match(/class="opblock-summary-method"/g)?.length ?? 0).toBeGreaterThan(10);
        // Nothing in the rendered page loads from elsewhere (links may point anywhere).
        expect(dom.match(/\b(?:src|srcset|data)="(?:https?:)?\/\/[^"]*"/g) ?? []).toEqual([]);
        // The document came from the Worker, fetched by the page (its log line may trail).
        await poll(
          "the Worker to log the page's GET /openapi.json",
          () => requestsFor("/openapi.json").length > fetchedBefore,
        );
        const fetched = requestsFor("/openapi.json").slice(fetchedBefore);
        expect({ origin, fetched: fetched.length }).toEqual({ origin, fetched: 1 });
        expect(fetched[0]).toContain('"status":200');
      }
    },
    2 * CHROMIUM_TIME_LIMIT_MS + 10_000,
  );

  browserTest(
    browserName(
      "a screenshot shows the rendered reference (kept in .data/docs-edge-screenshot.png)",
    ),
    async () => {
      await mkdir(path.dirname(SCREENSHOT), { recursive: true });
      await rm(SCREENSHOT, { force: true });
      const run = await runChromium([
        `--screenshot=${SCREENSHOT}`,
        "--window-size=1280,2000",
        `${edge.url}/docs`,
      ]);
      expect(troubleIn(run)).toEqual([]);
      const bytes = new Uint8Array(await Bun.file(SCREENSHOT).arrayBuffer());
      expect(bytes.byteLength).toBeGreaterThan(30_000); // a blank page is a few kB
      const png = decodePng(bytes);
      expect([png.width, png.height]).toEqual([1280, 2000]);

      expectSwaggerUiRendered(png);
    },
    CHROMIUM_TIME_LIMIT_MS + 10_000,
  );
});
