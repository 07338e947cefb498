import { beforeAll, describe, expect, test } from "bun:test";
import {
  type AccountJson,
  call,
  depositTo,
  openAccountFor,
  type Reply,
  signUp,
  type TestUser,
  targetUrl,
} from "../support/app.ts";
import {
  balanceInDb,
  bankerToken,
  expectInvalid,
  fetchJson,
  sql,
  TIMESTAMP,
  treasuryIds,
} from "../support/ledger-http.ts";
import { balanceAfterViolations } from "../support/resilience.ts";

/**
 * Contract, "Accounts: entries" and "Conventions: cursor pagination": the statement's entries
 * with balance_after, kind, counterparty and memo; order, time range, page and cursor
 * pagination with its Link header.
 */

interface StatementEntryJson {
  id: number;
  account_id: number;
  amount: number;
  transfer_id: number;
  created_at: string;
  balance_after: number;
  kind: string;
  counterparty_account_id: number;
  counterparty_owner: string;
  memo: string | null;
}

const statement = (token: string, accountId: number, query = "") =>
  call<StatementEntryJson[]>("GET", `/accounts/${accountId}/entries${query}`, { token });

const pay = async (
  from: { user: TestUser; account: AccountJson },
  to: AccountJson,
  amount: number,
  memo?: string,
) => {
  const res = await call("POST", "/transfers", {
    token: from.user.accessToken,
    body: {
      from_account_id: from.account.id,
      to_account_id: to.id,
      amount,
      currency: to.currency,
      memo,
    },
  });
  if (res.status !== 201) throw new Error(`transfer failed: ${JSON.stringify(res.body)}`);
};

