import { beforeAll, describe, expect, test } from "bun:test";
import { openDatabase } from "../../src/core/db/client.ts";
import { isUnavailableError } from "../../src/core/db/errors.ts";
import { DomainError } from "../../src/core/domain/errors.ts";
import type { Account, Actor } from "../../src/core/domain/types.ts";
import {
  createAccount,
  getAccount,
  listAccounts,
  statement,
} from "../../src/core/services/accounts.ts";
import { transfer } from "../../src/core/services/transfers.ts";
import type { TestContext } from "../support/database.ts";
import { testDatabase } from "../support/database.ts";
import {
  balanceOf,
  createUser,
  errorCode,
  fund,
  fundedPair,
  openAccount,
  uniqueName,
} from "../support/fixtures.ts";
import { freePort } from "../support/process.ts";

let deps: TestContext;
beforeAll(async () => {
  deps = (await testDatabase()).deps;
});

const MISSING_ID = 9_000_000_000;

describe("createAccount (the original's TestCreateAccount)", () => {
  test("opens an account for the caller with balance 0", async () => {
    const owner = await createUser(deps);
    const before = Date.now();
    const account = await createAccount({ ...deps, actor: owner }, { currency: "USD" });
    expect(account.owner).toBe(owner.username);
    expect(account.currency).toBe("USD");
    expect(account.kind).toBe("customer");
    expect(account.balance).toBe(0);
    expect(account.id).toBeGreaterThan(0);
    expect(account.createdAt).toBeInstanceOf(Date);
    expect(Math.abs(account.createdAt.getTime() - before)).toBeLessThan(5_000);
    expect(await balanceOf(deps, account.id)).toBe(0);
  });

  test("a second account in the same currency → account_exists; another currency is fine", async () => {
    const owner = await createUser(deps);
    const usd = await createAccount({ ...deps, actor: owner }, { currency: "USD" });
    expect(await errorCode(createAccount({ ...deps, actor: owner }, { currency: "USD" }))).toBe(
      "account_exists",
    );
    const eur = await createAccount({ ...deps, actor: owner }, { currency: "EUR" });
    const cad = await createAccount({ ...deps, actor: owner }, { currency: "CAD" });
    expect(new Set([usd.id, eur.id, cad.id]).size).toBe(3);
    // The conflict is a 409 (kind "conflict").
    try {
      await createAccount({ ...deps, actor: owner }, { currency: "EUR" });
      throw new Error("expected a conflict");
    } catch (error) {
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).kind).toBe("conflict");
    }
    // Another owner may have the same currency.
    const other = await createUser(deps);
    expect((await createAccount({ ...deps, actor: other }, { currency: "USD" })).currency).toBe(
      "USD",
    );
  });

  test("an unsupported currency → validation_failed", async () => {
    const owner = await createUser(deps);
    for (const currency of ["GBP", "usd", ""]) {
      expect(
        await errorCode(createAccount({ ...deps, actor: owner }, { currency: currency as never })),
      ).toBe("validation_failed");
    }
    expect(await listAccounts({ ...deps, actor: owner })).toEqual([]);
  });

  test("a caller who is not a user → not_found", async () => {
    const ghost: Actor = { username: uniqueName("ghost"), role: "depositor" };
    expect(await errorCode(createAccount({ ...deps, actor: ghost }, { currency: "USD" }))).toBe(
      "not_found",
    );
  });

  test("the database unreachable: the driver's error comes through (a 503), never a conflict", async () => {
    const owner = await createUser(deps);
    // A port nothing listens on: every connection is refused.
    const down = openDatabase({
      url: `postgres://postgres@127.0.0.1:${await freePort()}/postgres`,
      poolMax: 1,
    });
    try {
      const error = await createAccount({ ...deps, db: down.db, actor: owner }, { currency: "USD" })
        .then(() => undefined)
        .catch((caught: unknown) => caught);
      expect(error).toBeDefined();
      expect(error).not.toBeInstanceOf(DomainError);
      expect(isUnavailableError(error)).toBe(true);
    } finally {
      await down.close({ timeoutSeconds: 0 });
    }
  });
});

