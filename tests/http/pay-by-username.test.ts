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
  targetUrl,
} from "../support/app.ts";
import {
  balanceInDb,
  expectInvalid,
  expectTransferResult,
  fetchJson,
  ledgerRowsTouching,
  sql,
  type TransferJson,
  type TransferResultJson,
  UNKNOWN_ID,
} from "../support/ledger-http.ts";
import { ledgerViolations } from "../support/resilience.ts";

/**
 * Contract, "Transfers": paying a person by `to_username` (+ currency) instead of
 * `to_account_id`, under the same locks and check order, with its own 404
 * `recipient_not_found`; and the optional `memo`, stored, returned and fingerprinted.
 */

interface Customer {
  user: TestUser;
  account: AccountJson;
}

async function customer(currency: Currency = "USD", funds = 0, user?: TestUser): Promise<Customer> {
  const owner = user ?? (await signUp());
  const account = await openAccountFor(owner, currency);
  if (funds > 0) await depositTo(account, funds);
  return { user: owner, account: { ...account, balance: funds } };
}

const post = (body: unknown, token: string, headers?: Record<string, string>) =>
  call<TransferResultJson>("POST", "/transfers", { body, token, headers });

const payBody = (from: number, toUsername: string, amount = 10, currency = "USD") => ({
  from_account_id: from,
  to_username: toUsername,
  amount,
  currency,
});

describe("POST /transfers with to_username", () => {
  test("201: the recipient's account in that currency is credited, its balance not shown", async () => {
    const payer = await customer("USD", 500);
    const payee = await signUp();
    const payeeEur = await customer("EUR", 0, payee);
    const payeeUsd = await customer("USD", 0, payee);
    const res = await post(
      { ...payBody(payer.account.id, payee.username, 120), memo: "Dinner on Friday" },
      payer.user.accessToken,
    );
    expect(res.status).toBe(201);
    const result = expectTransferResult(res.body, {
      from: payer.account.id,
      to: payeeUsd.account.id,
      amount: 120,
      toBalanceShown: false,
    });
    expect(result.transfer.memo).toBe("Dinner on Friday");
    expect(result.to_account).toEqual({
      id: payeeUsd.account.id,
      owner: payee.username,
      currency: "USD",
      created_at: payeeUsd.account.created_at,
    });
    expect(result.from_account.balance).toBe(380);
    expect(await balanceInDb(payeeUsd.account.id)).toBe(120);
    expect(await balanceInDb(payeeEur.account.id)).toBe(0);
    // The memo is stored: reading the transfer back shows it, to both sides.
    for (const token of [payer.user.accessToken, payee.accessToken]) {
      const back = await call<TransferJson>("GET", `/transfers/${result.transfer.id}`, { token });
      expect(back.status).toBe(200);
      expect(back.body.memo).toBe("Dinner on Friday");
    }
  });

  test("a transfer without a memo shows memo: null", async () => {
    const payer = await customer("CAD", 50);
    const payee = await customer("CAD", 0);
    const res = await post(
      payBody(payer.account.id, payee.user.username, 5, "CAD"),
      payer.user.accessToken,
    );
    expect(res.status).toBe(201);
    expect(res.body.transfer.memo).toBeNull();
  });

  test("404 recipient_not_found: no account in that currency, no such user, or the bank; nothing written", async () => {
    const payer = await customer("USD", 100);
    const eurOnly = await customer("EUR", 0);
    for (const name of [eurOnly.user.username, "no_such_user_here", "bank"]) {
      const res = await post(payBody(payer.account.id, name), payer.user.accessToken);
      expectProblem(res, 404, "recipient_not_found");
      // Nothing about the recipient is disclosed: only the name the payer gave.
      expect((res.body as { detail?: string }).detail).toBe(`${name} has no USD account`);
      expect(Object.keys(res.body as object).sort()).toEqual([
        "code",
        "detail",
        "request_id",
        "status",
        "title",
        "type",
      ]);
    }
    expect(await ledgerRowsTouching(payer.account.id)).toEqual({ transfers: 1, entries: 1 });
    expect(await balanceInDb(payer.account.id)).toBe(100);
  });

  test("the contract's check order holds by username too", async () => {
    const payer = await customer("USD", 10);
    const stranger = await customer("USD", 10);
    const eurOnly = await customer("EUR", 0);
    const token = payer.user.accessToken;
    // from missing AND recipient missing → 404 not_found (the from account's).
    expectProblem(await post(payBody(UNKNOWN_ID, eurOnly.user.username), token), 404, "not_found");
    // from currency mismatch AND recipient missing → 422 currency_mismatch.
    expectProblem(
      await post(payBody(payer.account.id, eurOnly.user.username, 10, "EUR"), token),
      422,
      "currency_mismatch",
    );
    // from not the caller's AND recipient missing → 403.
    expectProblem(
      await post(payBody(stranger.account.id, eurOnly.user.username), token),
      403,
      "forbidden",
    );
    // recipient missing AND funds too low → 404 recipient_not_found.
    expectProblem(
      await post(payBody(payer.account.id, eurOnly.user.username, 1_000), token),
      404,
      "recipient_not_found",
    );
    // Oneself by name: the same account → 422 same_account (before funds).
    expectProblem(
      await post(payBody(payer.account.id, payer.user.username, 1_000), token),
      422,
      "same_account",
    );
    // A recipient found AND funds too low → 422 insufficient_funds.
    expectProblem(
      await post(payBody(payer.account.id, stranger.user.username, 11), token),
      422,
      "insufficient_funds",
    );
    expect(await balanceInDb(payer.account.id)).toBe(10);
  });

  test("exactly one of to_account_id and to_username: 400 otherwise, with every other bad field", async () => {
    const payer = await customer("USD", 10);
    const payee = await customer("USD", 0);
    const token = payer.user.accessToken;
    const neither = { from_account_id: payer.account.id, amount: 1, currency: "USD" };
    expectInvalid(await post(neither, token), "to_account_id");
    expectInvalid(
      await post(
        { ...neither, to_account_id: payee.account.id, to_username: payee.user.username },
        token,
      ),
      "to_username",
    );
    expectInvalid(await post({ ...neither, amount: 0 }, token), "amount", "to_account_id");
    for (const bad of ["", "Bob", "a", "x".repeat(101), 7, null, "bob smith"]) {
      expectInvalid(await post({ ...neither, to_username: bad }, token), "to_username");
    }
    expect(await balanceInDb(payer.account.id)).toBe(10);
  });
});