describe("GET /accounts/{id}/entries: the statement", () => {
  let alice: { user: TestUser; account: AccountJson };
  let bob: { user: TestUser; account: AccountJson };
  beforeAll(async () => {
    const [a, b] = [await signUp(), await signUp()];
    alice = { user: a, account: await openAccountFor(a, "USD") };
    bob = { user: b, account: await openAccountFor(b, "USD") };
    await depositTo(alice.account, 1_000); // deposit: 1000
    await pay(alice, bob.account, 300, "Rent"); // transfer_out: 700
    await pay(bob, alice.account, 50); // transfer_in: 750
    const res = await call("POST", `/accounts/${alice.account.id}/withdrawals`, {
      token: await bankerToken(),
      body: { amount: 150, currency: "USD" },
    });
    expect(res.status).toBe(201); // withdrawal: 600
  });

  test("each entry: balance_after, kind, counterparty and its owner (bank for cash), memo", async () => {
    const treasury = (await treasuryIds()).USD;
    const res = await statement(alice.user.accessToken, alice.account.id);
    expect(res.status).toBe(200);
    expect(res.headers.get("Link")).toBeNull();
    for (const entry of res.body) {
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
      expect(entry.created_at).toMatch(TIMESTAMP);
      expect(entry.account_id).toBe(alice.account.id);
    }
    expect(
      res.body.map((e) => [
        e.amount,
        e.balance_after,
        e.kind,
        e.counterparty_account_id,
        e.counterparty_owner,
        e.memo,
      ]),
    ).toEqual([
      [1_000, 1_000, "deposit", treasury, "bank", null],
      [-300, 700, "transfer_out", bob.account.id, bob.user.username, "Rent"],
      [50, 750, "transfer_in", bob.account.id, bob.user.username, null],
      [-150, 600, "withdrawal", treasury, "bank", null],
    ]);
    expect(await balanceInDb(alice.account.id)).toBe(600);
    // The other side: bob sees alice and the same memo.
    const theirs = await statement(bob.user.accessToken, bob.account.id);
    expect(theirs.body.map((e) => [e.kind, e.balance_after, e.counterparty_owner, e.memo])).toEqual(
      [
        ["transfer_in", 300, alice.user.username, "Rent"],
        ["transfer_out", 250, alice.user.username, null],
      ],
    );
    // A banker reading the treasury's statement: a deposit is money out of it.
    const bank = await statement(await bankerToken(), treasury, `?order=desc&limit=2`);
    expect(bank.status).toBe(200);
    expect(bank.body.map((e) => [e.kind, e.counterparty_account_id])).toEqual([
      ["withdrawal", alice.account.id],
      ["deposit", alice.account.id],
    ]);
  });

  test("order=desc: newest first; from/to: created_at in [from, to)", async () => {
    const asc = (await statement(alice.user.accessToken, alice.account.id)).body;
    const desc = await statement(alice.user.accessToken, alice.account.id, "?order=desc");
    expect(desc.body).toEqual([...asc].reverse());
    const [first, second] = asc;
    if (!first || !second) throw new Error("no entries");
    // The bound is a millisecond and created_at is stored to the microsecond, so the database
    // says which entries fall on either side of it.
    const db = await sql();
    const idsWhere = async (side: "from" | "to") =>
      (
        await db<{ id: string }[]>`
          select id::text from entries where account_id = ${alice.account.id}
            and ${side === "from" ? db`created_at >=` : db`created_at <`} ${second.created_at}::timestamptz
          order by id`
      ).map((row) => Number(row.id));
    const from = encodeURIComponent(second.created_at);
    const within = await statement(alice.user.accessToken, alice.account.id, `?from=${from}`);
    expect(within.body.map((e) => e.id)).toContain(second.id);
    expect(within.body.map((e) => e.id)).toEqual(await idsWhere("from"));
    const before = await statement(alice.user.accessToken, alice.account.id, `?to=${from}`);
    expect(before.body.map((e) => e.id)).toEqual(await idsWhere("to"));
    expect([...before.body, ...within.body].map((e) => e.id).sort()).toEqual(
      asc.map((e) => e.id).sort(),
    );
    const none = await statement(
      alice.user.accessToken,
      alice.account.id,
      "?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z",
    );
    expect(none.body).toEqual([]);
  });

  test("cursor pagination: limit and starting_after, a Link to the next page while more exist", async () => {
    const all = (await statement(alice.user.accessToken, alice.account.id)).body;
    const seen: number[] = [];
    let path: string | undefined = `/accounts/${alice.account.id}/entries?order=desc&limit=3`;
    let pages = 0;
    while (path) {
      const res: Reply<StatementEntryJson[]> = await call<StatementEntryJson[]>("GET", path, {
        token: alice.user.accessToken,
      });
      expect(res.status).toBe(200);
      seen.push(...res.body.map((e) => e.id));
      const link: string | null = res.headers.get("Link");
      path = link ? /^<([^>]+)>; rel="next"$/.exec(link)?.[1] : undefined;
      if (link)
        expect(path).toBe(
          `/accounts/${alice.account.id}/entries?order=desc&limit=3&starting_after=${res.body.at(-1)?.id}`,
        );
      pages++;
    }
    expect(pages).toBe(2);
    expect(seen).toEqual(all.map((e) => e.id).reverse());
    // Ascending, after the first entry; an exact last page has no Link.
    const rest = await statement(
      alice.user.accessToken,
      alice.account.id,
      `?starting_after=${all[0]?.id}&limit=3`,
    );
    expect(rest.body.map((e) => e.id)).toEqual(all.slice(1).map((e) => e.id));
    expect(rest.headers.get("Link")).toBeNull();
    // Page pagination keeps working, and carries no Link.
    const page = await statement(
      alice.user.accessToken,
      alice.account.id,
      "?page_id=2&page_size=3",
    );
    expect(page.body.map((e) => e.id)).toEqual(all.slice(3).map((e) => e.id));
    expect(page.headers.get("Link")).toBeNull();
  });

  test("bad parameters: 400 naming each", async () => {
    const token = alice.user.accessToken;
    const id = alice.account.id;
    for (const [query, field] of [
      ["?limit=0", "limit"],
      ["?limit=101", "limit"],
      ["?limit=x", "limit"],
      ["?starting_after=0", "starting_after"],
      ["?order=newest", "order"],
      ["?from=yesterday", "from"],
      ["?to=2026-13-45T00:00:00Z", "to"],
      ["?from=2026-11-25", "from"],
      ["?page_id=2&limit=5", "limit"],
      ["?page_size=2&starting_after=5", "starting_after"],
      ["?cursor=5", "cursor"],
    ] as const) {
      expectInvalid(await statement(token, id, query), field);
    }
  });
});

describe("balance_after under concurrency", () => {
  test("40 racing transfers among 4 accounts: every balance_after is exact", async () => {
    const url = await targetUrl();
    const people = await Promise.all(
      Array.from({ length: 4 }, async () => {
        const user = await signUp();
        const account = await openAccountFor(user, "EUR");
        await depositTo(account, 1_000);
        return { user, account };
      }),
    );
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) => {
        const from = people[i % 4];
        const to = people[(i + 1 + (i % 3)) % 4];
        if (!from || !to) throw new Error("no people");
        return fetchJson(`${url}/transfers`, {
          method: "POST",
          token: from.user.accessToken,
          body: {
            from_account_id: from.account.id,
            to_account_id: to.account.id,
            amount: 7 + i,
            currency: "EUR",
          },
        });
      }),
    );
    expect(replies.every((r) => r.status === 201)).toBe(true);
    for (const { user, account } of people) {
      const res = await statement(user.accessToken, account.id, "?order=desc&limit=1");
      expect(res.body[0]?.balance_after).toBe(await balanceInDb(account.id));
    }
    expect(await balanceAfterViolations(await sql())).toEqual([]);
  });
});
