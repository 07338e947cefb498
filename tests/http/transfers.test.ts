import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Currency } from "../../src/core/domain/money.ts";
import {
  type AccountJson,
  type CallOptions,
  call,
  depositTo,
  expectProblem,
  openAccountFor,
  signUp,
  type TestUser,
  targetApp,
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
  TIMESTAMP,
  type TransferJson,
  type TransferResultJson,
  treasuryIds,
  UNKNOWN_ID,
} from "../support/ledger-http.ts";

/** Contract, "Transfers": POST /transfers, GET /transfers/{id}, GET /transfers?account_id=. */

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

const transferBody = (from: number, to: number, amount = 10, currency = "USD") => ({
  from_account_id: from,
  to_account_id: to,
  amount,
  currency,
});

const post = (body: unknown, token?: string, options: Omit<CallOptions, "body" | "token"> = {}) =>
  call<TransferResultJson>("POST", "/transfers", { ...options, body, token });

let treasury: Record<Currency, number>;
beforeAll(async () => {
  treasury = await treasuryIds();
});

describe("POST /transfers (TestTransferAPI)", () => {
  // The original's fixture: user1/account1 USD, user2/account2 USD, user3/account3 EUR.
  let one: Customer;
  let two: Customer;
  let three: Customer;
  beforeAll(async () => {
    one = await customer("USD", 1_000);
    two = await customer("USD", 0);
    three = await customer("EUR", 1_000);
  });

  /** Failing cases must write nothing. */
  const expectNothingWritten = async (before: { transfers: number; entries: number }) => {
    expect(await ledgerRowsTouching(one.account.id, two.account.id, three.account.id)).toEqual(
      before,
    );
  };
  const snapshot = () => ledgerRowsTouching(one.account.id, two.account.id, three.account.id);

  test("OK: 201 with the transfer, both accounts after it and both entries", async () => {
    const sender = await customer("USD", 1_000);
    const recipient = await customer("USD", 0);
    const res = await post(
      transferBody(sender.account.id, recipient.account.id, 10),
      sender.user.accessToken,
    );
    expect(res.status).toBe(201);
    expect(res.headers.get("Content-Type")).toStartWith("application/json");
    expect(res.headers.get("Idempotent-Replayed")).toBeNull();
    const result = expectTransferResult(res.body, {
      from: sender.account.id,
      to: recipient.account.id,
      amount: 10,
      toBalanceShown: false,
    });
    // from_account: the sender's own account with its new balance.
    expect(result.from_account).toEqual({ ...sender.account, balance: 990 });
    // to_account: the recipient's account without its balance (fix: the original leaked it).
    expect(result.to_account).toEqual({
      id: recipient.account.id,
      owner: recipient.user.username,
      currency: "USD",
      created_at: recipient.account.created_at,
    });
    expect("balance" in result.to_account).toBe(false);
    // The money did arrive: the recipient sees it, and so does the sender.
    expect((await accountAsSeenBy(recipient.user.accessToken, recipient.account.id)).balance).toBe(
      10,
    );
    expect((await accountAsSeenBy(sender.user.accessToken, sender.account.id)).balance).toBe(990);
    // One transfer, two entries.
    expect(await ledgerRowsTouching(recipient.account.id)).toEqual({ transfers: 1, entries: 1 });
    const db = await sql();
    const rows = await db<{ account_id: string; amount: string }[]>`
      select account_id::text, amount::text from entries
      where transfer_id = ${result.transfer.id} order by id`;
    expect([...rows]).toEqual([
      { account_id: String(sender.account.id), amount: "-10" },
      { account_id: String(recipient.account.id), amount: "10" },
    ]);
  });

  test("a banker sender sees the recipient's balance (its own USD account to a customer)", async () => {
    const banker = await signUp({ role: "banker" });
    const own = await customer("USD", 100, banker);
    const recipient = await customer("USD", 7);
    const res = await post(
      transferBody(own.account.id, recipient.account.id, 40),
      banker.accessToken,
    );
    expect(res.status).toBe(201);
    const result = expectTransferResult(res.body, {
      from: own.account.id,
      to: recipient.account.id,
      amount: 40,
      toBalanceShown: true,
    });
    expect(result.from_account.balance).toBe(60);
    expect(result.to_account.balance).toBe(47);
  });

  test("UnauthorizedUser: 403 forbidden (fix: was 401)", async () => {
    const before = await snapshot();
    const res = await post(transferBody(one.account.id, two.account.id), two.user.accessToken);
    expectProblem(res, 403, "forbidden");
    await expectNothingWritten(before);
  });

  test("NoAuthorization: 401", async () => {
    const before = await snapshot();
    expectProblem(await post(transferBody(one.account.id, two.account.id)), 401, "unauthenticated");
    await expectNothingWritten(before);
  });

  test("FromAccountNotFound: 404", async () => {
    const res = await post(transferBody(UNKNOWN_ID, two.account.id), one.user.accessToken);
    expectProblem(res, 404, "not_found");
  });

  test("ToAccountNotFound: 404", async () => {
    const before = await snapshot();
    const res = await post(transferBody(one.account.id, UNKNOWN_ID), one.user.accessToken);
    expectProblem(res, 404, "not_found");
    await expectNothingWritten(before);
  });

  test("FromAccountCurrencyMismatch: 422 currency_mismatch (was 400)", async () => {
    const before = await snapshot();
    const res = await post(transferBody(three.account.id, two.account.id), three.user.accessToken);
    expectProblem(res, 422, "currency_mismatch");
    await expectNothingWritten(before);
  });

  test("ToAccountCurrencyMismatch: 422 currency_mismatch (was 400)", async () => {
    const before = await snapshot();
    const res = await post(transferBody(one.account.id, three.account.id), one.user.accessToken);
    expectProblem(res, 422, "currency_mismatch");
    await expectNothingWritten(before);
  });

  test("InvalidCurrency: 400 naming `currency`", async () => {
    const res = await post(
      transferBody(one.account.id, two.account.id, 10, "XYZ"),
      one.user.accessToken,
    );
    expectInvalid(res, "currency");
  });

  test("NegativeAmount: 400 naming `amount`", async () => {
    const res = await post(transferBody(one.account.id, two.account.id, -10), one.user.accessToken);
    expectInvalid(res, "amount");
  });

  test("after all the failures above, account1 still holds its 1000", async () => {
    expect(await balanceInDb(one.account.id)).toBe(1_000);
    expect(await balanceInDb(two.account.id)).toBe(0);
  });
});

