import { beforeAll, describe, expect, test } from "bun:test";
import { createTokenMaker } from "../../src/core/auth/tokens.ts";
import { systemClock } from "../../src/core/domain/clock.ts";
import { grantRole } from "../../src/core/services/users.ts";
import {
  type AccountJson,
  call,
  depositTo,
  expectProblem,
  logIn,
  openAccountFor,
  type Reply,
  signUp,
  type TestUser,
} from "../support/app.ts";
import { TEST_CONFIG, testDatabase } from "../support/database.ts";

/**
 * The shared auth and role matrix (STYLE.md, "Share an auth/RBAC matrix across endpoints").
 * ONE table lists every protected route with a request that succeeds when sent with a valid
 * token; every route then goes through every way a credential can be wrong (401, handler never
 * reached), the positive controls, and the role rules of the contract ("Roles").
 */

// ---- the world the table's requests act on ------------------------------------------------

interface World {
  /** A banker who owns `account`: with a valid token, EVERY row below succeeds and has effects. */
  subject: TestUser;
  account: AccountJson;
  /** Someone else's account, the target of the subject's transfers. */
  otherAccount: AccountJson;
  /** A transfer with `account` on one side (its funding deposit). */
  transferId: number;
}

const FUNDING = 10_000;
const MOVE = 100;
const CHANGED_NAME = "Changed By Matrix";

/** Trades a refresh token for new tokens (as a client does after `token_expired`). */
async function renewTokens(refreshToken: string) {
  const reply = await call<{ access_token: string; refresh_token: string }>(
    "POST",
    "/tokens/renew_access",
    { body: { refresh_token: refreshToken } },
  );
  if (reply.status !== 200) throw new Error(`renewal failed: ${JSON.stringify(reply.body)}`);
  return { accessToken: reply.body.access_token, refreshToken: reply.body.refresh_token };
}

interface ProtectedRoute {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** As documented in /openapi.json. */
  path: string;
  /** A valid request for the world's subject: path filled in, body and query included. */
  request(world: World): { path: string; body?: unknown };
  /** The status a valid token gets. */
  success: number;
  /** A success ends the caller's session (logout): positive controls use a fresh session. */
  endsSession?: boolean;
}

const PROTECTED_ROUTES: ProtectedRoute[] = [
  { method: "GET", path: "/users/me", request: () => ({ path: "/users/me" }), success: 200 },
  {
    method: "POST",
    path: "/users/resend_verification",
    request: () => ({ path: "/users/resend_verification" }),
    success: 202,
  },
  {
    method: "PATCH",
    path: "/users/{username}",
    request: (w) => ({ path: `/users/${w.subject.username}`, body: { full_name: CHANGED_NAME } }),
    success: 200,
  },
  {
    method: "PATCH",
    path: "/v1/update_user",
    request: (w) => ({
      path: "/v1/update_user",
      body: { username: w.subject.username, full_name: CHANGED_NAME },
    }),
    success: 200,
  },
  {
    method: "POST",
    path: "/users/logout",
    request: () => ({ path: "/users/logout" }),
    success: 204,
    endsSession: true,
  },
  {
    method: "GET",
    path: "/users/me/sessions",
    request: () => ({ path: "/users/me/sessions" }),
    success: 200,
  },
  {
    // A session nobody has: a valid token gets past authentication to the 404.
    method: "DELETE",
    path: "/users/me/sessions/{session_id}",
    request: () => ({ path: "/users/me/sessions/5b0e3f7a-7d7c-4a51-9b8e-3c1f2a6d9e10" }),
    success: 404,
  },
  {
    method: "POST",
    path: "/accounts",
    request: () => ({ path: "/accounts", body: { currency: "EUR" } }),
    success: 201,
  },
  {
    method: "GET",
    path: "/accounts",
    request: () => ({ path: "/accounts?page_id=1&page_size=10" }),
    success: 200,
  },
  {
    method: "GET",
    path: "/accounts/{id}",
    request: (w) => ({ path: `/accounts/${w.account.id}` }),
    success: 200,
  },
  {
    method: "GET",
    path: "/accounts/{id}/entries",
    request: (w) => ({ path: `/accounts/${w.account.id}/entries?page_id=1&page_size=5` }),
    success: 200,
  },
  {
    method: "POST",
    path: "/accounts/{id}/deposits",
    request: (w) => ({
      path: `/accounts/${w.account.id}/deposits`,
      body: { amount: MOVE, currency: "USD" },
    }),
    success: 201,
  },
  {
    method: "POST",
    path: "/accounts/{id}/withdrawals",
    request: (w) => ({
      path: `/accounts/${w.account.id}/withdrawals`,
      body: { amount: MOVE, currency: "USD" },
    }),
    success: 201,
  },
  {
    method: "POST",
    path: "/transfers",
    request: (w) => ({
      path: "/transfers",
      body: {
        from_account_id: w.account.id,
        to_account_id: w.otherAccount.id,
        amount: MOVE,
        currency: "USD",
      },
    }),
    success: 201,
  },
  {
    method: "GET",
    path: "/transfers",
    request: (w) => ({ path: `/transfers?account_id=${w.account.id}&page_size=100` }),
    success: 200,
  },
  {
    method: "GET",
    path: "/transfers/{id}",
    request: (w) => ({ path: `/transfers/${w.transferId}` }),
    success: 200,
  },
];

