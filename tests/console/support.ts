import { expect } from "bun:test";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import axe from "axe-core";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import postgres from "postgres";
import { consoleAssets } from "../../src/bun/console-assets.ts";
import { findChromium, ISOLATED_CHROMIUM_FLAGS } from "../support/chromium.ts";
import { testDatabase } from "../support/database.ts";
import { type EmailCapture, startEmailCapture } from "../support/email-capture.ts";
import { uniqueName } from "../support/fixtures.ts";
import { TEST_API_KEY } from "../support/jobs.ts";
import {
  freePort,
  PROJECT_ROOT,
  type ServerProcess,
  startProcess,
  startServer,
  stopServer,
  waitUntilReady,
} from "../support/process.ts";

/**
 * The web console's browser tests: a live API (`bun src/main.ts`, its job worker inside) on a
 * scratch database, the verification emails captured (the resend stand-in), and Playwright
 * (playwright-core) driving the machine's Chromium with DNS that knows only 127.0.0.1 and every
 * request to another origin than the allowed ones recorded and refused: no external request.
 * Screenshots go to CONSOLE_ARTIFACTS_DIR, by default artifacts/console/ (CI keeps them there).
 */

const ARTIFACTS_DIR =
  process.env.CONSOLE_ARTIFACTS_DIR ?? path.join(PROJECT_ROOT, "artifacts", "console");

const TOKEN_KEY = "0123456789abcdef0123456789abcdef";

