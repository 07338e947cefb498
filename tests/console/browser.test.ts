import { afterAll, beforeAll, describe, expect } from "bun:test";
import type { Page } from "playwright-core";
import { browserTests } from "../support/chromium.ts";
import { uniqueName } from "../support/fixtures.ts";
import { freePort } from "../support/process.ts";
import {
  apiCall,
  apiUser,
  checkPage,
  type Stack,
  startStack,
  startStaticHost,
  verificationLink,
} from "./support.ts";

/**
 * The web console in a real browser (Playwright driving Chromium) against a live API whose
 * access tokens last 4 seconds (so every test also runs through background renewals): the main
 * flow from sign-up to logout with a banker in a second browser context; a double click on
 * "Pay" and a retry after a lost answer each pay once; an expired access token renewed on a 401
 * without the user noticing; the console hosted on another origin works through CORS, and from
 * an origin the API does not allow it shows a clear error and no data; every page passes axe
 * and fits a phone's width; screenshots in artifacts/console/.
 */

const { browserTest, browserName } = browserTests("console/browser.test");

const ACCESS_TOKEN_SECONDS = 4;

let stack: Stack;
let allowedHost: { origin: string; stop(): void };
let deniedHost: { origin: string; stop(): void };

beforeAll(async () => {
  if (browserName("x") !== "x") return; // no Chromium: every test is skipped
  const [apiPort, allowedPort, deniedPort] = [await freePort(), await freePort(), await freePort()];
  const api = `http://127.0.0.1:${apiPort}`;
  allowedHost = await startStaticHost(api, allowedPort);
  deniedHost = await startStaticHost(api, deniedPort);
  stack = await startStack({
    port: apiPort,
    allowedOrigins: [allowedHost.origin],
    env: { ACCESS_TOKEN_DURATION: `${ACCESS_TOKEN_SECONDS}s` },
  });
  stack.origins.add(allowedHost.origin);
  stack.origins.add(deniedHost.origin);
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  allowedHost?.stop();
  deniedHost?.stop();
});

async function logInThroughForm(page: Page, base: string, username: string, password: string) {
  await page.goto(`${base}/login`);
  await page.getByLabel("Username", { exact: true }).fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { name: "Your accounts" }).waitFor();
}

/** The rows of the statement on screen, as [description, memo, amount, balance]. */
async function statementRows(page: Page): Promise<string[][]> {
  await page.getByTestId("entries").waitFor();
  return page
    .locator("[data-testid=entries] tbody tr")
    .evaluateAll((rows) =>
      rows.map((row) =>
        [...row.querySelectorAll("td")].slice(1).map((cell) => cell.textContent?.trim() ?? ""),
      ),
    );
}

async function activeSessions(username: string): Promise<number> {
  const [row] = await stack.sql<{ n: number }[]>`
    select count(*)::int as n from sessions
    where username = ${username} and not is_blocked and expires_at > now()`;
  return row?.n ?? -1;
}

/** A banker, logged in over the API after the role was granted. */
async function banker() {
  const user = await apiUser(stack);
  await stack.grantBanker(user.username);
  const login = await apiCall(stack, "POST", "/users/login", {
    body: { username: user.username, password: user.password },
  });
  return { ...user, access_token: login.body.access_token as string };
}

async function deposit(token: string, accountId: number, amount: number) {
  const res = await apiCall(stack, "POST", `/accounts/${accountId}/deposits`, {
    token,
    body: { amount, currency: "USD" },
  });
  expect(res.status).toBe(201);
}

