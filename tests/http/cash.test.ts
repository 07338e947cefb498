import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Currency } from "../../src/core/domain/money.ts";
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
  accountAsSeenBy,
  balanceInDb,
  bankerToken,
  expectInvalid,
  expectTransferResult,
  fetchJson,
  ledgerRowsTouching,
  liveServer,
  sql,
  type TransferResultJson,
  treasuryIds,
  UNKNOWN_ID,
} from "../support/ledger-http.ts";
import { balanceAfterViolations } from "../support/resilience.ts";

/**
 * Contract, "Where money comes from": deposits and withdrawals are transfers between the
 * currency's treasury and a customer account, posted by bankers only.
 */

type Kind = "deposits" | "withdrawals";
const KINDS: Kind[] = ["deposits", "withdrawals"];

let treasury: Record<Currency, number>;
let banker: string;
beforeAll(async () => {
  treasury = await treasuryIds();
  banker = await bankerToken();
});

const cash = (kind: Kind, accountId: number | string, body: unknown, token?: string) =>
  call<TransferResultJson>("POST", `/accounts/${accountId}/${kind}`, { token, body });

async function customerWith(currency: Currency, funds: number) {
  const owner = await signUp();
  const account = await openAccountFor(owner, currency);
  if (funds > 0) await depositTo(account, funds);
  return { owner, account: { ...account, balance: funds } };
}

describe("POST /accounts/{id}/deposits", () => {
  test("banker: 201, a transfer from the currency's treasury to the account", async () => {
    const { owner, account } = await customerWith("EUR", 0);
    const treasuryBefore = await accountAsSeenBy(banker, treasury.EUR);
    const res = await cash("deposits", account.id, { amount: 5_000, currency: "EUR" }, banker);
    expect(res.status).toBe(201);
    expect(res.headers.get("Idempotent-Replayed")).toBeNull();
    const result = expectTransferResult(res.body, {
      from: treasury.EUR,
      to: account.id,
      amount: 5_000,
      toBalanceShown: true,
    });
    expect(result.from_account).toMatchObject({ owner: "bank", currency: "EUR" });
    expect(result.from_account.balance).toBe(treasuryBefore.balance - 5_000);
    expect(result.to_account).toEqual({ ...account, balance: 5_000 });
    // Seen by the owner, and straight from the database.
    expect((await accountAsSeenBy(owner.accessToken, account.id)).balance).toBe(5_000);
    expect(await balanceInDb(treasury.EUR)).toBe(treasuryBefore.balance - 5_000);
  });

  test("exactly 1_000_000_000_000 is accepted", async () => {
    const { owner, account } = await customerWith("CAD", 0);
    const res = await cash("deposits", account.id, { amount: 1e12, currency: "CAD" }, banker);
    expect(res.status).toBe(201);
    expect((await accountAsSeenBy(owner.accessToken, account.id)).balance).toBe(1e12);
    // And back out, so the treasury stays small for everyone else.
    const back = await cash("withdrawals", account.id, { amount: 1e12, currency: "CAD" }, banker);
    expect(back.status).toBe(201);
    expect(back.body.from_account.balance).toBe(0);
  });
});

describe("POST /accounts/{id}/withdrawals", () => {
  test("banker: 201, a transfer from the account to the currency's treasury", async () => {
    const { owner, account } = await customerWith("USD", 1_000);
    const treasuryBefore = await accountAsSeenBy(banker, treasury.USD);
    const res = await cash("withdrawals", account.id, { amount: 350, currency: "USD" }, banker);
    expect(res.status).toBe(201);
    const result = expectTransferResult(res.body, {
      from: account.id,
      to: treasury.USD,
      amount: 350,
      toBalanceShown: true,
    });
    expect(result.from_account).toEqual({ ...account, balance: 650 });
    expect(result.to_account).toMatchObject({ owner: "bank", currency: "USD" });
    expect(result.to_account.balance).toBe(treasuryBefore.balance + 350);
    expect((await accountAsSeenBy(owner.accessToken, account.id)).balance).toBe(650);
  });

  test("the whole balance may be withdrawn, to exactly 0", async () => {
    const { account } = await customerWith("USD", 80);
    const res = await cash("withdrawals", account.id, { amount: 80, currency: "USD" }, banker);
    expect(res.status).toBe(201);
    expect(res.body.from_account.balance).toBe(0);
  });

  test("over the balance: 422 insufficient_funds and nothing changes", async () => {
    const { account } = await customerWith("USD", 100);
    const before = await ledgerRowsTouching(account.id);
    const treasuryBefore = await balanceInDb(treasury.USD);
    const res = await cash("withdrawals", account.id, { amount: 101, currency: "USD" }, banker);
    expectProblem(res, 422, "insufficient_funds");
    expect(await balanceInDb(account.id)).toBe(100);
    expect(await balanceInDb(treasury.USD)).toBe(treasuryBefore);
    expect(await ledgerRowsTouching(account.id)).toEqual(before);
    // An empty account cannot be withdrawn from at all.
    const empty = await customerWith("USD", 0);
    expectProblem(
      await cash("withdrawals", empty.account.id, { amount: 1, currency: "USD" }, banker),
      422,
      "insufficient_funds",
    );
  });
});