describe("POST /transfers: business rules", () => {
  test("the same account as from and to: 422 same_account", async () => {
    const a = await customer("USD", 100);
    const res = await post(transferBody(a.account.id, a.account.id), a.user.accessToken);
    expectProblem(res, 422, "same_account");
    expect(await ledgerRowsTouching(a.account.id)).toEqual({ transfers: 1, entries: 1 });
  });

  test("insufficient funds: 422 and nothing written", async () => {
    const a = await customer("EUR", 100);
    const b = await customer("EUR", 0);
    const before = await ledgerRowsTouching(a.account.id, b.account.id);
    const res = await post(
      transferBody(a.account.id, b.account.id, 101, "EUR"),
      a.user.accessToken,
    );
    expectProblem(res, 422, "insufficient_funds");
    expect(await ledgerRowsTouching(a.account.id, b.account.id)).toEqual(before);
    expect(await balanceInDb(a.account.id)).toBe(100);
    expect(await balanceInDb(b.account.id)).toBe(0);
    // The whole balance is fine.
    const all = await post(
      transferBody(a.account.id, b.account.id, 100, "EUR"),
      a.user.accessToken,
    );
    expect(all.status).toBe(201);
    expect(all.body.from_account.balance).toBe(0);
  });

  test("a treasury account as from or to: 422 invalid_account", async () => {
    const a = await customer("USD", 100);
    const before = await balanceInDb(treasury.USD);
    expectProblem(
      await post(transferBody(treasury.USD, a.account.id), a.user.accessToken),
      422,
      "invalid_account",
    );
    expectProblem(
      await post(transferBody(a.account.id, treasury.USD), a.user.accessToken),
      422,
      "invalid_account",
    );
    // Not even a banker may move treasury money with a transfer.
    expectProblem(
      await post(transferBody(treasury.USD, a.account.id), await bankerToken()),
      422,
      "invalid_account",
    );
    expect(await balanceInDb(treasury.USD)).toBe(before);
    expect(await balanceInDb(a.account.id)).toBe(100);
  });

  test("a banker cannot move money out of someone else's account: 403", async () => {
    const a = await customer("CAD", 100);
    const b = await customer("CAD", 0);
    const res = await post(
      transferBody(a.account.id, b.account.id, 10, "CAD"),
      await bankerToken(),
    );
    expectProblem(res, 403, "forbidden");
    expect(await balanceInDb(a.account.id)).toBe(100);
  });

  test("a second transfer sees the first: balances accumulate", async () => {
    const a = await customer("USD", 100);
    const b = await customer("USD", 0);
    for (const expected of [70, 40, 10]) {
      const res = await post(transferBody(a.account.id, b.account.id, 30), a.user.accessToken);
      expect(res.body.from_account.balance).toBe(expected);
    }
    expectProblem(
      await post(transferBody(a.account.id, b.account.id, 30), a.user.accessToken),
      422,
      "insufficient_funds",
    );
    expect(await balanceInDb(b.account.id)).toBe(90);
  });
});