describe("getAccount (the original's TestGetAccount)", () => {
  let owner: Actor;
  let account: Account;

  beforeAll(async () => {
    ({ owner, account } = await openAccount(deps, "EUR"));
  });

  test("returns the account as created", async () => {
    const got = await getAccount({ ...deps, actor: owner }, account.id);
    expect(got).toEqual(account);
    expect(got.createdAt.getTime()).toBe(account.createdAt.getTime());
  });

  test("an invalid id → validation_failed", async () => {
    for (const id of [0, -1, 1.5, Number.NaN]) {
      expect(await errorCode(getAccount({ ...deps, actor: owner }, id))).toBe("validation_failed");
    }
  });

  test("a missing id → not_found", async () => {
    expect(await errorCode(getAccount({ ...deps, actor: owner }, MISSING_ID))).toBe("not_found");
  });

  test("another depositor's account → forbidden; a banker may read it", async () => {
    const stranger = await createUser(deps);
    expect(await errorCode(getAccount({ ...deps, actor: stranger }, account.id))).toBe("forbidden");
    const banker = await createUser(deps, "banker");
    expect(await getAccount({ ...deps, actor: banker }, account.id)).toEqual(account);
  });
});

describe("listAccounts (the original's TestListAccounts)", () => {
  let owner: Actor;
  let owned: Account[];

  beforeAll(async () => {
    owner = await createUser(deps);
    owned = [];
    for (const currency of ["CAD", "USD", "EUR"] as const) {
      owned.push((await openAccount(deps, currency, owner)).account);
    }
    // Someone else's accounts, which must never show up in the owner's list.
    await openAccount(deps, "USD");
    await openAccount(deps, "CAD");
  });

  test("returns only the caller's accounts, in id order", async () => {
    const listed = await listAccounts({ ...deps, actor: owner });
    expect(listed).toEqual([...owned].sort((a, b) => a.id - b.id));
    expect(listed.every((a) => a.owner === owner.username)).toBe(true);
    // Naming oneself as the owner is the same.
    expect(await listAccounts({ ...deps, actor: owner }, { owner: owner.username })).toEqual(
      listed,
    );
  });

  test("a user with no accounts gets []", async () => {
    expect(await listAccounts({ ...deps, actor: await createUser(deps) })).toEqual([]);
  });

  test("pages window the list", async () => {
    const ids = owned.map((a) => a.id).sort((a, b) => a - b);
    const page = async (pageId: number, pageSize: number) =>
      (await listAccounts({ ...deps, actor: owner }, { page: { pageId, pageSize } })).map(
        (a) => a.id,
      );
    expect(await page(1, 2)).toEqual(ids.slice(0, 2));
    expect(await page(2, 2)).toEqual(ids.slice(2));
    expect(await page(3, 2)).toEqual([]);
    expect(await page(1, 100)).toEqual(ids);
    expect(await page(2, 1)).toEqual([ids[1] ?? -1]);
  });

  test("a bad page → validation_failed", async () => {
    for (const page of [
      { pageId: 0, pageSize: 5 },
      { pageId: 1, pageSize: 0 },
      { pageId: 1, pageSize: 101 },
      { pageId: -1, pageSize: 5 },
      { pageId: 1.5, pageSize: 5 },
    ]) {
      expect(await errorCode(listAccounts({ ...deps, actor: owner }, { page }))).toBe(
        "validation_failed",
      );
    }
  });

  test("another owner's accounts: forbidden to a depositor, listed for a banker", async () => {
    const stranger = await createUser(deps);
    expect(
      await errorCode(listAccounts({ ...deps, actor: stranger }, { owner: owner.username })),
    ).toBe("forbidden");
    const banker = await createUser(deps, "banker");
    const listed = await listAccounts({ ...deps, actor: banker }, { owner: owner.username });
    expect(listed.map((a) => a.id)).toEqual(owned.map((a) => a.id).sort((a, b) => a - b));
    expect(listed.every((a) => a.owner === owner.username)).toBe(true);
    // A banker's own list is still just the banker's.
    expect(await listAccounts({ ...deps, actor: banker })).toEqual([]);
  });
});

/** The statement's entries, asked for as the original's ListEntries was (page pagination). */
async function listEntries(
  ctx: Parameters<typeof statement>[0],
  input: { accountId: number; page?: { pageId: number; pageSize: number } },
) {
  const { items } = await statement(ctx, { accountId: input.accountId, ...input.page });
  return items;
}