describe.each(KINDS)("POST /accounts/{id}/%s: who and what", (kind) => {
  let owner: TestUser;
  let account: AccountJson;
  beforeAll(async () => {
    ({ owner, account } = await customerWith("USD", 500));
  });

  /** Every case below fails, so the account never moves. */
  const expectUnchanged = async () => {
    expect(await balanceInDb(account.id)).toBe(500);
  };

  test("a depositor, even the account's owner: 403 forbidden", async () => {
    const res = await cash(kind, account.id, { amount: 10, currency: "USD" }, owner.accessToken);
    expectProblem(res, 403, "forbidden");
    const stranger = await signUp();
    expectProblem(
      await cash(kind, account.id, { amount: 10, currency: "USD" }, stranger.accessToken),
      403,
      "forbidden",
    );
    await expectUnchanged();
  });

  test("no token: 401", async () => {
    expectProblem(
      await cash(kind, account.id, { amount: 10, currency: "USD" }),
      401,
      "unauthenticated",
    );
    await expectUnchanged();
  });

  test("currency mismatch: 422 currency_mismatch", async () => {
    for (const currency of ["EUR", "CAD"]) {
      expectProblem(
        await cash(kind, account.id, { amount: 10, currency }, banker),
        422,
        "currency_mismatch",
      );
    }
    await expectUnchanged();
  });

  test("unknown account: 404", async () => {
    expectProblem(
      await cash(kind, UNKNOWN_ID, { amount: 10, currency: "USD" }, banker),
      404,
      "not_found",
    );
  });

  test("a treasury account as {id}: 422 invalid_account", async () => {
    const before = await treasuryIds();
    const balances = await Promise.all(Object.values(before).map(balanceInDb));
    for (const [currency, id] of Object.entries(before)) {
      expectProblem(await cash(kind, id, { amount: 10, currency }, banker), 422, "invalid_account");
    }
    // Another currency's treasury: still invalid_account (the account is checked first).
    expectProblem(
      await cash(kind, before.EUR, { amount: 10, currency: "USD" }, banker),
      422,
      "invalid_account",
    );
    expect(await Promise.all(Object.values(before).map(balanceInDb))).toEqual(balances);
  });

  test("bad amounts are 400 naming `amount`", async () => {
    for (const amount of [0, -1, 1.5, "10", 1_000_000_000_001, 1e30, null, "Infinity"]) {
      expectInvalid(await cash(kind, account.id, { amount, currency: "USD" }, banker), "amount");
    }
    expectInvalid(await cash(kind, account.id, { currency: "USD" }, banker), "amount");
    await expectUnchanged();
  });

  test("bad currency, unknown fields, several at once: 400 naming each", async () => {
    for (const currency of ["usd", "", 5, "GBP"]) {
      expectInvalid(await cash(kind, account.id, { amount: 10, currency }, banker), "currency");
    }
    expectInvalid(
      await cash(kind, account.id, { amount: 10, currency: "USD", to: 1 }, banker),
      "to",
    );
    expectInvalid(await cash(kind, account.id, {}, banker), "amount", "currency");
    expectInvalid(await cash(kind, account.id, [10, "USD"], banker), "(body)");
    await expectUnchanged();
  });

  test("bad ids in the path are 400 naming `id`", async () => {
    for (const id of ["0", "-1", "abc", "1.5", "99999999999999999999"]) {
      expectInvalid(await cash(kind, id, { amount: 10, currency: "USD" }, banker), "id");
    }
  });

  test("GET on the path: 405 with Allow: POST", async () => {
    const res = await call("GET", `/accounts/${account.id}/${kind}`, { token: banker });
    expectProblem(res, 405, "method_not_allowed");
    expect(res.headers.get("Allow")).toBe("POST");
  });

  test("malformed JSON 400, wrong content type 415", async () => {
    const path = `/accounts/${account.id}/${kind}`;
    expectProblem(
      await call("POST", path, { token: banker, body: '{"amount": 10,' }),
      400,
      "malformed_json",
    );
    expectProblem(
      await call("POST", path, {
        token: banker,
        body: JSON.stringify({ amount: 10, currency: "USD" }),
        headers: { "Content-Type": "text/plain" },
      }),
      415,
      "unsupported_media_type",
    );
    await expectUnchanged();
  });
});