describe("the web console in Chromium", () => {
  browserTest(
    browserName(
      "sign up → emailed link → login → open an account → a banker deposits → pay by username → both statements → end the other session → logout",
    ),
    async () => {
      const alice = {
        username: uniqueName("alice"),
        password: `pw-${crypto.randomUUID()}`,
        email: "",
      };
      alice.email = `${alice.username}@example.com`;
      const { page } = await stack.newPage();

      // Sign up.
      await page.goto(`${stack.api}/signup`);
      await checkPage(page, "signup");
      await page.getByLabel("Username", { exact: true }).fill(alice.username);
      await page.getByLabel("Full name").fill("Alice Console");
      await page.getByLabel("Email").fill(alice.email);
      await page.getByLabel("Password", { exact: true }).fill(alice.password);
      await page.getByRole("button", { name: "Sign up" }).click();
      await page.getByTestId("signup-done").waitFor();

      // The emailed link opens the console's landing page, which verifies the address.
      const link = await verificationLink(stack, alice.email);
      expect(link.startsWith(`${stack.api}/verify_email?`)).toBe(true);
      await page.goto(link);
      await page.getByTestId("verified").waitFor();
      await checkPage(page, "verify-email");

      // Log in; open a USD account.
      await page.getByRole("link", { name: "Go to login" }).click();
      await page.getByRole("heading", { name: "Log in" }).waitFor();
      await checkPage(page, "login");
      await page.getByLabel("Username", { exact: true }).fill(alice.username);
      await page.getByLabel("Password", { exact: true }).fill(alice.password);
      await page.getByRole("button", { name: "Log in" }).click();
      await page.getByRole("heading", { name: "Your accounts" }).waitFor();
      expect(page.url()).toBe(`${stack.api}/app/accounts`);
      await page.getByLabel("Currency").selectOption("USD");
      await page.getByRole("button", { name: "Open account" }).click();
      const card = page.locator("[data-account-id]");
      await card.waitFor();
      const aliceAccount = Number(await card.getAttribute("data-account-id"));
      expect(await card.getByTestId("balance").textContent()).toBe("0.00 USD");
      await checkPage(page, "accounts");

      // A banker, in a browser context of their own, deposits 100.00.
      const teller = await apiUser(stack);
      await stack.grantBanker(teller.username);
      const bankerTab = await stack.newPage();
      await logInThroughForm(bankerTab.page, stack.api, teller.username, teller.password);
      await bankerTab.page.getByRole("link", { name: "Banker" }).click();
      await bankerTab.page.getByLabel("Customer's username").fill(alice.username);
      await bankerTab.page.getByRole("button", { name: "Look up" }).click();
      await bankerTab.page.getByTestId("banker-accounts").waitFor();
      await bankerTab.page.getByLabel("Amount").fill("100.00");
      await checkPage(bankerTab.page, "banker");
      await bankerTab.page.getByRole("button", { name: "Deposit" }).click();
      const receipt = await bankerTab.page.getByTestId("cash-receipt").textContent();
      expect(receipt).toContain(`Deposited 100.00 USD to account #${aliceAccount}`);
      expect(receipt).toContain("New balance: 100.00 USD");
      await bankerTab.context.close();

      // Alice pays bob 12.34 by username.
      const bob = await apiUser(stack, { account: true });
      await page.reload();
      await page.getByRole("heading", { name: "Your accounts" }).waitFor();
      expect(await card.getByTestId("balance").textContent()).toBe("100.00 USD");
      await page.getByRole("link", { name: "Pay", exact: true }).click();
      await page.getByRole("heading", { name: "Pay someone" }).waitFor();
      await page.getByLabel("Recipient's username").fill(bob.username);
      await page.getByLabel("Amount").fill("12.34");
      await page.getByLabel("Memo (optional)").fill("Lunch");
      await checkPage(page, "pay");
      await page.getByTestId("pay").click();
      const paid = await page.getByTestId("receipt").textContent();
      expect(paid).toContain(`Paid 12.34 USD to ${bob.username}`);
      expect(paid).toContain("New balance: 87.66 USD");

      // Both statements show the running balances.
      await page.getByRole("link", { name: "Accounts" }).click();
      await page.getByRole("link", { name: `Statement of account #${aliceAccount}` }).click();
      expect(await statementRows(page)).toEqual([
        [`Paid to ${bob.username}`, "Lunch", "−12.34 USD", "87.66 USD"],
        ["Deposit", "", "100.00 USD", "100.00 USD"],
      ]);
      expect(await page.getByTestId("statement-balance").textContent()).toBe("87.66 USD");
      await checkPage(page, "statement");
      const bobTab = await stack.newPage();
      await logInThroughForm(bobTab.page, stack.api, bob.username, bob.password);
      await bobTab.page.goto(`${stack.api}/app/accounts/${bob.accountId}`);
      expect(await statementRows(bobTab.page)).toEqual([
        [`Received from ${alice.username}`, "Lunch", "12.34 USD", "12.34 USD"],
      ]);
      await bobTab.context.close();

      // Alice ends her other session (a login elsewhere), then logs out.
      const elsewhere = await apiCall(stack, "POST", "/users/login", {
        body: { username: alice.username, password: alice.password },
      });
      expect(await activeSessions(alice.username)).toBe(2);
      await page.getByRole("link", { name: "Sessions" }).click();
      await page.getByRole("heading", { name: "Your sessions" }).waitFor();
      const rows = page.locator("[data-testid=sessions] tbody tr");
      await rows.nth(1).waitFor();
      await checkPage(page, "sessions");
      await page
        .locator(`[data-session-id="${elsewhere.body.session_id}"]`)
        .getByRole("button", { name: /End session/ })
        .click();
      await page.getByText("Ended the session").waitFor();
      expect(await rows.count()).toBe(1);
      const renewed = await apiCall(stack, "POST", "/tokens/renew_access", {
        body: { refresh_token: elsewhere.body.refresh_token },
      });
      expect(renewed.status).toBe(401);
      expect(await activeSessions(alice.username)).toBe(1);

      await page.getByRole("button", { name: "Log out" }).first().click();
      await page.getByRole("heading", { name: "Log in" }).waitFor();
      expect(await activeSessions(alice.username)).toBe(0);
      expect(await page.evaluate("sessionStorage.getItem('simplebank.session')")).toBeNull();
      // A reload stays logged out; the console's pages need a session.
      await page.goto(`${stack.api}/app/accounts`);
      await page.getByRole("heading", { name: "Log in" }).waitFor();
      expect(new URL(page.url()).pathname).toBe("/login");
      expect(stack.foreignRequests).toEqual([]);
    },
    240_000,
  );

  browserTest(
    browserName("a double click on Pay, and a retry after a lost answer, each pay once"),
    async () => {
      const teller = await banker();
      const payer = await apiUser(stack, { account: true });
      const payee = await apiUser(stack, { account: true });
      await deposit(teller.access_token, payer.accountId ?? 0, 10_000);
      const { page } = await stack.newPage();
      await logInThroughForm(page, stack.api, payer.username, payer.password);
      await page.goto(`${stack.api}/app/pay?from=${payer.accountId}`);
      const pay = async (amount: string, click: () => Promise<void>) => {
        await page.getByLabel("Recipient's username").fill(payee.username);
        await page.getByLabel("Amount").fill(amount);
        await click();
      };
      const button = page.getByTestId("pay");

      // A real double click; then two clicks within one task, before the page can re-render.
      await pay("1.00", () => button.dblclick());
      await page.getByTestId("receipt").getByText("Paid 1.00 USD").waitFor();
      await pay("2.00", () =>
        button.evaluate((b: { click(): void }) => {
          b.click();
          b.click();
        }),
      );
      await page.getByTestId("receipt").getByText("Paid 2.00 USD").waitFor();

      // The answer to the first attempt is lost (the API did pay); the retry reuses its key.
      const keys: string[] = [];
      let replayed = "";
      await page.route("**/transfers", async (route) => {
        keys.push((await route.request().headerValue("idempotency-key")) ?? "");
        if (keys.length === 1) {
          await route.fetch();
          await route.abort("connectionreset");
          return;
        }
        const response = await route.fetch();
        replayed = response.headers()["idempotent-replayed"] ?? "";
        await route.fulfill({ response });
      });
      await pay("3.00", () => button.click());
      await page.getByTestId("error").getByText("Cannot reach the bank").waitFor();
      await button.click();
      await page.getByTestId("receipt").getByText("Paid 3.00 USD").waitFor();
      expect(keys.length).toBe(2);
      expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
      expect(keys[1]).toBe(keys[0] ?? "");
      expect(replayed).toBe("true");

      const transfers = await stack.sql<{ amount: number }[]>`
        select amount::int as amount from transfers
        where from_account_id = ${payer.accountId ?? 0} order by id`;
      expect(transfers.map((t) => t.amount)).toEqual([100, 200, 300]);
      expect(await page.getByLabel("From account").textContent()).toContain("94.00 USD");
    },
    180_000,
  );

  browserTest(
    browserName(
      "an expired access token is renewed without the user noticing (in the background, and on a 401)",
    ),
    async () => {
      const user = await apiUser(stack, { account: true });
      const { context, page } = await stack.newPage();
      // The page's timers on a clock the test can stop (it runs at real speed until then).
      await context.clock.install();
      const renewals: number[] = [];
      const unauthorized: string[] = [];
      page.on("response", (response) => {
        const url = new URL(response.url());
        if (url.pathname === "/tokens/renew_access") renewals.push(response.status());
        else if (response.status() === 401) unauthorized.push(url.pathname);
      });

      // Keyboard only: the form is reachable and submitted with Tab and Enter.
      await page.goto(`${stack.api}/login`);
      await page.getByRole("heading", { name: "Log in" }).waitFor();
      await page.keyboard.press("Tab"); // the first stop skips to the content
      expect(await page.evaluate("document.activeElement.textContent")).toBe("Skip to content");
      await page.getByLabel("Username", { exact: true }).focus();
      await page.keyboard.type(user.username);
      await page.keyboard.press("Tab");
      await page.keyboard.type(user.password);
      await page.keyboard.press("Enter");
      await page.getByRole("heading", { name: "Your accounts" }).waitFor();

      // In the background: after two lifetimes of the first token, pages still load.
      await Bun.sleep(ACCESS_TOKEN_SECONDS * 2 * 1000);
      expect(renewals.filter((s) => s === 200).length).toBeGreaterThanOrEqual(2);
      await page.getByRole("link", { name: "Sessions" }).click();
      await page.getByRole("heading", { name: "Your sessions" }).waitFor();
      await page.locator("[data-testid=sessions] tbody tr").first().waitFor();
      // (A 401 here would still be renewed and retried; on a loaded machine a timer can be late.)
      expect(renewals.every((s) => s === 200)).toBe(true);
      // After a navigation, focus is on the new page's heading (screen readers announce it).
      expect(await page.evaluate("document.activeElement.outerHTML")).toMatch(
        /^<h1 [^>]*>Your sessions<\/h1>$/,
      );

      // On a 401: the page's timers stop (the laptop slept), the token expires meanwhile; the
      // next request gets a 401, the console renews once and retries.
      await page.clock.pauseAt(Date.now() + 500);
      const before = renewals.length;
      const refusedBefore = unauthorized.length;
      await Bun.sleep(ACCESS_TOKEN_SECONDS * 1000 + 1000);
      await page.getByRole("link", { name: "Accounts" }).click();
      await page.getByRole("heading", { name: "Your accounts" }).waitFor();
      await page.locator("[data-account-id]").waitFor();
      expect(unauthorized.slice(refusedBefore)).toEqual(["/accounts"]);
      expect(renewals.slice(before)).toEqual([200]);
      expect(new URL(page.url()).pathname).toBe("/app/accounts");
      await context.close();
    },
    180_000,
  );

  browserTest(
    browserName(
      "hosted apart: from an allowed origin it works through CORS; from another, a clear error and no data",
    ),
    async () => {
      const user = await apiUser(stack, { account: true });
      const teller = await banker();
      await deposit(teller.access_token, user.accountId ?? 0, 4_200);
      const allowed = await stack.newPage();
      const apiRequests: string[] = [];
      allowed.page.on("request", (request) => {
        if (request.url().startsWith(stack.api)) apiRequests.push(new URL(request.url()).pathname);
      });
      await logInThroughForm(allowed.page, allowedHost.origin, user.username, user.password);
      expect(new URL(allowed.page.url()).origin).toBe(allowedHost.origin);
      expect(await allowed.page.getByTestId("balance").textContent()).toBe("42.00 USD");
      await allowed.page.getByRole("link", { name: /^Statement/ }).click();
      expect(await statementRows(allowed.page)).toEqual([
        ["Deposit", "", "42.00 USD", "42.00 USD"],
      ]);
      // Eleven more deposits: two pages of ten, newest first, read through the Link header
      // (exposed to this origin by CORS); then a date filter that matches nothing.
      for (let i = 1; i <= 11; i++) await deposit(teller.access_token, user.accountId ?? 0, i);
      await allowed.page.getByRole("button", { name: "Show" }).click();
      await allowed.page.getByText("0.11 USD").first().waitFor();
      const first = await statementRows(allowed.page);
      expect(first.length).toBe(10);
      expect(first[0]).toEqual(["Deposit", "", "0.11 USD", "42.66 USD"]);
      await allowed.page.getByRole("button", { name: "Next page" }).click();
      await allowed.page.locator("[data-testid=entries] tbody tr").nth(1).waitFor();
      await allowed.page.getByText("0.01 USD").first().waitFor();
      expect(await statementRows(allowed.page)).toEqual([
        ["Deposit", "", "0.01 USD", "42.01 USD"],
        ["Deposit", "", "42.00 USD", "42.00 USD"],
      ]);
      expect(await allowed.page.getByRole("button", { name: "Next page" }).isDisabled()).toBe(true);
      await allowed.page.getByRole("button", { name: "Previous page" }).click();
      await allowed.page.getByText("0.11 USD").first().waitFor();
      expect((await statementRows(allowed.page)).length).toBe(10);
      const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
      await allowed.page.getByLabel("From (day, UTC)").fill(tomorrow);
      await allowed.page.getByRole("button", { name: "Show" }).click();
      await allowed.page.getByText("No entries.").waitFor();
      expect(apiRequests).toContain("/users/login");
      expect(apiRequests).toContain("/accounts");
      await allowed.context.close();

      const denied = await stack.newPage();
      await denied.page.goto(`${deniedHost.origin}/login`);
      await denied.page.getByLabel("Username", { exact: true }).fill(user.username);
      await denied.page.getByLabel("Password", { exact: true }).fill(user.password);
      await denied.page.getByRole("button", { name: "Log in" }).click();
      const error = await denied.page.getByTestId("error").textContent();
      expect(error).toContain("Cannot reach the bank");
      expect(error).toContain(`must list ${deniedHost.origin} in ALLOWED_ORIGINS`);
      expect(new URL(denied.page.url()).pathname).toBe("/login");
      expect(await denied.page.locator("[data-account-id]").count()).toBe(0);
      expect(await denied.page.evaluate("sessionStorage.getItem('simplebank.session')")).toBeNull();
      await denied.context.close();
    },
    180_000,
  );

  browserTest(
    browserName("at a phone's width (375 px) the main pages fit and pass axe"),
    async () => {
      const user = await apiUser(stack, { account: true });
      const teller = await banker();
      await deposit(teller.access_token, user.accountId ?? 0, 123_456);
      const { page } = await stack.newPage({ width: 375 });
      await page.goto(`${stack.api}/login`);
      await checkPage(page, "login");
      await logInThroughForm(page, stack.api, user.username, user.password);
      await checkPage(page, "accounts");
      await page.goto(`${stack.api}/app/accounts/${user.accountId}`);
      await statementRows(page);
      await checkPage(page, "statement");
      await page.goto(`${stack.api}/app/pay`);
      await page.getByRole("heading", { name: "Pay someone" }).waitFor();
      await checkPage(page, "pay");
      await page.goto(`${stack.api}/app/sessions`);
      await page.locator("[data-testid=sessions] tbody tr").first().waitFor();
      await checkPage(page, "sessions");
      await page.goto(`${stack.api}/forgot_password`);
      await page.getByRole("heading", { name: "Forgot your password?" }).waitFor();
      await checkPage(page, "forgot-password");
      await page.goto(`${stack.api}/reset_password?reset_id=1&secret_code=x`);
      await page.getByRole("heading", { name: "Choose a new password" }).waitFor();
      await checkPage(page, "reset-password");
      expect(stack.foreignRequests).toEqual([]);
    },
    180_000,
  );

  browserTest(
    browserName("password reset: the emailed link's page sets a new password, once"),
    async () => {
      const user = await apiUser(stack);
      const email = `${user.username}@example.com`;
      const verify = await fetch(await verificationLink(stack, email));
      expect(verify.status).toBe(200);
      const { page } = await stack.newPage();
      await page.goto(`${stack.api}/login`);
      await page.getByRole("link", { name: "Forgot your password?" }).click();
      await page.getByLabel("Email").fill(email);
      await page.getByRole("button", { name: "Send me a link" }).click();
      await page.getByTestId("reset-requested").waitFor();
      const sent = await stack.capture.waitFor(
        (e) =>
          e.body.to?.[0] === email && e.delivered && /reset_password\?/.test(String(e.body.text)),
        30_000,
      );
      const link = /(https?:\/\/[^\s"<>]+\/reset_password\?[^\s"<>]+)/.exec(
        String(sent.body.text),
      )?.[1];
      expect(link?.startsWith(`${stack.api}/reset_password?`)).toBe(true);
      const newPassword = `new-${crypto.randomUUID()}`;
      await page.goto(String(link).replaceAll("&amp;", "&"));
      await page.getByLabel("New password", { exact: true }).fill(newPassword);
      await page.getByLabel("New password, again").fill(newPassword);
      await page.getByRole("button", { name: "Change password" }).click();
      await page.getByTestId("password-changed").waitFor();
      await logInThroughForm(page, stack.api, user.username, newPassword);
      const old = await apiCall(stack, "POST", "/users/login", {
        body: { username: user.username, password: user.password },
      });
      expect(old.status).toBe(401);
      // The link works once: a second use shows the API's problem.
      await page.goto(String(link).replaceAll("&amp;", "&"));
      await page.getByLabel("New password", { exact: true }).fill(newPassword);
      await page.getByLabel("New password, again").fill(newPassword);
      await page.getByRole("button", { name: "Change password" }).click();
      await page.getByTestId("error").waitFor();
    },
    180_000,
  );

  browserTest(
    browserName(
      "errors come from problem+json: the detail, and each field's error under its field; amounts checked as money",
    ),
    async () => {
      const { page } = await stack.newPage();
      // Sign-up with two bad fields: the page shows what the API says, where it says it.
      const bad = {
        username: "No!",
        full_name: "Bad Fields",
        email: "not-an-email",
        password: "x",
      };
      const expected = await apiCall(stack, "POST", "/users", { body: bad });
      expect(expected.status).toBe(400);
      const fieldErrors = new Map<string, string>(
        (expected.body.errors as { field: string; message: string }[]).map((e) => [
          e.field,
          e.message,
        ]),
      );
      await page.goto(`${stack.api}/signup`);
      await page.getByLabel("Username", { exact: true }).fill(bad.username);
      await page.getByLabel("Full name").fill(bad.full_name);
      await page.getByLabel("Email").fill(bad.email);
      await page.getByLabel("Password", { exact: true }).fill(bad.password);
      await page.getByRole("button", { name: "Sign up" }).click();
      expect(await page.getByTestId("error").textContent()).toBe(expected.body.detail);
      for (const [field, id] of [
        ["username", "signup-username"],
        ["email", "signup-email"],
        ["password", "signup-password"],
      ] as const) {
        const input = page.locator(`#${id}`);
        expect({ field, invalid: await input.getAttribute("aria-invalid") }).toEqual({
          field,
          invalid: "true",
        });
        // The message is tied to its input (aria-describedby), right under it.
        const describedBy = (await input.getAttribute("aria-describedby")) ?? "";
        expect(describedBy.split(" ")).toContain(`${id}-error`);
        expect(await page.locator(`#${id}-error`).textContent()).toBe(fieldErrors.get(field) ?? "");
      }
      expect(await page.locator("#signup-full-name").getAttribute("aria-invalid")).toBeNull();
      await checkPage(page, "signup-errors");

      // Paying more than the balance, and amounts that are not money.
      const payer = await apiUser(stack, { account: true });
      const payee = await apiUser(stack, { account: true });
      await logInThroughForm(page, stack.api, payer.username, payer.password);
      await page.goto(`${stack.api}/app/pay`);
      await page.getByLabel("Recipient's username").fill(payee.username);
      for (const amount of ["12.345", "abc", "0", "-5"]) {
        await page.getByLabel("Amount").fill(amount);
        await page.getByTestId("pay").click();
        expect(await page.locator("#pay-amount-error").textContent()).toContain(
          "Enter an amount such as 12.34",
        );
      }
      await page.getByLabel("Amount").fill("5.00");
      await page.getByTestId("pay").click();
      const refused = await apiCall(stack, "POST", "/transfers", {
        token: payer.access_token,
        body: {
          from_account_id: payer.accountId,
          to_username: payee.username,
          amount: 500,
          currency: "USD",
        },
      });
      expect(refused.body.code).toBe("insufficient_funds");
      await page.getByTestId("error").getByText(refused.body.detail).waitFor();
      await page.getByRole("radio", { name: "An account number" }).check();
      await page.getByLabel("Recipient's account number").fill("999999");
      await page.getByTestId("pay").click();
      await page
        .getByTestId("error")
        .getByText(/not found|no account/i)
        .waitFor();
      await checkPage(page, "pay-errors");
      const transfers =
        await stack.sql`select 1 from transfers where from_account_id = ${payer.accountId ?? 0}`;
      expect(transfers.length).toBe(0);

      // A banker's withdrawal: more than the balance is refused with the API's detail; then one
      // that fits is posted.
      const teller = await apiUser(stack);
      await stack.grantBanker(teller.username);
      const bankerTab = await stack.newPage();
      await logInThroughForm(bankerTab.page, stack.api, teller.username, teller.password);
      await bankerTab.page.goto(`${stack.api}/app/banker`);
      await bankerTab.page.getByLabel("Customer's username").fill(payer.username);
      await bankerTab.page.getByRole("button", { name: "Look up" }).click();
      await bankerTab.page.getByTestId("banker-accounts").waitFor();
      await bankerTab.page.getByLabel("Amount").fill("10.00");
      await bankerTab.page.getByRole("button", { name: "Deposit" }).click();
      await bankerTab.page
        .getByTestId("cash-receipt")
        .getByText("New balance: 10.00 USD")
        .waitFor();
      await bankerTab.page.getByRole("radio", { name: "Withdrawal" }).check();
      await bankerTab.page.getByLabel("Amount").fill("10.01");
      await bankerTab.page.getByRole("button", { name: "Withdraw" }).click();
      await bankerTab.page.getByTestId("error").waitFor();
      await bankerTab.page.getByLabel("Amount").fill("2.50");
      await bankerTab.page.getByRole("button", { name: "Withdraw" }).click();
      await bankerTab.page
        .getByTestId("cash-receipt")
        .getByText(`Withdrew 2.50 USD from account #${payer.accountId}. New balance: 7.50 USD.`)
        .waitFor();
      await bankerTab.context.close();
    },
    180_000,
  );
});