describe("POST /transfers: the contract's check order, one test per adjacent pair", () => {
  // alice: USD funded 50; bob: USD and EUR, both empty.
  let alice: Customer;
  let bobUsd: Customer;
  let bobEur: Customer;
  beforeAll(async () => {
    alice = await customer("USD", 50);
    bobUsd = await customer("USD", 0);
    bobEur = await customer("EUR", 0, bobUsd.user);
  });
  const as = (user: TestUser, body: unknown) => post(body, user.accessToken);

  test("validation AND from missing → 400", async () => {
    expectInvalid(await as(alice.user, transferBody(UNKNOWN_ID, bobUsd.account.id, 0)), "amount");
  });

  test("from missing AND currency wrong for the to account → 404", async () => {
    const res = await as(alice.user, transferBody(UNKNOWN_ID, bobEur.account.id, 10, "USD"));
    expectProblem(res, 404, "not_found");
  });

  test("from currency mismatch AND not the caller's → 422 currency_mismatch, not 403", async () => {
    const res = await as(alice.user, transferBody(bobEur.account.id, alice.account.id, 10, "USD"));
    expectProblem(res, 422, "currency_mismatch");
  });

  test("from currency mismatch AND from is a treasury → 422 currency_mismatch", async () => {
    const res = await as(alice.user, transferBody(treasury.EUR, alice.account.id, 10, "USD"));
    expectProblem(res, 422, "currency_mismatch");
  });

  test("from is a treasury AND not the caller's → 422 invalid_account, not 403", async () => {
    const res = await as(alice.user, transferBody(treasury.USD, alice.account.id, 10, "USD"));
    expectProblem(res, 422, "invalid_account");
  });

  test("from not the caller's AND to missing → 403", async () => {
    const res = await as(alice.user, transferBody(bobUsd.account.id, UNKNOWN_ID, 10, "USD"));
    expectProblem(res, 403, "forbidden");
  });

  test("to missing AND funds too low → 404", async () => {
    const res = await as(alice.user, transferBody(alice.account.id, UNKNOWN_ID, 1_000, "USD"));
    expectProblem(res, 404, "not_found");
  });

  test("to currency mismatch AND to is a treasury → 422 currency_mismatch", async () => {
    const res = await as(alice.user, transferBody(alice.account.id, treasury.EUR, 10, "USD"));
    expectProblem(res, 422, "currency_mismatch");
  });

  test("to currency mismatch AND funds too low → 422 currency_mismatch", async () => {
    const res = await as(alice.user, transferBody(alice.account.id, bobEur.account.id, 1_000));
    expectProblem(res, 422, "currency_mismatch");
  });

  test("to is a treasury AND funds too low → 422 invalid_account", async () => {
    const res = await as(alice.user, transferBody(alice.account.id, treasury.USD, 1_000, "USD"));
    expectProblem(res, 422, "invalid_account");
  });

  test("same_account AND funds too low → 422 same_account", async () => {
    const res = await as(alice.user, transferBody(alice.account.id, alice.account.id, 1_000));
    expectProblem(res, 422, "same_account");
  });

  test("none of the above moved any money", async () => {
    expect(await balanceInDb(alice.account.id)).toBe(50);
    expect(await ledgerRowsTouching(bobUsd.account.id, bobEur.account.id)).toEqual({
      transfers: 0,
      entries: 0,
    });
  });
});