describe("the books balance", () => {
  test("after deposits and withdrawals, every currency sums to 0, treasury included", async () => {
    const accounts = [];
    for (const currency of ["USD", "EUR", "CAD"] as const) {
      const owner = await signUp();
      accounts.push(await openAccountFor(owner, currency));
    }
    const moves: [Kind, number][] = [
      ["deposits", 1_000],
      ["withdrawals", 300],
      ["deposits", 45],
      ["withdrawals", 745],
      ["deposits", 9_999],
    ];
    for (const account of accounts) {
      for (const [kind, amount] of moves) {
        const res = await cash(kind, account.id, { amount, currency: account.currency }, banker);
        expect(res.status).toBe(201);
      }
      expect(await balanceInDb(account.id)).toBe(9_999);
    }

    const db = await sql();
    const totals = await db<{ currency: string; total: string }[]>`
      select currency, sum(balance)::text as total from accounts group by currency order by currency`;
    expect([...totals]).toEqual([
      { currency: "CAD", total: "0" },
      { currency: "EUR", total: "0" },
      { currency: "USD", total: "0" },
    ]);
    // Every balance equals the sum of its entries; every transfer has two entries summing to 0.
    const drifted = await db`
      select a.id from accounts a left join entries e on e.account_id = a.id
      group by a.id having a.balance <> coalesce(sum(e.amount), 0)`;
    expect(drifted).toHaveLength(0);
    const lopsided = await db`
      select t.id from transfers t left join entries e on e.transfer_id = t.id
      group by t.id having count(e.id) <> 2 or coalesce(sum(e.amount), 0) <> 0`;
    expect(lopsided).toHaveLength(0);
    // Only treasuries may be below zero.
    const negative = await db`select id from accounts where kind = 'customer' and balance < 0`;
    expect(negative).toHaveLength(0);
    // Every account's latest balance_after equals its balance (the statements' running sum).
    expect(await balanceAfterViolations(db)).toEqual([]);
  });
});

describe("concurrency over HTTP", () => {
  let server: Awaited<ReturnType<typeof liveServer>>;
  beforeAll(async () => {
    server = await liveServer();
  });
  afterAll(async () => {
    await server.stop();
  });

  test("50 concurrent withdrawals of 30 from 1000: exactly 33 succeed, 10 left, never negative", async () => {
    const { owner, account } = await customerWith("USD", 1_000);
    const replies = await Promise.all(
      Array.from({ length: 50 }, () =>
        fetchJson(`${server.url}/accounts/${account.id}/withdrawals`, {
          method: "POST",
          token: banker,
          body: { amount: 30, currency: "USD" },
        }),
      ),
    );
    const ok = replies.filter((r) => r.status === 201);
    const refused = replies.filter((r) => r.status !== 201);
    expect(ok).toHaveLength(33);
    expect(refused).toHaveLength(17);
    for (const reply of refused) expectProblem(reply, 422, "insufficient_funds");
    // Each success saw its own post-state: 970, 940, … 10, each exactly once, none negative.
    const after = ok
      .map((r) => (r.body as TransferResultJson).from_account.balance)
      .sort((a, b) => b - a);
    expect(after).toEqual(Array.from({ length: 33 }, (_, i) => 1_000 - 30 * (i + 1)));
    expect(Math.min(...after)).toBeGreaterThanOrEqual(0);
    expect((await accountAsSeenBy(owner.accessToken, account.id)).balance).toBe(10);
    expect(await ledgerRowsTouching(account.id)).toEqual({ transfers: 34, entries: 34 });
  });
});

