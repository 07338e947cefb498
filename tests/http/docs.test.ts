import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import type { Server } from "bun";
import { createApp } from "../../src/core/http/app.ts";
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
import { PROJECT_ROOT } from "../support/process.ts";

/**
 * GET /docs: Swagger UI served by the app itself (no CDN), under a strict CSP, and proven to
 * render in a real browser: headless Chromium loads the page from a live server, with every
 * host other than 127.0.0.1 unresolvable, runs Swagger UI, which fetches /openapi.json and
 * renders the operations; a screenshot is kept in .data/ for a human to look at.
 */

const { browserTest, browserName } = browserTests("docs.test");

const SCREENSHOT = path.join(PROJECT_ROOT, ".data", "docs-screenshot.png");

/** Absolute http(s) URLs in a text, minus XML namespace names (not requests). */
const foreignUrls = (text: string) =>
  (text.match(/https?:\/\/[^\s"'()<>\\]+/g) ?? []).filter(
    (url) => !/^http:\/\/www\.w3\.org\/(2000\/svg|1999\/xlink)$/.test(url),
  );

describe("GET /docs: Swagger UI, self-hosted", () => {
  let server: Server<undefined>;
  let base: string;
  beforeAll(async () => {
    const app = createApp(await testHttpDeps());
    server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server.stop(true);
  });

  test("the page is HTML under a CSP that allows scripts from 'self' only", async () => {
    const res = await fetch(`${base}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html\b/);
    const csp = res.headers.get("content-security-policy") ?? "";
    const directives = new Map(
      csp
        .split(";")
        .map((d) => d.trim().split(/\s+/))
        .filter((words) => words[0])
        .map(([name, ...sources]) => [name, sources]),
    );
    expect(directives.get("script-src")).toEqual(["'self'"]);
    expect(directives.get("default-src")).toEqual(["'self'"]);
    expect(directives.get("connect-src")).toEqual(["'self'"]);
    expect(directives.get("frame-ancestors")).toEqual(["'none'"]);
    expect(csp).not.toContain("unsafe-eval");
    expect(csp).not.toMatch(/https?:|\*|blob:/);
    // Everything else keeps the app-wide policy.
    const json = await fetch(`${base}/healthz`);
    expect(json.headers.get("content-security-policy")).toBe(
      "default-src 'none'; frame-ancestors 'none'",
    );
  });

  test("the page, its stylesheet and its init script reference only this host", async () => {
    const page = await (await fetch(`${base}/docs`)).text();
    const references = [...page.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1] ?? "");
    expect(references.sort()).toEqual([
      "/docs/assets/init.js",
      "/docs/assets/swagger-ui-bundle.js",
      "/docs/assets/swagger-ui.css",
    ]);
    expect(page).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/); // no inline script
    expect(foreignUrls(page)).toEqual([]);

    const css = await (await fetch(`${base}/docs/assets/swagger-ui.css`)).text();
    expect(foreignUrls(css)).toEqual([]);
    expect(css).not.toMatch(/@import/);
    for (const [, url = ""] of css.matchAll(/url\(\s*["']?([^"')]*)/g)) {
      expect(url.startsWith("data:") || (url.startsWith("/") && !url.startsWith("//"))).toBe(true);
    }

    const init = await (await fetch(`${base}/docs/assets/init.js`)).text();
    expect(foreignUrls(init)).toEqual([]);
    expect(init).toContain('url: "/openapi.json"');
  });

  test("the assets and the document answer 200 with the right content types", async () => {
    const expected: Record<string, RegExp> = {
      "/docs/assets/swagger-ui-bundle.js": /^text\/javascript\b/,
      "/docs/assets/init.js": /^text\/javascript\b/,
      "/docs/assets/swagger-ui.css": /^text\/css\b/,
      "/openapi.json": /^application\/json\b/,
    };
    for (const [asset, type] of Object.entries(expected)) {
      const res = await fetch(`${base}${asset}`);
      expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
      expect(res.headers.get("content-type") ?? "").toMatch(type);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }
    const bundle = await (await fetch(`${base}/docs/assets/swagger-ui-bundle.js`)).text();
    expect(bundle).toContain("SwaggerUIBundle");
  });

  browserTest(
    browserName("renders in headless Chromium: the operations from /openapi.json, no other host"),
    async () => {
      // At 127.0.0.1, and at a public-looking name (Swagger UI treats localhost specially).
      for (const origin of [base, `http://${PUBLIC_LOOKING_HOST}:${server.port}`]) {
        const run = await runChromium(["--dump-dom", `${origin}/docs`]);
        const dom = run.stdout;
        expect({ origin, trouble: troubleIn(run) }).toEqual({ origin, trouble: [] });
        // Rendered by Swagger UI's JavaScript (the served page has an empty #swagger-ui).
        expect(dom).toMatch(/class="title"[^>]*>simplebank API/);
        for (const tag of ["Users", "Sessions", "Accounts", "Transfers", "Operations"]) {
          expect(dom).toContain(`data-tag="${tag}"`);
        }
        for (const route of ["/users", "/users/login", "/accounts", "/accounts/{id}"]) {
          expect(dom).toContain(`data-path="${route}"`);
        }
        expect(dom).toContain('data-path="/transfers"');
        expect(dom.match(/class="opblock-summary-method"/g)?.length ?? 0).toBeGreaterThan(10);
        // Nothing in the rendered page loads from elsewhere (links may point anywhere).
        expect(dom.match(/\b(?:src|srcset|data)="(?:https?:)?\/\/[^"]*"/g) ?? []).toEqual([]);
      }
    },
    2 * CHROMIUM_TIME_LIMIT_MS + 10_000,
  );

  browserTest(
    browserName("a screenshot shows the rendered reference (kept in .data/docs-screenshot.png)"),
    async () => {
      await mkdir(path.dirname(SCREENSHOT), { recursive: true });
      await rm(SCREENSHOT, { force: true });
      const run = await runChromium([
        `--screenshot=${SCREENSHOT}`,
        "--window-size=1280,2000",
        `${base}/docs`,
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
