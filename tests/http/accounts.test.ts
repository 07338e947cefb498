import { beforeAll, describe, expect, test } from "bun:test";
import {
  type AccountJson,
  call,
  depositTo,
  expectProblem,
  openAccountFor,
  signUp,
  type TestUser,
} from "../support/app.ts";
import {
  bankerToken,
  type EntryJson,
  expectAccountJson,
  expectInvalid,
  TIMESTAMP,
  type TransferJson,
  treasuryIds,
  UNKNOWN_ID,
} from "../support/ledger-http.ts";

/** Contract, "Accounts": POST /accounts, GET /accounts/{id}, GET /accounts, GET /accounts/{id}/entries. */

/** Ids that are not a positive integer the API can hold; each must be a 400, never a 5xx. */
const BAD_IDS = ["0", "-1", "abc", "1.5", "1e3", "99999999999999999999", "9007199254740992"];

describe("POST /accounts (TestCreateAccountAPI)", () => {
  test("OK: 201 with exactly {id, owner, balance, currency, created_at}, balance 0", async () => {
    const user = await signUp();
    const res = await call<AccountJson>("POST", "/accounts", {
      token: user.accessToken,
      body: { currency: "EUR" },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("Content-Type")).toStartWith("application/json");
    const account = expectAccountJson(res.body);
    expect(account).toMatchObject({ owner: user.username, balance: 0, currency: "EUR" });
    expect(account.id).toBeGreaterThan(0);
    // It is really there: the owner reads it back unchanged.
    const read = await call<AccountJson>("GET", `/accounts/${account.id}`, {
      token: user.accessToken,
    });
    expect(read.body).toEqual(account);
  });

  test("NoAuthorization: 401 and no account is opened", async () => {
    const user = await signUp();
    const res = await call("POST", "/accounts", { body: { currency: "USD" } });
    expectProblem(res, 401, "unauthenticated");
    const list = await call<AccountJson[]>("GET", "/accounts", { token: user.accessToken });
    expect(list.body).toEqual([]);
  });

  test("InvalidCurrency: 400 naming `currency` for anything but USD, EUR, CAD exactly", async () => {
    const user = await signUp();
    for (const body of [
      { currency: "invalid" },
      { currency: "usd" },
      { currency: "GBP" },
      { currency: "" },
      { currency: 5 },
      { currency: null },
      {},
    ]) {
      const res = await call("POST", "/accounts", { token: user.accessToken, body });
      expectInvalid(res, "currency");
    }
    const list = await call<AccountJson[]>("GET", "/accounts", { token: user.accessToken });
    expect(list.body).toEqual([]);
  });

  test("unknown fields and non-object bodies are 400", async () => {
    const user = await signUp();
    expectInvalid(
      await call("POST", "/accounts", {
        token: user.accessToken,
        body: { currency: "USD", balance: 1_000_000 },
      }),
      "balance",
    );
    expectInvalid(
      await call("POST", "/accounts", { token: user.accessToken, body: ["USD"] }),
      "(body)",
    );
    expectProblem(
      await call("POST", "/accounts", { token: user.accessToken, body: '{"currency":' }),
      400,
      "malformed_json",
    );
  });

  test("a second account in the same currency: 409 account_exists", async () => {
    const user = await signUp();
    const first = await openAccountFor(user, "CAD");
    const second = await call("POST", "/accounts", {
      token: user.accessToken,
      body: { currency: "CAD" },
    });
    expectProblem(second, 409, "account_exists");
    const list = await call<AccountJson[]>("GET", "/accounts", { token: user.accessToken });
    expect(list.body).toEqual([first]);
  });

  test("one account in each of USD, EUR and CAD is allowed", async () => {
    const user = await signUp();
    const opened = [];
    for (const currency of ["USD", "EUR", "CAD"]) {
      opened.push(await openAccountFor(user, currency));
    }
    expect(opened.map((a) => a.currency)).toEqual(["USD", "EUR", "CAD"]);
    expect(new Set(opened.map((a) => a.id)).size).toBe(3);
  });

  test("two users may each hold an account in the same currency", async () => {
    const [a, b] = [await signUp(), await signUp()];
    expect((await openAccountFor(a, "USD")).owner).toBe(a.username);
    expect((await openAccountFor(b, "USD")).owner).toBe(b.username);
  });
});

describe("GET /accounts/{id} (TestGetAccountAPI)", () => {
  let owner: TestUser;
  let account: AccountJson;
  beforeAll(async () => {
    owner = await signUp();
    account = await openAccountFor(owner, "USD");
    await depositTo(account, 1_234);
    account = { ...account, balance: 1_234 };
  });

  test("OK: the owner gets the account with its current balance", async () => {
    const res = await call("GET", `/accounts/${account.id}`, { token: owner.accessToken });
    expect(res.status).toBe(200);
    expect(expectAccountJson(res.body)).toEqual(account);
  });

  test("UnauthorizedUser: another depositor gets 403 forbidden (fix: was 401)", async () => {
    const other = await signUp();
    const res = await call("GET", `/accounts/${account.id}`, { token: other.accessToken });
    expectProblem(res, 403, "forbidden");
  });

  test("NoAuthorization: 401", async () => {
    expectProblem(await call("GET", `/accounts/${account.id}`), 401, "unauthenticated");
  });

  test("NotFound: 404", async () => {
    const res = await call("GET", `/accounts/${UNKNOWN_ID}`, { token: owner.accessToken });
    expectProblem(res, 404, "not_found");
  });

  test("InvalidID: /accounts/0 and every other non-id is 400 naming `id`, never 5xx", async () => {
    for (const id of BAD_IDS) {
      const res = await call("GET", `/accounts/${id}`, { token: owner.accessToken });
      expectInvalid(res, "id");
    }
  });

  test("a banker can read anyone's account", async () => {
    const res = await call<AccountJson>("GET", `/accounts/${account.id}`, {
      token: await bankerToken(),
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(account);
  });

  test("a treasury account: readable by a banker, 403 for depositors", async () => {
    const treasuries = await treasuryIds();
    for (const [currency, id] of Object.entries(treasuries)) {
      const asBanker = await call<AccountJson>("GET", `/accounts/${id}`, {
        token: await bankerToken(),
      });
      expect(asBanker.status).toBe(200);
      expect(expectAccountJson(asBanker.body)).toMatchObject({ id, owner: "bank", currency });
      const asDepositor = await call("GET", `/accounts/${id}`, { token: owner.accessToken });
      expectProblem(asDepositor, 403, "forbidden");
    }
  });
});

describe("GET /accounts (TestListAccountsAPI)", () => {
  let owner: TestUser;
  let accounts: AccountJson[];
  beforeAll(async () => {
    owner = await signUp();
    accounts = [];
    for (const currency of ["EUR", "USD", "CAD"])
      accounts.push(await openAccountFor(owner, currency));
    accounts.sort((a, b) => a.id - b.id);
    // Someone else's account, which must never show up in the owner's list.
    await openAccountFor(await signUp(), "USD");
  });

  const list = (query: string, token = owner.accessToken) =>
    call<AccountJson[]>("GET", `/accounts${query}`, { token });

  test("OK: page_id=1&page_size=5 returns exactly the caller's accounts, by id", async () => {
    const res = await list("?page_id=1&page_size=5");
    expect(res.status).toBe(200);
    expect(res.body).toEqual(accounts);
    for (const account of res.body) expectAccountJson(account);
  });

  test("NoAuthorization: 401", async () => {
    expectProblem(await call("GET", "/accounts?page_id=1&page_size=5"), 401, "unauthenticated");
  });

  test("InvalidPageID: -1, 0, abc, 1.5 are 400 naming `page_id`", async () => {
    for (const pageId of ["-1", "0", "abc", "1.5", ""]) {
      expectInvalid(await list(`?page_id=${pageId}&page_size=5`), "page_id");
    }
  });

  test("InvalidPageSize: 0, 101, 100000, abc are 400 naming `page_size`", async () => {
    for (const pageSize of ["0", "101", "100000", "abc", "-5"]) {
      expectInvalid(await list(`?page_id=1&page_size=${pageSize}`), "page_size");
    }
  });

  test("both page parameters bad: both are named", async () => {
    expectInvalid(await list("?page_id=0&page_size=0"), "page_id", "page_size");
  });

  test("page_size 1 and 100 are the inclusive bounds", async () => {
    expect((await list("?page_size=1")).body).toEqual(accounts.slice(0, 1));
    expect((await list("?page_size=100")).body).toEqual(accounts);
  });

  test("defaults: no parameters is page 1 of 10", async () => {
    const res = await list("");
    expect(res.status).toBe(200);
    expect(res.body).toEqual(accounts);
    expect((await list("?page_id=1&page_size=10")).body).toEqual(res.body);
    // Page 2 at the default size starts past the third account.
    expect((await list("?page_id=2")).body).toEqual([]);
  });

  test("the largest page_id is an empty page, one more is 400 (never 5xx)", async () => {
    const largest = Math.floor(Number.MAX_SAFE_INTEGER / 100);
    const res = await list(`?page_id=${largest}&page_size=100`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
    expectInvalid(await list(`?page_id=${largest + 1}`), "page_id");
  });

  test("page 2 continues where page 1 stopped", async () => {
    expect((await list("?page_id=1&page_size=2")).body).toEqual(accounts.slice(0, 2));
    expect((await list("?page_id=2&page_size=2")).body).toEqual(accounts.slice(2));
    expect((await list("?page_id=2&page_size=1")).body).toEqual(accounts.slice(1, 2));
  });

  test("[] (not null) for a user with no accounts and for a page past the end", async () => {
    const nobody = await signUp();
    const empty = await list("", nobody.accessToken);
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual([]);
    const past = await list("?page_id=3&page_size=2");
    expect(past.status).toBe(200);
    expect(past.body).toEqual([]);
  });

  test("?owner= another user: 403 for a depositor, 200 with their accounts for a banker", async () => {
    const other = await signUp();
    const theirs = await openAccountFor(other, "EUR");
    expectProblem(await list(`?owner=${other.username}`), 403, "forbidden");
    const asBanker = await list(`?owner=${other.username}`, await bankerToken());
    expect(asBanker.status).toBe(200);
    expect(asBanker.body).toEqual([theirs]);
  });

  test("?owner= yourself is the same as no owner", async () => {
    expect((await list(`?owner=${owner.username}`)).body).toEqual(accounts);
  });

  test("a banker can list the treasury accounts (owner `bank`)", async () => {
    const res = await list("?owner=bank", await bankerToken());
    expect(res.status).toBe(200);
    const treasuries = await treasuryIds();
    expect(res.body.map((a) => a.id)).toEqual(Object.values(treasuries).sort((a, b) => a - b));
  });

  test("?owner= with a bad format: 400 naming `owner`", async () => {
    for (const owner of ["A-B", "ab", "has%20space", "x".repeat(101)]) {
      expectInvalid(await list(`?owner=${owner}`, await bankerToken()), "owner");
    }
  });
});

describe("GET /accounts/{id}/entries", () => {
  let alice: TestUser;
  let bob: TestUser;
  let aliceUsd: AccountJson;
  let bobUsd: AccountJson;
  /** Alice's balance after the movements in beforeAll. */
  const expectedBalance = 1_000 + 500 - 200 + 75 - 100;

  beforeAll(async () => {
    alice = await signUp();
    bob = await signUp();
    aliceUsd = await openAccountFor(alice, "USD");
    bobUsd = await openAccountFor(bob, "USD");
    await depositTo(aliceUsd, 1_000);
    await depositTo(aliceUsd, 500);
    await depositTo(bobUsd, 300);
    const send = async (from: TestUser, fromId: number, toId: number, amount: number) => {
      const res = await call("POST", "/transfers", {
        token: from.accessToken,
        body: { from_account_id: fromId, to_account_id: toId, amount, currency: "USD" },
      });
      if (res.status !== 201) throw new Error(`transfer failed: ${JSON.stringify(res.body)}`);
    };
    await send(alice, aliceUsd.id, bobUsd.id, 200);
    await send(bob, bobUsd.id, aliceUsd.id, 75);
    const withdrawal = await call("POST", `/accounts/${aliceUsd.id}/withdrawals`, {
      token: await bankerToken(),
      body: { amount: 100, currency: "USD" },
    });
    if (withdrawal.status !== 201) throw new Error(JSON.stringify(withdrawal.body));
  });

  const statement = (accountId: number, token: string, query = "") =>
    call<EntryJson[]>("GET", `/accounts/${accountId}/entries${query}`, { token });

  test("the statement: ids ascending, signed amounts, real transfers, summing to the balance", async () => {
    const res = await statement(aliceUsd.id, alice.accessToken);
    expect(res.status).toBe(200);
    const entries = res.body;
    expect(entries.map((e) => e.amount)).toEqual([1_000, 500, -200, 75, -100]);
    const ids = entries.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    for (const entry of entries) {
      expect(Object.keys(entry).sort()).toEqual([
        "account_id",
        "amount",
        "balance_after",
        "counterparty_account_id",
        "counterparty_owner",
        "created_at",
        "id",
        "kind",
        "memo",
        "transfer_id",
      ]);
      expect(entry.account_id).toBe(aliceUsd.id);
      expect(entry.created_at).toMatch(TIMESTAMP);
      // Each entry belongs to a transfer that exists and moved this amount in this direction.
      const transfer = await call<TransferJson>("GET", `/transfers/${entry.transfer_id}`, {
        token: alice.accessToken,
      });
      expect(transfer.status).toBe(200);
      expect(transfer.body.amount).toBe(Math.abs(entry.amount));
      expect(entry.amount < 0 ? transfer.body.from_account_id : transfer.body.to_account_id).toBe(
        aliceUsd.id,
      );
    }
    const sum = entries.reduce((total, e) => total + e.amount, 0);
    expect(sum).toBe(expectedBalance);
    const account = await call<AccountJson>("GET", `/accounts/${aliceUsd.id}`, {
      token: alice.accessToken,
    });
    expect(account.body.balance).toBe(sum);
  });

  test("paginated: page_size=2 walks the same statement, then []", async () => {
    const all = (await statement(aliceUsd.id, alice.accessToken)).body;
    const pages = [];
    for (const pageId of [1, 2, 3]) {
      const page = await statement(
        aliceUsd.id,
        alice.accessToken,
        `?page_id=${pageId}&page_size=2`,
      );
      expect(page.status).toBe(200);
      pages.push(page.body);
    }
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual(all);
    const past = await statement(aliceUsd.id, alice.accessToken, "?page_id=4&page_size=2");
    expect(past.status).toBe(200);
    expect(past.body).toEqual([]);
  });

  test("defaults: page 1 of 10", async () => {
    const user = await signUp();
    const account = await openAccountFor(user, "CAD");
    for (let i = 1; i <= 12; i++) await depositTo(account, i);
    const first = await statement(account.id, user.accessToken);
    expect(first.body.map((e) => e.amount)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const second = await statement(account.id, user.accessToken, "?page_id=2");
    expect(second.body.map((e) => e.amount)).toEqual([11, 12]);
  });

  test("a new account's statement is [] (not null)", async () => {
    const user = await signUp();
    const account = await openAccountFor(user, "EUR");
    const res = await statement(account.id, user.accessToken);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
  });

  test("same visibility as the account: 403 for another depositor, 200 for a banker", async () => {
    expectProblem(await statement(aliceUsd.id, bob.accessToken), 403, "forbidden");
    const asBanker = await statement(aliceUsd.id, await bankerToken());
    expect(asBanker.status).toBe(200);
    expect(asBanker.body).toEqual((await statement(aliceUsd.id, alice.accessToken)).body);
  });

  test("a treasury's statement: banker 200, depositor 403", async () => {
    const { USD } = await treasuryIds();
    const asBanker = await statement(USD, await bankerToken(), "?page_size=1");
    expect(asBanker.status).toBe(200);
    expect(asBanker.body).toHaveLength(1);
    expectProblem(await statement(USD, alice.accessToken), 403, "forbidden");
  });

  test("401 without a token, 404 for an unknown account, 400 for bad ids and pages", async () => {
    expectProblem(await call("GET", `/accounts/${aliceUsd.id}/entries`), 401, "unauthenticated");
    expectProblem(await statement(UNKNOWN_ID, alice.accessToken), 404, "not_found");
    for (const id of BAD_IDS) {
      const res = await call("GET", `/accounts/${id}/entries`, { token: alice.accessToken });
      expectInvalid(res, "id");
    }
    expectInvalid(await statement(aliceUsd.id, alice.accessToken, "?page_id=0"), "page_id");
    expectInvalid(await statement(aliceUsd.id, alice.accessToken, "?page_size=101"), "page_size");
  });
});