describe("deposits and withdrawals with Idempotency-Key", () => {
  const newKey = () => crypto.randomUUID();
  const keyed = (kind: Kind, accountId: number, body: unknown, key: string) =>
    call<TransferResultJson>("POST", `/accounts/${accountId}/${kind}`, {
      token: banker,
      body,
      headers: { "Idempotency-Key": key },
    });

  for (const kind of KINDS) {
    test(`${kind}: same key and body → the first 201 replayed, money moves once`, async () => {
      const { account } = await customerWith("USD", 1_000);
      const key = newKey();
      const body = { amount: 70, currency: "USD" };
      const first = await keyed(kind, account.id, body, key);
      expect(first.status).toBe(201);
      expect(first.headers.get("Idempotent-Replayed")).toBeNull();
      // Money moves in between, so the replay must show the stored result, not the present.
      expect((await cash(kind, account.id, body, banker)).status).toBe(201);
      const again = await keyed(kind, account.id, { currency: "USD", amount: 70 }, key);
      expect(again.status).toBe(201);
      expect(again.headers.get("Idempotent-Replayed")).toBe("true");
      expect(again.body).toEqual(first.body);
      expect(await ledgerRowsTouching(account.id)).toEqual({ transfers: 3, entries: 3 });
      expect(await balanceInDb(account.id)).toBe(kind === "deposits" ? 1_140 : 860);
    });
  }

  test("same key, another amount, account or direction: 422 idempotency_key_reused, nothing moves", async () => {
    const { account } = await customerWith("EUR", 500);
    const { account: other } = await customerWith("EUR", 500);
    const key = newKey();
    const body = { amount: 40, currency: "EUR" };
    expect((await keyed("deposits", account.id, body, key)).status).toBe(201);
    for (const [kind, id, again] of [
      ["deposits", account.id, { amount: 41, currency: "EUR" }],
      ["deposits", other.id, body],
      ["withdrawals", account.id, body],
    ] as const) {
      expectProblem(await keyed(kind, id, again, key), 422, "idempotency_key_reused");
    }
    expect(await balanceInDb(account.id)).toBe(540);
    expect(await balanceInDb(other.id)).toBe(500);
  });

  test("a bad key: 400 naming Idempotency-Key, nothing moves", async () => {
    const { account } = await customerWith("USD", 100);
    for (const kind of KINDS) {
      expectInvalid(
        await keyed(kind, account.id, { amount: 1, currency: "USD" }, "clé"),
        "Idempotency-Key",
      );
    }
    expect(await ledgerRowsTouching(account.id)).toEqual({ transfers: 1, entries: 1 });
  });

  test("a failed withdrawal leaves no key: the retry after funding runs afresh", async () => {
    const { account } = await customerWith("CAD", 0);
    const key = newKey();
    const body = { amount: 50, currency: "CAD" };
    expectProblem(await keyed("withdrawals", account.id, body, key), 422, "insufficient_funds");
    await depositTo(account, 60);
    const retry = await keyed("withdrawals", account.id, body, key);
    expect(retry.status).toBe(201);
    expect(retry.headers.get("Idempotent-Replayed")).toBeNull();
    expect(retry.body.from_account.balance).toBe(10);
    const replay = await keyed("withdrawals", account.id, body, key);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replay.body).toEqual(retry.body);
    expect(await balanceInDb(account.id)).toBe(10);
  });

  describe("over a socket", () => {
    let server: Awaited<ReturnType<typeof liveServer>>;
    beforeAll(async () => {
      server = await liveServer();
    });
    afterAll(async () => {
      await server.stop();
    });

    test("10 concurrent same-key deposits pay exactly once; the others replay or 409", async () => {
      const { account } = await customerWith("USD", 0);
      const key = newKey();
      const usdTotal = async () => {
        const db = await sql();
        const [row] = await db<{ total: string }[]>`
          select sum(balance)::text as total from accounts where currency = 'USD'`;
        return row?.total;
      };
      const replies = await Promise.all(
        Array.from({ length: 10 }, () =>
          fetchJson(`${server.url}/accounts/${account.id}/deposits`, {
            method: "POST",
            token: banker,
            body: { amount: 250, currency: "USD" },
            headers: { "Idempotency-Key": key },
          }),
        ),
      );
      expect(replies.every((r) => r.status === 201 || r.status === 409)).toBe(true);
      const created = replies.filter((r) => r.status === 201);
      const fresh = created.filter((r) => r.headers.get("Idempotent-Replayed") === null);
      expect(fresh).toHaveLength(1);
      for (const reply of created) expect(reply.body).toEqual(fresh[0]?.body);
      for (const reply of replies.filter((r) => r.status === 409)) {
        expectProblem(reply, 409, "idempotency_in_progress");
      }
      expect(await balanceInDb(account.id)).toBe(250);
      expect(await ledgerRowsTouching(account.id)).toEqual({ transfers: 1, entries: 1 });
      // The books still balance: the treasury moved by exactly what the account got.
      expect(await usdTotal()).toBe("0");
    });
  });
});