const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

// ---- credentials, good and bad ---------------------------------------------------------------

interface Credentials {
  /** The subject's main session: stays valid throughout (nothing below may revoke it). */
  access: string;
  refresh: string;
  expired: string;
  tampered: string;
  otherKey: string;
  otherFormat: string;
  loggedOut: string;
  passwordChanged: string;
}

interface AuthCase {
  name: string;
  authorization: (c: Credentials) => string | undefined;
  code: "unauthenticated" | "token_expired";
}

const AUTH_CASES: AuthCase[] = [
  { name: "no Authorization header", authorization: () => undefined, code: "unauthenticated" },
  { name: "empty Authorization header", authorization: () => "", code: "unauthenticated" },
  {
    name: "Basic scheme",
    authorization: () => "Basic dXNlcjpwYXNzd29yZA==",
    code: "unauthenticated",
  },
  { name: "Bearer with no token", authorization: () => "Bearer", code: "unauthenticated" },
  {
    name: "three fields (Bearer a b)",
    authorization: (c) => `Bearer ${c.access} extra`,
    code: "unauthenticated",
  },
  {
    name: "malformed token",
    authorization: () => "Bearer not-a-token",
    code: "unauthenticated",
  },
  {
    name: "expired token (real session)",
    authorization: (c) => `Bearer ${c.expired}`,
    code: "token_expired",
  },
  {
    name: "tampered token (one character flipped)",
    authorization: (c) => `Bearer ${c.tampered}`,
    code: "unauthenticated",
  },
  {
    name: "token signed with another key",
    authorization: (c) => `Bearer ${c.otherKey}`,
    code: "unauthenticated",
  },
  {
    name: "the other token format",
    authorization: (c) => `Bearer ${c.otherFormat}`,
    code: "unauthenticated",
  },
  {
    name: "refresh token instead of an access token",
    authorization: (c) => `Bearer ${c.refresh}`,
    code: "unauthenticated",
  },
  {
    name: "session revoked by logout",
    authorization: (c) => `Bearer ${c.loggedOut}`,
    code: "unauthenticated",
  },
  {
    name: "session blocked by a password change from another session",
    authorization: (c) => `Bearer ${c.passwordChanged}`,
    code: "unauthenticated",
  },
];

function send(route: ProtectedRoute, world: World, authorization: string | undefined) {
  const { path, body } = route.request(world);
  return call(route.method, path, {
    body,
    headers: authorization === undefined ? {} : { Authorization: authorization },
  });
}

/** Flips one character in the middle of a token, keeping it in the base64url alphabet. */
function flipMiddle(token: string): string {
  const i = Math.floor(token.length / 2);
  const replacement = token[i] === "A" ? "B" : "A";
  return token.slice(0, i) + replacement + token.slice(i + 1);
}

