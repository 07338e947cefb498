import { describe, expect, test } from "bun:test";
import { PAGES } from "../../console/src/paths.ts";
import { consoleAssets } from "../../src/bun/console-assets.ts";
import { createApp } from "../../src/core/http/app.ts";
import {
  CONSOLE_CSP,
  CONSOLE_PAGES,
  prefersHtml,
} from "../../src/core/http/routes/console/console.index.ts";
import { call, callOn, expectProblem, testHttpDeps } from "../support/app.ts";

/**
 * The web console served by the API (over `call`, so on the Worker too with TEST_TARGET=edge):
 * index.html at exactly the console's pages, under a strict CSP and no-cache; the hashed files
 * with immutable caching; every other path the API's 404; GET /verify_email as the console's
 * landing page only for a browser's navigation, the JSON API for anything else.
 */

/** Chrome's Accept for a navigation (a link opened from an email). */
const CHROME_NAVIGATION =
  "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7";

const index = consoleAssets["/index.html"];
const pagePaths = CONSOLE_PAGES.map((page) => page.replace(":id{[0-9]+}", "42"));

function expectIndexPage(reply: { status: number; headers: Headers; body: unknown }) {
  expect(reply.status).toBe(200);
  expect(reply.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
  expect(reply.headers.get("Cache-Control")).toBe("no-cache");
  expect(reply.headers.get("Content-Security-Policy")).toBe(CONSOLE_CSP);
  expect(reply.body).toBe(index?.body ?? "missing");
}

describe("the console's pages", () => {
  test("the build has an index.html that loads only its own hashed files", () => {
    const page = index?.body ?? "";
    const references = [...page.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1] ?? "");
    expect(references.length).toBeGreaterThanOrEqual(2);
    for (const reference of references) {
      expect(reference).toMatch(/^\/assets\/[\w-]+-[\w-]{8}\.(js|css)$/);
      expect(consoleAssets[reference]).toBeDefined();
    }
    expect(page).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/); // no inline script
    expect(page).not.toMatch(/\sstyle=/);
  });

  test("the API's list of pages is the console router's", () => {
    const fromConsole = Object.values(PAGES).map((page) => page.replace(":id(\\d+)", "42"));
    expect(fromConsole.sort()).toEqual([...pagePaths, "/verify_email"].sort());
  });

  test.each(pagePaths)("GET %s: index.html, no-cache, the console's CSP", async (path) => {
    expectIndexPage(await call("GET", path, { headers: { Accept: CHROME_NAVIGATION } }));
    // Whatever the Accept: these paths are the console's only.
    expectIndexPage(await call("GET", path));
  });

  test("the CSP allows nothing but this origin, and nothing inline", () => {
    const directives = new Map(
      CONSOLE_CSP.split(";").map((d) => {
        const [name = "", ...sources] = d.trim().split(/\s+/);
        return [name, sources];
      }),
    );
    expect(directives.get("default-src")).toEqual(["'self'"]);
    expect(directives.get("script-src")).toEqual(["'self'"]);
    expect(directives.get("style-src")).toEqual(["'self'"]);
    expect(directives.get("connect-src")).toEqual(["'self'"]);
    expect(directives.get("frame-ancestors")).toEqual(["'none'"]);
    expect(CONSOLE_CSP).not.toMatch(/unsafe|https?:|\*|blob:/);
  });

  test.each([
    "/app",
    "/app/",
    "/app/accounts/abc",
    "/app/accounts/42/x",
    "/app/nope",
    "/signup/x",
    "/index.html",
    "/assets",
    "/assets/missing-12345678.js",
    "/assets/../index.html",
  ])("GET %s: the API's 404 problem", async (path) => {
    expectProblem(
      await call("GET", path, { headers: { Accept: CHROME_NAVIGATION } }),
      404,
      "not_found",
    );
  });

  test("a page with another method: 405 naming GET", async () => {
    const reply = await call("POST", "/login", { body: "{}" });
    expectProblem(reply, 405, "method_not_allowed");
    expect(reply.headers.get("Allow")).toContain("GET");
  });

  test("the hashed files: their content type, cached for a year as immutable", async () => {
    const files = Object.keys(consoleAssets).filter((name) => name.startsWith("/assets/"));
    expect(files.some((name) => name.endsWith(".js"))).toBe(true);
    expect(files.some((name) => name.endsWith(".css"))).toBe(true);
    for (const name of files) {
      const reply = await call<string>("GET", name);
      expect(reply.status).toBe(200);
      expect(reply.headers.get("Content-Type")).toBe(consoleAssets[name]?.contentType ?? "");
      expect(reply.headers.get("Cache-Control")).toBe("public, max-age=31536000, immutable");
      expect(reply.body).toBe(consoleAssets[name]?.body ?? "");
    }
  });

  test("/console-config.json points the console at this origin", async () => {
    const reply = await call("GET", "/console-config.json");
    expect(reply.status).toBe(200);
    expect(reply.headers.get("Cache-Control")).toBe("no-cache");
    expect(reply.body).toEqual({ api_base: "" });
  });

  test("CORS exposes Link to an allowed origin: a console hosted apart can page statements", async () => {
    const reply = await call("GET", "/healthz", { headers: { Origin: "http://localhost:3000" } });
    const exposed = (reply.headers.get("Access-Control-Expose-Headers") ?? "")
      .toLowerCase()
      .split(/\s*,\s*/);
    expect(exposed).toContain("link");
  });

  test("a server without the console's build answers its pages 404", async () => {
    const app = createApp(await testHttpDeps({ consoleAssets: {} }));
    expectProblem(await callOn(app, "GET", "/login"), 404, "not_found");
    expectProblem(await callOn(app, "GET", "/assets/index-12345678.js"), 404, "not_found");
  });
});

describe("GET /verify_email: the console's landing page, or the JSON API", () => {
  const query = "?email_id=1&secret_code=not-a-real-code-but-long-enough-000";

  test("a browser's navigation (text/html first) gets the console's page", async () => {
    expectIndexPage(
      await call("GET", `/verify_email${query}`, { headers: { Accept: CHROME_NAVIGATION } }),
    );
    expectIndexPage(
      await call("GET", `/verify_email${query}`, {
        headers: { Accept: "text/html, application/json" },
      }),
    );
  });

  test.each([
    ["no Accept", undefined],
    ["*/*", "*/*"],
    ["application/json", "application/json"],
    ["JSON before text/html", "application/json, text/html"],
    ["problem+json before text/html", "application/problem+json,text/html"],
    ["text/html refused (q=0)", "text/html;q=0, */*"],
    ["text/plain", "text/plain"],
  ])("%s: the JSON API, as before", async (_name, accept) => {
    const headers: Record<string, string> = accept === undefined ? {} : { Accept: accept };
    // An unknown link: the API's 422; malformed parameters: its 400.
    expectProblem(
      await call("GET", `/verify_email${query}`, { headers }),
      422,
      "verification_failed",
    );
    expectProblem(await call("GET", "/verify_email", { headers }), 400, "validation_failed");
  });

  test("prefersHtml reads the order and q=0", () => {
    expect(prefersHtml(CHROME_NAVIGATION)).toBe(true);
    expect(prefersHtml("TEXT/HTML")).toBe(true);
    expect(prefersHtml("text/html;q=0.5, application/json;q=1")).toBe(true); // order decides
    expect(prefersHtml(undefined)).toBe(false);
    expect(prefersHtml("")).toBe(false);
    expect(prefersHtml("*/*")).toBe(false);
    expect(prefersHtml("application/json, text/html")).toBe(false);
    expect(prefersHtml("text/html;q=0")).toBe(false);
  });
});