describe("POST /transfers: bad input is 400 (never 5xx)", () => {
  let sender: Customer;
  let recipient: Customer;
  let valid: Record<string, unknown>;
  beforeAll(async () => {
    sender = await customer("USD", 1_000);
    recipient = await customer("USD", 0);
    valid = transferBody(sender.account.id, recipient.account.id, 10);
  });
  const send = (body: unknown, options: Omit<CallOptions, "body" | "token"> = {}) =>
    post(body, sender.user.accessToken, options);
  const without = (field: string) =>
    Object.fromEntries(Object.entries(valid).filter(([k]) => k !== field));

  const BAD_IDS: unknown[] = [0, -1, 1.5, "1", null, 2 ** 53 + 2, true, [1], { id: 1 }];
  const BAD_AMOUNTS: unknown[] = [0, -10, 10.5, "10", 1e30, "Infinity", 1_000_000_000_001, null];
  const BAD_CURRENCIES: unknown[] = ["usd", "", 5, "XYZ", null, ["USD"]];

  for (const field of ["from_account_id", "to_account_id"]) {
    test(`${field}: ${BAD_IDS.map((v) => JSON.stringify(v)).join(", ")} and missing`, async () => {
      for (const value of BAD_IDS) expectInvalid(await send({ ...valid, [field]: value }), field);
      expectInvalid(await send(without(field)), field);
    });
  }

  test(`amount: ${BAD_AMOUNTS.map((v) => JSON.stringify(v)).join(", ")} and missing`, async () => {
    for (const amount of BAD_AMOUNTS) expectInvalid(await send({ ...valid, amount }), "amount");
    expectInvalid(await send(without("amount")), "amount");
  });

  test(`currency: ${BAD_CURRENCIES.map((v) => JSON.stringify(v)).join(", ")} and missing`, async () => {
    for (const currency of BAD_CURRENCIES) {
      expectInvalid(await send({ ...valid, currency }), "currency");
    }
    expectInvalid(await send(without("currency")), "currency");
  });

  test("every bad field is reported at once", async () => {
    expectInvalid(
      await send({ from_account_id: 0, to_account_id: "x", amount: -1, currency: "usd" }),
      "amount",
      "currency",
      "from_account_id",
      "to_account_id",
    );
    expectInvalid(await send({}), "amount", "currency", "from_account_id", "to_account_id");
  });

  test("an unknown field is named", async () => {
    expectInvalid(await send({ ...valid, note: "rent" }), "note");
    expectInvalid(await send({ ...valid, fromAccountId: 1 }), "fromAccountId");
  });

  test("a body that is not an object: 400 naming (body)", async () => {
    for (const body of [[valid], '"a string"', "42", "null"]) {
      expectInvalid(await send(body), "(body)");
    }
  });

  test("malformed JSON: 400 malformed_json", async () => {
    for (const body of ['{"from_account_id": 1,', "{from_account_id: 1}", "{'a': 1}"]) {
      expectProblem(await send(body), 400, "malformed_json");
    }
  });

  test("an empty body: 400 malformed_json; a body over 64 KiB: 413", async () => {
    expectProblem(await send(""), 400, "malformed_json");
    expectProblem(await send({ ...valid, memo: "x".repeat(70_000) }), 413, "payload_too_large");
  });

  test("text/plain content type: 415", async () => {
    const res = await send(JSON.stringify(valid), { headers: { "Content-Type": "text/plain" } });
    expectProblem(res, 415, "unsupported_media_type");
  });

  test("no content type with a body: 415", async () => {
    const res = await (await targetApp()).request("/transfers", {
      method: "POST",
      headers: { Authorization: `Bearer ${sender.user.accessToken}` },
      body: JSON.stringify(valid),
    });
    expect(res.status).toBe(415);
    expect(res.headers.get("Content-Type")).toBe("application/problem+json");
    expect(((await res.json()) as { code: string }).code).toBe("unsupported_media_type");
  });

  test("application/json with a charset is accepted (the control for the cases above)", async () => {
    const res = await send(valid, {
      headers: { "Content-Type": "application/json; charset=utf-8" },
    });
    expect(res.status).toBe(201);
  });

  test("only the control case moved money", async () => {
    expect(await balanceInDb(sender.account.id)).toBe(990);
    expect(await ledgerRowsTouching(recipient.account.id)).toEqual({ transfers: 1, entries: 1 });
  });
});