/** What the subject's side of the world looks like, read with the main session. */
async function snapshot(world: World, access: string) {
  const get = async (path: string) => {
    const reply = await call("GET", path, { token: access });
    expect(reply.status).toBe(200);
    return reply.body as unknown;
  };
  const account = (await get(`/accounts/${world.account.id}`)) as AccountJson;
  const other = (await get(`/accounts/${world.otherAccount.id}`)) as AccountJson;
  const me = (await get("/users/me")) as { full_name: string };
  const accounts = (await get("/accounts?page_size=100")) as AccountJson[];
  const transfers = (await get(`/transfers?account_id=${world.account.id}&page_size=100`)) as {
    id: number;
  }[];
  return {
    balance: account.balance,
    otherBalance: other.balance,
    fullName: me.full_name,
    currencies: accounts.map((a) => a.currency).sort(),
    transfers: transfers.length,
  };
}

// ---- the auth matrix ----------------------------------------------------------------------

describe("auth matrix: every protected route", () => {
  let world: World;
  let creds: Credentials;
  let before: Awaited<ReturnType<typeof snapshot>>;

  beforeAll(async () => {
    const subject = await signUp({ role: "banker" });
    const other = await signUp();
    const account = await openAccountFor(subject, "USD");
    const otherAccount = await openAccountFor(other, "USD");
    await depositTo(account, FUNDING);
    const listed = await call<{ id: number }[]>("GET", `/transfers?account_id=${account.id}`, {
      token: subject.accessToken,
    });
    const transferId = listed.body[0]?.id;
    if (transferId === undefined) throw new Error("the funding deposit is missing");
    world = { subject, account, otherAccount, transferId };

    const { deps } = await testDatabase();
    const claims = { username: subject.username, role: subject.role, sessionId: subject.sessionId };
    const expired = await deps.tokens.create({
      ...claims,
      tokenType: "access",
      durationMs: -60_000,
    });
    const otherKeyMaker = createTokenMaker({
      kind: TEST_CONFIG.tokenType,
      symmetricKey: "k".repeat(32),
      clock: systemClock,
    });
    const otherFormatMaker = createTokenMaker({
      kind: TEST_CONFIG.tokenType === "paseto" ? "jwt" : "paseto",
      symmetricKey: TEST_CONFIG.tokenSymmetricKey,
      clock: systemClock,
    });
    const valid = { ...claims, tokenType: "access" as const, durationMs: 60_000 };

    // A second session, logged out.
    const second = await logIn(subject.username, subject.password);
    expect((await call("POST", "/users/logout", { token: second.accessToken })).status).toBe(204);
    // A third session, blocked when the main session changes the password.
    const third = await logIn(subject.username, subject.password);
    const changed = await call("PATCH", `/users/${subject.username}`, {
      token: subject.accessToken,
      body: { password: `${subject.password}-changed` },
    });
    expect(changed.status).toBe(200);
    subject.password = `${subject.password}-changed`;

    creds = {
      access: subject.accessToken,
      refresh: subject.refreshToken,
      expired: expired.token,
      tampered: flipMiddle(subject.accessToken),
      otherKey: (await otherKeyMaker.create(valid)).token,
      otherFormat: (await otherFormatMaker.create(valid)).token,
      loggedOut: second.accessToken,
      passwordChanged: third.accessToken,
    };
    before = await snapshot(world, creds.access);
  });

  test("the table lists exactly the operations /openapi.json marks with `security`", async () => {
    const doc = await call<{ paths: Record<string, Record<string, { security?: unknown[] }>> }>(
      "GET",
      "/openapi.json",
    );
    const documented = Object.entries(doc.body.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) => (operation.security?.length ?? 0) > 0)
        .map(([method]) => key(method, path)),
    );
    const table = PROTECTED_ROUTES.map((r) => key(r.method, r.path));
    expect(new Set(table).size).toBe(table.length);
    expect([...table].sort()).toEqual([...documented].sort());
  });

  test("operations without `security` really need no token (no 401 without one)", async () => {
    const doc = await call<{ paths: Record<string, Record<string, { security?: unknown[] }>> }>(
      "GET",
      "/openapi.json",
    );
    const open = Object.entries(doc.body.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) => (operation.security?.length ?? 0) === 0)
        .map(([method]) => ({ method: method.toUpperCase(), path })),
    );
    expect(open.length).toBeGreaterThan(0);
    for (const { method, path } of open) {
      const concrete = path.replace("{code}", "not_found").replace(/\{[^}]+\}/g, "1");
      const reply = await call(method, concrete);
      if (reply.status === 401) throw new Error(`${method} ${path} answered 401 without a token`);
    }
  });

  for (const route of PROTECTED_ROUTES) {
    describe(`${route.method} ${route.path}`, () => {
      for (const authCase of AUTH_CASES) {
        test(`${authCase.name} → 401 ${authCase.code}`, async () => {
          const reply = await send(route, world, authCase.authorization(creds));
          expectProblem(reply, 401, authCase.code);
          const body = reply.body as { request_id?: string };
          expect(body.request_id).toBe(reply.headers.get("X-Request-Id") ?? "missing");
        });
      }
    });
  }

  test("none of those 401s reached a handler: no money moved, nothing changed, session intact", async () => {
    // The main session would have been revoked by a logout, the name changed by the PATCH, an
    // EUR account opened, and deposits, withdrawals and transfers would show in the balances.
    expect(await snapshot(world, creds.access)).toEqual(before);
    expect(before.balance).toBe(FUNDING);
    expect(before.fullName).not.toBe(CHANGED_NAME);
    expect(before.currencies).toEqual(["USD"]);
  });

  describe("positive controls", () => {
    const tokenFor = async (route: ProtectedRoute) =>
      route.endsSession
        ? (await logIn(world.subject.username, world.subject.password)).accessToken
        : creds.access;

    for (const route of PROTECTED_ROUTES) {
      test(`${route.method} ${route.path}: a valid token → ${route.success}`, async () => {
        const reply = await send(route, world, `Bearer ${await tokenFor(route)}`);
        if (reply.status !== route.success) {
          throw new Error(
            `expected ${route.success}, got ${reply.status}: ${JSON.stringify(reply.body)}`,
          );
        }
      });
    }

    for (const scheme of ["bearer", "BEARER", "bEaReR"]) {
      test(`the scheme word "${scheme}" is accepted on every route`, async () => {
        for (const route of PROTECTED_ROUTES) {
          const reply: Reply = await send(route, world, `${scheme} ${await tokenFor(route)}`);
          if (reply.status === 401 || reply.status >= 500) {
            throw new Error(
              `${route.method} ${route.path} with "${scheme}": ${reply.status} ${JSON.stringify(reply.body)}`,
            );
          }
        }
      });
    }

    test("the effects show: the positive controls did reach the handlers", async () => {
      const after = await snapshot(world, creds.access);
      expect(after.fullName).toBe(CHANGED_NAME);
      expect(after.currencies).toContain("EUR");
      expect(after.transfers).toBeGreaterThan(before.transfers);
    });
  });
});