describe("listEntries (the original's TestListEntries)", () => {
  test("shows the deposit and the transfer in id order, summing to the balance", async () => {
    const { from: a, to: b } = await fundedPair(deps, { currency: "USD", from: 100 });
    const { result } = await transfer(
      { ...deps, actor: a.owner },
      {
        fromAccountId: a.account.id,
        toAccountId: b.account.id,
        amount: 30,
        currency: "USD",
      },
    );

    const listed = await listEntries({ ...deps, actor: a.owner }, { accountId: a.account.id });
    expect(listed.map((e) => e.amount)).toEqual([100, -30]);
    expect(listed.every((e) => e.accountId === a.account.id)).toBe(true);
    expect(listed[1]?.transferId).toBe(result.transfer.id);
    expect(listed[1]?.id).toBe(result.fromEntry.id);
    expect((listed[0]?.id ?? 0) < (listed[1]?.id ?? 0)).toBe(true);
    expect(listed.every((e) => e.createdAt instanceof Date)).toBe(true);
    const sum = listed.reduce((total, e) => total + e.amount, 0);
    expect(sum).toBe(70);
    expect(sum).toBe(await balanceOf(deps, a.account.id));

    const recipient = await listEntries({ ...deps, actor: b.owner }, { accountId: b.account.id });
    expect(recipient.map((e) => e.amount)).toEqual([30]);
    expect(recipient[0]?.id).toBe(result.toEntry.id);
  });

  test("a new account has no entries", async () => {
    const { owner, account } = await openAccount(deps, "CAD");
    expect(await listEntries({ ...deps, actor: owner }, { accountId: account.id })).toEqual([]);
  });

  test("pages window the statement (10 entries, page 2 of 5)", async () => {
    const { from: a, to: b } = await fundedPair(deps, { currency: "EUR", from: 100 });
    for (let i = 1; i <= 9; i++) {
      await transfer(
        { ...deps, actor: a.owner },
        {
          fromAccountId: a.account.id,
          toAccountId: b.account.id,
          amount: i,
          currency: "EUR",
        },
      );
    }
    const all = await listEntries(
      { ...deps, actor: a.owner },
      {
        accountId: a.account.id,
        page: { pageId: 1, pageSize: 100 },
      },
    );
    expect(all.map((e) => e.amount)).toEqual([100, -1, -2, -3, -4, -5, -6, -7, -8, -9]);
    expect(all.reduce((total, e) => total + e.amount, 0)).toBe(await balanceOf(deps, a.account.id));

    const second = await listEntries(
      { ...deps, actor: a.owner },
      {
        accountId: a.account.id,
        page: { pageId: 2, pageSize: 5 },
      },
    );
    expect(second).toHaveLength(5);
    expect(second).toEqual(all.slice(5));
    expect(second.every((e) => e.accountId === a.account.id)).toBe(true);
    // The default page is the first 10.
    expect(await listEntries({ ...deps, actor: a.owner }, { accountId: a.account.id })).toEqual(
      all,
    );
    expect(
      await listEntries(
        { ...deps, actor: a.owner },
        {
          accountId: a.account.id,
          page: { pageId: 3, pageSize: 5 },
        },
      ),
    ).toEqual([]);
  });

  test("visibility follows the account: forbidden to another depositor, open to a banker", async () => {
    const { owner, account } = await openAccount(deps, "USD");
    await fund(deps, account, 10);
    const stranger = await createUser(deps);
    expect(
      await errorCode(listEntries({ ...deps, actor: stranger }, { accountId: account.id })),
    ).toBe("forbidden");
    const banker = await createUser(deps, "banker");
    expect(await listEntries({ ...deps, actor: banker }, { accountId: account.id })).toEqual(
      await listEntries({ ...deps, actor: owner }, { accountId: account.id }),
    );
  });

  test("bad input: a missing account → not_found, a bad id or page → validation_failed", async () => {
    const { owner, account } = await openAccount(deps, "USD");
    expect(await errorCode(listEntries({ ...deps, actor: owner }, { accountId: MISSING_ID }))).toBe(
      "not_found",
    );
    expect(await errorCode(listEntries({ ...deps, actor: owner }, { accountId: 0 }))).toBe(
      "validation_failed",
    );
    expect(
      await errorCode(
        listEntries(
          { ...deps, actor: owner },
          { accountId: account.id, page: { pageId: 0, pageSize: 5 } },
        ),
      ),
    ).toBe("validation_failed");
  });
});