describe("methods", () => {
  test("known paths, other methods: 405 with Allow", async () => {
    const { user } = await customer("USD", 0);
    const put = await call("PUT", "/transfers", { token: user.accessToken, body: {} });
    expectProblem(put, 405, "method_not_allowed");
    expect(put.headers.get("Allow")).toContain("POST");
    const del = await call("DELETE", "/transfers/1", { token: user.accessToken });
    expectProblem(del, 405, "method_not_allowed");
    expect(del.headers.get("Allow")).toContain("GET");
  });
});

describe("POST /transfers with Idempotency-Key", () => {
  const withKey = (key: string) => ({ headers: { "Idempotency-Key": key } });
  const newKey = () => crypto.randomUUID();

  test("same key and body: 201 replayed with the same transfer and body, one row", async () => {
    const a = await customer("USD", 1_000);
    const b = await customer("USD", 0);
    const key = newKey();
    const body = transferBody(a.account.id, b.account.id, 25);
    const first = await post(body, a.user.accessToken, withKey(key));
    expect(first.status).toBe(201);
    expect(first.headers.get("Idempotent-Replayed")).toBeNull();

    // Money moves in between, so the replay must not show the present balance.
    const other = await post(transferBody(a.account.id, b.account.id, 100), a.user.accessToken);
    expect(other.body.from_account.balance).toBe(875);

    const again = await post(body, a.user.accessToken, withKey(key));
    expect(again.status).toBe(201);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.body.transfer.id).toBe(first.body.transfer.id);
    expect(again.body).toEqual(first.body);
    expect(again.body.from_account.balance).toBe(975);

    // Key order in the body does not matter: the same request is the same request.
    const reordered = await post(
      { currency: "USD", amount: 25, to_account_id: b.account.id, from_account_id: a.account.id },
      a.user.accessToken,
      withKey(key),
    );
    expect(reordered.headers.get("Idempotent-Replayed")).toBe("true");
    expect(reordered.body).toEqual(first.body);

    const db = await sql();
    const [row] = await db<{ n: number }[]>`
      select count(*)::int as n from transfers
      where from_account_id = ${a.account.id} and amount = 25`;
    expect(row?.n).toBe(1);
    expect(await balanceInDb(a.account.id)).toBe(875);
  });

  test("same key, different body: 422 idempotency_key_reused, nothing moves", async () => {
    const a = await customer("USD", 1_000);
    const b = await customer("USD", 0);
    const c = await customer("USD", 0);
    const key = newKey();
    expect(
      (await post(transferBody(a.account.id, b.account.id, 25), a.user.accessToken, withKey(key)))
        .status,
    ).toBe(201);
    for (const body of [
      transferBody(a.account.id, b.account.id, 26),
      transferBody(a.account.id, c.account.id, 25),
    ]) {
      expectProblem(
        await post(body, a.user.accessToken, withKey(key)),
        422,
        "idempotency_key_reused",
      );
    }
    expect(await balanceInDb(a.account.id)).toBe(975);
    expect(await ledgerRowsTouching(c.account.id)).toEqual({ transfers: 0, entries: 0 });
  });

  test("keys are per user: another user's identical key makes their own transfer", async () => {
    const a = await customer("EUR", 100);
    const b = await customer("EUR", 100);
    const key = newKey();
    const first = await post(
      transferBody(a.account.id, b.account.id, 10, "EUR"),
      a.user.accessToken,
      withKey(key),
    );
    const second = await post(
      transferBody(b.account.id, a.account.id, 10, "EUR"),
      b.user.accessToken,
      withKey(key),
    );
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get("Idempotent-Replayed")).toBeNull();
    expect(second.body.transfer.id).not.toBe(first.body.transfer.id);
    expect(second.body.transfer.from_account_id).toBe(b.account.id);
  });

  test("bad keys: 400 naming Idempotency-Key, and nothing moves", async () => {
    const a = await customer("USD", 100);
    const b = await customer("USD", 0);
    const body = transferBody(a.account.id, b.account.id, 10);
    for (const key of ["", "x".repeat(256), "clé", "naïve-key", "a\x01b", "a\x7fb", "tab\there"]) {
      expectInvalid(await post(body, a.user.accessToken, withKey(key)), "Idempotency-Key");
    }
    expect(await balanceInDb(a.account.id)).toBe(100);
    // The bounds: 255 printable characters (space and ~ included) are fine.
    const longest = `${"~ ".repeat(127)}x`;
    expect(longest).toHaveLength(255);
    expect((await post(body, a.user.accessToken, withKey(longest))).status).toBe(201);
  });

  test("a failure is not stored: insufficient funds, then funding, then the same key → 201", async () => {
    const a = await customer("CAD", 0);
    const b = await customer("CAD", 0);
    const key = newKey();
    const body = transferBody(a.account.id, b.account.id, 50, "CAD");
    expectProblem(await post(body, a.user.accessToken, withKey(key)), 422, "insufficient_funds");
    await depositTo(a.account, 60);
    const retry = await post(body, a.user.accessToken, withKey(key));
    expect(retry.status).toBe(201);
    expect(retry.headers.get("Idempotent-Replayed")).toBeNull();
    expect(retry.body.from_account.balance).toBe(10);
    const replay = await post(body, a.user.accessToken, withKey(key));
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replay.body).toEqual(retry.body);
    expect(await balanceInDb(a.account.id)).toBe(10);
  });

  describe("over a socket", () => {
    let server: Awaited<ReturnType<typeof liveServer>>;
    beforeAll(async () => {
      server = await liveServer();
    });
    afterAll(async () => {
      await server.stop();
    });

    test("20 concurrent requests with one key and body: exactly one transfer", async () => {
      const a = await customer("USD", 1_000);
      const b = await customer("USD", 0);
      const key = newKey();
      const replies = await Promise.all(
        Array.from({ length: 20 }, () =>
          fetchJson(`${server.url}/transfers`, {
            method: "POST",
            token: a.user.accessToken,
            body: transferBody(a.account.id, b.account.id, 40),
            headers: { "Idempotency-Key": key },
          }),
        ),
      );
      const statuses = replies.map((r) => r.status);
      expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
      const created = replies.filter((r) => r.status === 201);
      const fresh = created.filter((r) => r.headers.get("Idempotent-Replayed") === null);
      expect(fresh).toHaveLength(1);
      const original = fresh[0]?.body as TransferResultJson;
      for (const reply of created) expect(reply.body).toEqual(original);
      for (const reply of replies.filter((r) => r.status === 409)) {
        expectProblem(reply, 409, "idempotency_in_progress");
      }
      expect(await ledgerRowsTouching(b.account.id)).toEqual({ transfers: 1, entries: 1 });
      expect(await balanceInDb(a.account.id)).toBe(960);
      // Once it has settled, the key replays.
      const later = await post(
        transferBody(a.account.id, b.account.id, 40),
        a.user.accessToken,
        withKey(key),
      );
      expect(later.headers.get("Idempotent-Replayed")).toBe("true");
      expect(later.body.transfer.id).toBe(original.transfer.id);
    });
  });
});