export interface Stack {
  api: string;
  server: ServerProcess;
  capture: EmailCapture;
  databaseUrl: string;
  sql: postgres.Sql;
  browser: Browser;
  /** Every request the browser made to an origin outside `origins` (refused). */
  foreignRequests: string[];
  /** Origins the browser may reach (the API's, and the static hosts the test adds). */
  origins: Set<string>;
  newPage(options?: { width?: number }): Promise<{ context: BrowserContext; page: Page }>;
  grantBanker(username: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startStack(
  options: {
    env?: Record<string, string>;
    /** Origins to allow in ALLOWED_ORIGINS: ports picked by the caller. */
    allowedOrigins?: string[];
    /** The API's port (a free one by default). */
    port?: number;
  } = {},
): Promise<Stack> {
  const capture = startEmailCapture();
  const databaseUrl = await (await testDatabase()).scratchDatabase();
  const port = options.port ?? (await freePort());
  const api = `http://127.0.0.1:${port}`;
  const env = {
    DATABASE_URL: databaseUrl,
    TOKEN_SYMMETRIC_KEY: TOKEN_KEY,
    BCRYPT_COST: "4",
    RATE_LIMIT_ENABLED: "false",
    RESEND_API_KEY: TEST_API_KEY,
    RESEND_BASE_URL: capture.baseUrl,
    EMAIL_FROM: "Simple Bank <no-reply@bank.test>",
    APP_BASE_URL: api,
    ALLOWED_ORIGINS: (options.allowedOrigins ?? []).join(",") || api,
    LOG_LEVEL: "warn",
    ...options.env,
  };
  const server = startServer({ ...env, PORT: String(port) });
  await waitUntilReady(server);
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
  const executablePath = findChromium();
  if (!executablePath) throw new Error("no Chromium");
  const browser = await chromium.launch({
    executablePath,
    args: [...ISOLATED_CHROMIUM_FLAGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
  });
  const origins = new Set([api]);
  const foreignRequests: string[] = [];
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  return {
    api,
    server,
    capture,
    databaseUrl,
    sql,
    browser,
    foreignRequests,
    origins,
    async newPage({ width = 1280 } = {}) {
      const context = await browser.newContext({ viewport: { width, height: 900 } });
      await context.route("**/*", (route) => {
        const url = route.request().url();
        if (origins.has(new URL(url).origin)) return route.fallback();
        foreignRequests.push(url);
        return route.abort("blockedbyclient");
      });
      const page = await context.newPage();
      page.setDefaultTimeout(30_000);
      return { context, page };
    },
    async grantBanker(username) {
      const cli = startProcess("src/cli.ts", env, 0, ["grant-role", username, "banker"]);
      const code = await cli.process.exited;
      if (code !== 0) throw new Error(`grant-role failed:\n${cli.output()}`);
    },
    async stop() {
      await browser.close().catch(() => {});
      await sql.end();
      await stopServer(server);
      await capture.stop();
    },
  };
}

/** One JSON request to the API; the reply's status, headers and parsed body. */
export async function apiCall(
  stack: Stack,
  method: string,
  path: string,
  options: { body?: unknown; token?: string } = {},
) {
  const res = await fetch(`${stack.api}${path}`, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { "Content-Type": "application/json" }),
      ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: test replies are read field by field
  const body: any =
    text && /json/.test(res.headers.get("Content-Type") ?? "") ? JSON.parse(text) : text;
  return { status: res.status, headers: res.headers, body };
}

/** A new user over the API (not through the console), with a USD account when asked. */
export async function apiUser(stack: Stack, options: { account?: boolean } = {}) {
  const username = uniqueName("c");
  const password = `pw-${crypto.randomUUID()}`;
  const post = (path: string, body: unknown, token?: string) =>
    fetch(`${stack.api}${path}`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    });
  const created = await post("/users", {
    username,
    password,
    full_name: "Console Test",
    email: `${username}@example.com`,
  });
  if (created.status !== 201) throw new Error(`sign-up failed: ${await created.text()}`);
  const login = (await (await post("/users/login", { username, password })).json()) as {
    access_token: string;
    refresh_token: string;
    session_id: string;
  };
  let accountId: number | undefined;
  if (options.account) {
    const account = await post("/accounts", { currency: "USD" }, login.access_token);
    accountId = ((await account.json()) as { id: number }).id;
  }
  return { username, password, ...login, accountId };
}

/** The verification link of the email sent to `email`. */
export async function verificationLink(stack: Stack, email: string): Promise<string> {
  const sent = await stack.capture.waitFor((e) => e.body.to?.[0] === email && e.delivered, 30_000);
  const link = /(https?:\/\/[^\s"<>]+\/verify_email\?[^\s"<>]+)/.exec(String(sent.body.text))?.[1];
  if (!link) throw new Error(`no link in ${String(sent.body.text)}`);
  return link.replaceAll("&amp;", "&");
}

/**
 * The page is accessible (axe-core: zero violations of any impact, WCAG 2.x A/AA and best
 * practices) and, at a phone's width, nothing overflows horizontally; a screenshot is kept.
 */
export async function checkPage(page: Page, name: string): Promise<void> {
  await page.locator("main h1").waitFor();
  await page.evaluate(axe.source);
  // Evaluated in the page (strings: these tests are type-checked without the DOM's types).
  const violations = (await page.evaluate(`axe
    .run(document, { resultTypes: ["violations"] })
    .then((result) => result.violations.map((v) =>
      v.impact + " " + v.id + ": " + v.nodes.map((n) => n.target.join(" ")).join(", ")))`)) as string[];
  expect({ page: name, violations }).toEqual({ page: name, violations: [] });
  // What sticks out past the right edge (none, when nothing overflows).
  const overflow = await page.evaluate(`[...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
    .filter((e) => !e.closest(".table-wrap") || e.classList.contains("table-wrap"))
    .map((e) => e.tagName.toLowerCase() + (e.className ? "." + e.className : ""))`);
  const width = await page.evaluate(
    "document.documentElement.scrollWidth - document.documentElement.clientWidth",
  );
  expect({ page: name, width, overflow }).toEqual({ page: name, width: 0, overflow: [] });
  const viewport = page.viewportSize()?.width ?? 0;
  await page.screenshot({
    path: path.join(ARTIFACTS_DIR, `${name}-${viewport}.png`),
    fullPage: true,
  });
}

/** A static host serving the console's build apart from the API, pointed at `apiBase`. */
export async function startStaticHost(apiBase: string, port: number) {
  const index = consoleAssets["/index.html"];
  const server = Bun.serve({
    port,
    hostname: "127.0.0.1",
    fetch(request) {
      const { pathname } = new URL(request.url);
      if (pathname === "/console-config.json") {
        return Response.json({ api_base: apiBase });
      }
      const file = consoleAssets[pathname] ?? (pathname.startsWith("/assets/") ? undefined : index);
      if (!file) return new Response("not found", { status: 404 });
      return new Response(file.body, {
        headers: {
          "Content-Type": file.contentType,
          "Content-Security-Policy": `default-src 'self'; connect-src 'self' ${apiBase}; frame-ancestors 'none'`,
        },
      });
    },
  });
  return { origin: `http://127.0.0.1:${port}`, stop: () => server.stop(true) };
}