describe("memo", () => {
  test("1..140 characters of printable text: 400 naming memo otherwise, nothing moves", async () => {
    const payer = await customer("USD", 100);
    const payee = await customer("USD", 0);
    const body = { ...payBody(payer.account.id, payee.user.username, 1) };
    for (const memo of [
      "",
      "x".repeat(141),
      "a\u0000b",
      "line\nbreak",
      "tab\there",
      "\u007f",
      42,
      null,
      ["x"],
    ]) {
      expectInvalid(await post({ ...body, memo }, payer.user.accessToken), "memo");
    }
    expect(await balanceInDb(payer.account.id)).toBe(100);
    // 140 characters of any script (code points, as the database counts them) are fine.
    for (const memo of [
      "€".repeat(140),
      "😀".repeat(140),
      "Rent — März <b>not html</b> & 'quotes'",
    ]) {
      const res = await post({ ...body, memo }, payer.user.accessToken);
      expect(res.status).toBe(201);
      expect(res.body.transfer.memo).toBe(memo);
    }
  });

  test("is part of the Idempotency-Key fingerprint; so is the recipient's name", async () => {
    const payer = await customer("EUR", 100);
    const payee = await customer("EUR", 0);
    const key = crypto.randomUUID();
    const body = { ...payBody(payer.account.id, payee.user.username, 10, "EUR"), memo: "first" };
    const first = await post(body, payer.user.accessToken, { "Idempotency-Key": key });
    expect(first.status).toBe(201);
    const replay = await post(body, payer.user.accessToken, { "Idempotency-Key": key });
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replay.body).toEqual(first.body);
    for (const other of [
      { ...body, memo: "second" },
      { ...body, memo: undefined },
      { ...body, to_username: undefined, to_account_id: payee.account.id },
    ]) {
      expectProblem(
        await post(other, payer.user.accessToken, { "Idempotency-Key": key }),
        422,
        "idempotency_key_reused",
      );
    }
    expect(await balanceInDb(payer.account.id)).toBe(90);
  });
});

describe("concurrent payments by username", () => {
  let url: string;
  beforeAll(async () => {
    url = await targetUrl();
  });
  afterAll(async () => {
    expect(await ledgerViolations(await sql())).toEqual([]);
  });

  test("30 racing payments of 40 from 500: exactly 12 succeed, never overdrawn", async () => {
    const payer = await customer("USD", 500);
    const payees = await Promise.all(Array.from({ length: 3 }, () => customer("USD", 0)));
    const replies = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        fetchJson(`${url}/transfers`, {
          method: "POST",
          token: payer.user.accessToken,
          body: {
            ...payBody(payer.account.id, payees[i % 3]?.user.username ?? "", 40),
            memo: `#${i}`,
          },
        }),
      ),
    );
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(12);
    expect(statuses.filter((s) => s === 422)).toHaveLength(18);
    expect(await balanceInDb(payer.account.id)).toBe(20);
    const received = await Promise.all(payees.map((p) => balanceInDb(p.account.id)));
    expect(received.reduce((a, b) => a + b, 0)).toBe(480);
  });

  test("two people paying each other by name at once never deadlock", async () => {
    const a = await customer("CAD", 1_000);
    const b = await customer("CAD", 1_000);
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
        return fetchJson(`${url}/transfers`, {
          method: "POST",
          token: from.user.accessToken,
          body: payBody(from.account.id, to.user.username, 10 + i, "CAD"),
        });
      }),
    );
    expect(replies.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect((await balanceInDb(a.account.id)) + (await balanceInDb(b.account.id))).toBe(2_000);
  });
});