describe("GET /transfers/{id}", () => {
  let sender: Customer;
  let recipient: Customer;
  let made: TransferJson;
  beforeAll(async () => {
    sender = await customer("USD", 100);
    recipient = await customer("USD", 0);
    const res = await post(
      transferBody(sender.account.id, recipient.account.id, 15),
      sender.user.accessToken,
    );
    made = res.body.transfer;
  });
  const get = (id: number | string, token?: string) =>
    call<TransferJson>("GET", `/transfers/${id}`, { token });

  test("visible to the sender, the recipient and a banker: 200 with exactly the transfer", async () => {
    for (const token of [
      sender.user.accessToken,
      recipient.user.accessToken,
      await bankerToken(),
    ]) {
      const res = await get(made.id, token);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(made);
      expect(Object.keys(res.body).sort()).toEqual([
        "amount",
        "created_at",
        "from_account_id",
        "id",
        "memo",
        "to_account_id",
      ]);
      expect(res.body.created_at).toMatch(TIMESTAMP);
    }
  });

  test("a third user: 403 forbidden", async () => {
    expectProblem(await get(made.id, (await signUp()).accessToken), 403, "forbidden");
  });

  test("no token: 401; unknown id: 404", async () => {
    expectProblem(await get(made.id), 401, "unauthenticated");
    expectProblem(await get(UNKNOWN_ID, sender.user.accessToken), 404, "not_found");
  });

  test("bad ids: 400 naming `id`", async () => {
    for (const id of ["0", "-1", "abc", "1.5", "1e3", "99999999999999999999", "9007199254740992"]) {
      expectInvalid(await get(id, sender.user.accessToken), "id");
    }
  });

  test("a deposit is a transfer too: its owner sees it", async () => {
    const deposit = await call<TransferResultJson>(
      "POST",
      `/accounts/${recipient.account.id}/deposits`,
      {
        token: await bankerToken(),
        body: { amount: 5, currency: "USD" },
      },
    );
    const res = await get(deposit.body.transfer.id, recipient.user.accessToken);
    expect(res.status).toBe(200);
    expect(res.body.from_account_id).toBe(treasury.USD);
    expectProblem(await get(deposit.body.transfer.id, sender.user.accessToken), 403, "forbidden");
  });
});