// ---- the role matrix ------------------------------------------------------------------------

interface RoleWorld {
  alice: TestUser;
  bob: TestUser;
  aliceAccount: AccountJson;
  bobAccount: AccountJson;
  /** A transfer between alice and bob. */
  transferId: number;
  /** The depositor under test, with an account of their own (funded). */
  depositor: TestUser;
  depositorAccount: AccountJson;
  banker: TestUser;
  bankerAccount: AccountJson;
}

interface RoleRule {
  name: string;
  request(w: RoleWorld): { method: string; path: string; body?: unknown };
  /** What a banker gets; a depositor always gets 403 forbidden. */
  banker: number;
}

const ROLE_RULES: RoleRule[] = [
  {
    name: "GET /accounts?owner=<another user>",
    request: (w) => ({ method: "GET", path: `/accounts?owner=${w.alice.username}` }),
    banker: 200,
  },
  {
    name: "GET /accounts/{id} of another user",
    request: (w) => ({ method: "GET", path: `/accounts/${w.aliceAccount.id}` }),
    banker: 200,
  },
  {
    name: "GET /accounts/{id}/entries of another user",
    request: (w) => ({ method: "GET", path: `/accounts/${w.aliceAccount.id}/entries` }),
    banker: 200,
  },
  {
    name: "GET /transfers/{id} between other users",
    request: (w) => ({ method: "GET", path: `/transfers/${w.transferId}` }),
    banker: 200,
  },
  {
    name: "GET /transfers?account_id=<another user's account>",
    request: (w) => ({ method: "GET", path: `/transfers?account_id=${w.aliceAccount.id}` }),
    banker: 200,
  },
  {
    name: "PATCH /users/{another user}",
    request: (w) => ({
      method: "PATCH",
      path: `/users/${w.alice.username}`,
      body: { full_name: "Renamed By Banker" },
    }),
    banker: 200,
  },
  {
    name: "PATCH /v1/update_user of another user",
    request: (w) => ({
      method: "PATCH",
      path: "/v1/update_user",
      body: { username: w.alice.username, full_name: "Renamed By Banker" },
    }),
    banker: 200,
  },
  {
    name: "POST /accounts/{id}/deposits to another user's account",
    request: (w) => ({
      method: "POST",
      path: `/accounts/${w.aliceAccount.id}/deposits`,
      body: { amount: MOVE, currency: "USD" },
    }),
    banker: 201,
  },
  {
    name: "POST /accounts/{id}/deposits to one's own account",
    request: (w) => ({
      method: "POST",
      path: `/accounts/${w.depositorAccount.id}/deposits`,
      body: { amount: MOVE, currency: "USD" },
    }),
    banker: 201,
  },
  {
    name: "POST /accounts/{id}/withdrawals from another user's account",
    request: (w) => ({
      method: "POST",
      path: `/accounts/${w.aliceAccount.id}/withdrawals`,
      body: { amount: MOVE, currency: "USD" },
    }),
    banker: 201,
  },
  {
    name: "POST /accounts/{id}/withdrawals from one's own account",
    request: (w) => ({
      method: "POST",
      path: `/accounts/${w.depositorAccount.id}/withdrawals`,
      body: { amount: MOVE, currency: "USD" },
    }),
    banker: 201,
  },
  {
    name: "POST /transfers from another user's account",
    request: (w) => ({
      method: "POST",
      path: "/transfers",
      body: {
        from_account_id: w.aliceAccount.id,
        to_account_id: w.bobAccount.id,
        amount: MOVE,
        currency: "USD",
      },
    }),
    // Nobody, banker included, moves money out of a customer account they do not own.
    banker: 403,
  },
];