describe("GET /transfers?account_id= (TestListTransfer)", () => {
  let a1: Customer;
  let a2: Customer;
  /** Every transfer touching a1, by id: its funding deposit, then 5 a1→a2 and 5 a2→a1. */
  let touchingA1: TransferJson[];
  beforeAll(async () => {
    a1 = await customer("USD", 1_000);
    a2 = await customer("USD", 1_000);
    const list = await call<TransferJson[]>("GET", `/transfers?account_id=${a1.account.id}`, {
      token: a1.user.accessToken,
    });
    touchingA1 = [...list.body];
    for (const [from, to] of [
      ...Array.from({ length: 5 }, () => [a1, a2]),
      ...Array.from({ length: 5 }, () => [a2, a1]),
    ] as [Customer, Customer][]) {
      const res = await post(
        transferBody(from.account.id, to.account.id, 10),
        from.user.accessToken,
      );
      if (res.status !== 201) throw new Error(JSON.stringify(res.body));
      touchingA1.push(res.body.transfer);
    }
  });
  const list = (query: string, token = a1.user.accessToken) =>
    call<TransferJson[]>("GET", `/transfers${query}`, { token });

  test("page_size=5&page_id=2: exactly 5, each with a1 on one side, by id", async () => {
    const res = await list(`?account_id=${a1.account.id}&page_size=5&page_id=2`);
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(5);
    for (const t of res.body) {
      expect(t.from_account_id === a1.account.id || t.to_account_id === a1.account.id).toBe(true);
    }
    const ids = res.body.map((t) => t.id);
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
    expect(res.body).toEqual(touchingA1.slice(5, 10));
  });

  test("all pages together: the funding deposit and the 10 transfers, by id; then []", async () => {
    expect(touchingA1).toHaveLength(11);
    const pages: TransferJson[] = [];
    for (const pageId of [1, 2, 3]) {
      pages.push(
        ...(await list(`?account_id=${a1.account.id}&page_size=5&page_id=${pageId}`)).body,
      );
    }
    expect(pages).toEqual(touchingA1);
    const past = await list(`?account_id=${a1.account.id}&page_size=5&page_id=4`);
    expect(past.status).toBe(200);
    expect(past.body).toEqual([]);
  });

  test("defaults: page 1 of 10", async () => {
    expect((await list(`?account_id=${a1.account.id}`)).body).toEqual(touchingA1.slice(0, 10));
  });

  test("an account without transfers: []", async () => {
    const quiet = await customer("EUR", 0);
    const res = await list(`?account_id=${quiet.account.id}`, quiet.user.accessToken);
    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
  });

  test("visibility is the account's: 403 for others (even a counterparty), 200 for a banker", async () => {
    expectProblem(
      await list(`?account_id=${a1.account.id}`, a2.user.accessToken),
      403,
      "forbidden",
    );
    expectProblem(
      await list(`?account_id=${a1.account.id}`, (await signUp()).accessToken),
      403,
      "forbidden",
    );
    const asBanker = await list(`?account_id=${a1.account.id}&page_size=100`, await bankerToken());
    expect(asBanker.status).toBe(200);
    expect(asBanker.body).toEqual(touchingA1);
  });

  test("401 without a token, 404 for an unknown account", async () => {
    expectProblem(
      await call("GET", `/transfers?account_id=${a1.account.id}`),
      401,
      "unauthenticated",
    );
    expectProblem(await list(`?account_id=${UNKNOWN_ID}`), 404, "not_found");
  });

  test("bad account_id, bad pages: 400 naming the field", async () => {
    for (const id of ["0", "-1", "abc", "1.5", "", "99999999999999999999"]) {
      expectInvalid(await list(`?account_id=${id}`), "account_id");
    }
    expectInvalid(await list(`?account_id=${a1.account.id}&page_id=0`), "page_id");
    expectInvalid(await list(`?account_id=${a1.account.id}&page_size=101`), "page_size");
    expectInvalid(await list("?page_size=0"), "page_size");
    expectInvalid(await list("?account_id=x&limit=0&order=up"), "account_id", "limit", "order");
  });
});