describe("role matrix (contract, Roles)", () => {
  let w: RoleWorld;
  let balancesBefore: number[];

  const balances = async () => {
    const ids = [w.aliceAccount.id, w.bobAccount.id, w.depositorAccount.id];
    return Promise.all(
      ids.map(async (id) => {
        const reply = await call<AccountJson>("GET", `/accounts/${id}`, {
          token: w.banker.accessToken,
        });
        return reply.body.balance;
      }),
    );
  };

  const as = (user: TestUser, rule: RoleRule) => {
    const { method, path, body } = rule.request(w);
    return call(method, path, { token: user.accessToken, body });
  };

  beforeAll(async () => {
    const [alice, bob, depositor, banker] = await Promise.all([
      signUp(),
      signUp(),
      signUp(),
      signUp({ role: "banker" }),
    ]);
    const aliceAccount = await openAccountFor(alice);
    const bobAccount = await openAccountFor(bob);
    const depositorAccount = await openAccountFor(depositor);
    const bankerAccount = await openAccountFor(banker);
    await depositTo(aliceAccount, 5_000);
    await depositTo(depositorAccount, 5_000);
    await depositTo(bankerAccount, 5_000);
    const sent = await call<{ transfer: { id: number } }>("POST", "/transfers", {
      token: alice.accessToken,
      body: {
        from_account_id: aliceAccount.id,
        to_account_id: bobAccount.id,
        amount: 1_000,
        currency: "USD",
      },
    });
    expect(sent.status).toBe(201);
    w = {
      alice,
      bob,
      aliceAccount,
      bobAccount,
      transferId: sent.body.transfer.id,
      depositor,
      depositorAccount,
      banker,
      bankerAccount,
    };
    balancesBefore = await balances();
  });

  describe("a depositor → 403 forbidden", () => {
    for (const rule of ROLE_RULES) {
      test(rule.name, async () => {
        expectProblem(await as(w.depositor, rule), 403, "forbidden");
      });
    }

    test("…and none of those moved money or renamed anyone", async () => {
      expect(await balances()).toEqual(balancesBefore);
      const alice = await call<{ full_name: string }>("GET", "/users/me", {
        token: w.alice.accessToken,
      });
      expect(alice.body.full_name).toBe(w.alice.fullName);
    });
  });

  describe("a banker → allowed (except moving other people's money)", () => {
    for (const rule of ROLE_RULES) {
      test(`${rule.name} → ${rule.banker}`, async () => {
        const reply = await as(w.banker, rule);
        if (rule.banker === 403) {
          expectProblem(reply, 403, "forbidden");
        } else if (reply.status !== rule.banker) {
          throw new Error(
            `expected ${rule.banker}, got ${reply.status}: ${JSON.stringify(reply.body)}`,
          );
        }
      });
    }

    test("a banker's GET /accounts?owner= lists that owner's accounts", async () => {
      const reply = await call<AccountJson[]>("GET", `/accounts?owner=${w.alice.username}`, {
        token: w.banker.accessToken,
      });
      expect(reply.body.map((a) => a.id)).toEqual([w.aliceAccount.id]);
    });

    test("a banker may still transfer out of their OWN account → 201", async () => {
      const reply = await call("POST", "/transfers", {
        token: w.banker.accessToken,
        body: {
          from_account_id: w.bankerAccount.id,
          to_account_id: w.aliceAccount.id,
          amount: MOVE,
          currency: "USD",
        },
      });
      expect(reply.status).toBe(201);
    });

    test("the banker's refused transfer moved nothing: only deposits and withdrawals did", async () => {
      const [alice, bob, depositor] = await balances();
      const [alice0, bob0, depositor0] = balancesBefore;
      // alice: +deposit −withdrawal +the banker's own transfer; bob untouched; the depositor:
      // +deposit −withdrawal.
      expect(alice).toBe((alice0 ?? Number.NaN) + MOVE);
      expect(bob).toBe(bob0 ?? Number.NaN);
      expect(depositor).toBe(depositor0 ?? Number.NaN);
    });
  });

  describe("a role change applies once the token is renewed", () => {
    test("grantRole (the CLI's service): older access tokens must be renewed, both ways", async () => {
      const user = await signUp();
      const rule = ROLE_RULES[0];
      if (!rule) throw new Error("no rule");
      expectProblem(await as(user, rule), 403, "forbidden");

      const { deps } = await testDatabase();
      await grantRole(deps, user.username, "banker");
      // The role travels in the access token: the old one is refused, the client renews it.
      expectProblem(await as(user, rule), 401, "token_expired");
      const banker = { ...user, ...(await renewTokens(user.refreshToken)) };
      expect((await as(banker, rule)).status).toBe(200);
      const deposit = await call("POST", `/accounts/${w.aliceAccount.id}/deposits`, {
        token: banker.accessToken,
        body: { amount: 1, currency: "USD" },
      });
      expect(deposit.status).toBe(201);

      await grantRole(deps, user.username, "depositor");
      expectProblem(await as(banker, rule), 401, "token_expired");
      const depositor = { ...banker, ...(await renewTokens(banker.refreshToken)) };
      expectProblem(await as(depositor, rule), 403, "forbidden");
    });
  });
});