describe("GET /transfers without account_id: the caller's history", () => {
  let me: TestUser;
  let usd: AccountJson;
  let eur: AccountJson;
  let mine: TransferJson[];
  beforeAll(async () => {
    me = await signUp();
    usd = (await customer("USD", 500, me)).account;
    eur = (await customer("EUR", 500, me)).account;
    const friend = await customer("USD", 500);
    const other = await customer("EUR", 0);
    const moves: [Customer["user"], number, number, number, string][] = [
      [me, usd.id, friend.account.id, 10, "USD"],
      [friend.user, friend.account.id, usd.id, 20, "USD"],
      [me, eur.id, other.account.id, 30, "EUR"],
    ];
    for (const [who, from, to, amount, currency] of moves) {
      const res = await post(transferBody(from, to, amount, currency), who.accessToken);
      if (res.status !== 201) throw new Error(JSON.stringify(res.body));
    }
    // Someone else's transfer, between others: never in my history.
    const stranger = await customer("USD", 100);
    await post(transferBody(stranger.account.id, friend.account.id, 5), stranger.user.accessToken);
    const res = await call<TransferJson[]>("GET", "/transfers?page_size=100", {
      token: me.accessToken,
    });
    expect(res.status).toBe(200);
    mine = res.body;
  });

  test("every transfer touching any of my accounts, funding deposits included, by id", () => {
    expect(mine.map((t) => t.amount)).toEqual([500, 500, 10, 20, 30]);
    for (const t of mine) {
      expect(
        [usd.id, eur.id].some((id) => id === t.from_account_id || id === t.to_account_id),
      ).toBe(true);
    }
  });

  test("order=desc, from/to, and cursor pagination with its Link", async () => {
    const get = (query: string) =>
      call<TransferJson[]>("GET", `/transfers${query}`, { token: me.accessToken });
    expect((await get("?order=desc&limit=100")).body).toEqual([...mine].reverse());
    const third = mine[2];
    if (!third) throw new Error("no transfers");
    // The bound is a millisecond and created_at is stored to the microsecond, so the database
    // says which transfers fall on or after it.
    const db = await sql();
    const onOrAfter = await db<{ id: string }[]>`
      select id::text from transfers
      where id in ${db(mine.map((t) => t.id))} and created_at >= ${third.created_at}::timestamptz
      order by id`;
    const since = encodeURIComponent(third.created_at);
    const within = (await get(`?from=${since}&limit=100`)).body.map((t) => t.id);
    expect(within).toContain(third.id);
    expect(within).toEqual(onOrAfter.map((row) => Number(row.id)));
    const first = await get("?limit=2");
    expect(first.body).toEqual(mine.slice(0, 2));
    expect(first.headers.get("Link")).toBe(
      `</transfers?limit=2&starting_after=${mine[1]?.id}>; rel="next"`,
    );
    const last = await get(`?limit=3&starting_after=${mine[1]?.id}`);
    expect(last.body).toEqual(mine.slice(2));
    expect(last.headers.get("Link")).toBeNull();
  });

  test("a user without accounts: []; no token: 401", async () => {
    const nobody = await signUp();
    const res = await call<TransferJson[]>("GET", "/transfers", { token: nobody.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toEqual([]);
    expectProblem(await call("GET", "/transfers"), 401, "unauthenticated");
  });
});
