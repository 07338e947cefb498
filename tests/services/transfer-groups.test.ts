import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { inArray, sql } from "drizzle-orm";
import { openDatabase } from "../../src/core/db/client.ts";
import { postgresError } from "../../src/core/db/errors.ts";
import { transfers } from "../../src/core/db/schema.ts";
import { DomainError } from "../../src/core/domain/errors.ts";
import type { TransferInput } from "../../src/core/domain/transfers.ts";
import type { Actor } from "../../src/core/domain/types.ts";
import { createTransferGroups, deposit, transfer } from "../../src/core/services/transfers.ts";
import {
  type TestContext,
  type TestDatabase,
  testContext,
  testDatabase,
} from "../support/database.ts";
import {
  balanceOf,
  createUser,
  fundedPair,
  type Holder,
  openAccount,
} from "../support/fixtures.ts";
import { balanceAfterViolations } from "../support/resilience.ts";

let database: TestDatabase;
let deps: TestContext;
beforeAll(async () => {
  database = await testDatabase();
  deps = database.deps;
});

/** What a transfer answered: its error code, or its payer's balance after it (and if replayed). */
async function answer(promise: Promise<Awaited<ReturnType<typeof transfer>>>) {
  try {
    const { result, replayed } = await promise;
    return { from_balance: result.fromAccount.balance, replayed, id: result.transfer.id };
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
}

/** The transaction (xmin) that wrote each transfer. */
async function writers(context: TestContext, ids: number[]): Promise<Map<number, string>> {
  const rows = await context.db
    .select({ id: transfers.id, xmin: sql<string>`xmin::text` })
    .from(transfers)
    .where(inArray(transfers.id, ids));
  return new Map(rows.map((row) => [row.id, row.xmin]));
}

/**
 * Submits `first`, then `rest` in the same tick: `first` finds its lane idle and is a group of
 * one; `rest` arrive while it is in its transaction, so they are settled together, next.
 */
function submitGroup(
  context: TestContext,
  first: [Actor, TransferInput],
  rest: [Actor, TransferInput][],
) {
  const grouped = { ...context, transferGroups: createTransferGroups(64) };
  const send = ([actor, input]: [Actor, TransferInput]) => transfer({ ...grouped, actor }, input);
  return { first: send(first), rest: rest.map(send) };
}

/** Four new owners' USD accounts, 1,000 each (deposits by a banker of `context`'s database). */
async function fourFunded(context: TestContext): Promise<[Holder, Holder, Holder, Holder]> {
  const banker = await createUser(context, "banker");
  const holder = async () => {
    const opened = await openAccount(context, "USD");
    await deposit(
      { ...context, actor: banker },
      { accountId: opened.account.id, amount: 1_000, currency: "USD" },
    );
    return opened;
  };
  return [await holder(), await holder(), await holder(), await holder()];
}

/** A transfer of `amount` USD from `from`'s account to `to`'s, asked by `from`'s owner. */
function pay(from: Holder, to: Holder, amount: number): [Actor, TransferInput] {
  return [
    from.owner,
    { fromAccountId: from.account.id, toAccountId: to.account.id, amount, currency: "USD" },
  ];
}

describe("transfers settled in groups", () => {
  test("failing and succeeding transfers in one group: each gets its own answer, in order", async () => {
    const x = await openAccount(deps, "USD");
    const y = await openAccount(deps, "USD");
    const w = await openAccount(deps, "EUR", x.owner);
    const { from: p, to: q } = await fundedPair(deps, { from: 100 });
    const stranger = await createUser(deps);
    const banker = await createUser(deps, "banker");
    await deposit(
      { ...deps, actor: banker },
      { accountId: x.account.id, amount: 150, currency: "USD" },
    );
    const usd = (from: number, to: number, amount: number, extra: Partial<TransferInput> = {}) => ({
      fromAccountId: from,
      toAccountId: to,
      amount,
      currency: "USD" as const,
      ...extra,
    });
    // Two keys used before the group: one replayed in it, one reused with another body.
    const k2 = `k2-${crypto.randomUUID()}`;
    const k3 = `k3-${crypto.randomUUID()}`;
    const original = await transfer(
      { ...deps, actor: p.owner },
      usd(p.account.id, q.account.id, 5, { idempotencyKey: k2 }),
    );
    await transfer(
      { ...deps, actor: p.owner },
      usd(p.account.id, q.account.id, 7, { idempotencyKey: k3 }),
    );
    const k1 = `k1-${crypto.randomUUID()}`;
    const { from: z1, to: z2 } = await fundedPair(deps, { from: 10 });

    const X = x.account.id;
    const Y = y.account.id;
    const ox = x.owner;
    const { first, rest } = submitGroup(
      deps,
      [z1.owner, usd(z1.account.id, z2.account.id, 1)],
      [
        [ox, usd(X, Y, 100)],
        [ox, usd(X, Y, 100)],
        [y.owner, usd(Y, X, 30)],
        [ox, usd(X, w.account.id, 10)],
        [ox, usd(X, 2 ** 40, 10)],
        [stranger, usd(X, Y, 10)],
        [ox, usd(X, X, 10)],
        [ox, { fromAccountId: X, toUsername: stranger.username, amount: 10, currency: "USD" }],
        [ox, usd(X, Y, 10, { idempotencyKey: k1 })],
        [ox, usd(X, Y, 10, { idempotencyKey: k1 })],
        [ox, usd(X, Y, 11, { idempotencyKey: k1 })],
        [p.owner, usd(p.account.id, q.account.id, 5, { idempotencyKey: k2 })],
        [p.owner, usd(p.account.id, q.account.id, 8, { idempotencyKey: k3 })],
        [ox, { fromAccountId: X, toUsername: y.owner.username, amount: 20, currency: "USD" }],
        [ox, usd(X, Y, 51)],
        [ox, usd(X, Y, 50)],
      ],
    );
    const alone = await answer(first);
    const answers = await Promise.all(rest.map(answer));
    const ok = (from_balance: number) => ({
      from_balance,
      replayed: false,
      id: expect.any(Number),
    });
    expect(answers).toEqual([
      ok(50),
      "insufficient_funds",
      ok(70), // the payee of the first pays back: 100 − 30
      "currency_mismatch",
      "not_found",
      "forbidden",
      "same_account",
      "recipient_not_found",
      ok(70),
      "idempotency_in_progress",
      "idempotency_in_progress",
      { from_balance: 95, replayed: true, id: original.result.transfer.id },
      "idempotency_key_reused",
      ok(50),
      "insufficient_funds",
      ok(0),
    ]);
    expect(await balanceOf(deps, X)).toBe(0);
    expect(await balanceOf(deps, Y)).toBe(150);

    // One transaction wrote the group's five transfers; another the one before it.
    const written = answers.flatMap((a) => (typeof a === "object" && !a.replayed ? [a.id] : []));
    if (typeof alone === "string") throw new Error(`the first transfer failed: ${alone}`);
    const xmins = await writers(deps, [...written, alone.id]);
    expect(new Set(written.map((id) => xmins.get(id))).size).toBe(1);
    expect(xmins.get(alone.id)).not.toBe(xmins.get(written[0] ?? 0));
    expect(await balanceAfterViolations(database.handle.sql)).toEqual([]);

    // The key claimed in the group was stored with its result: a retry replays it.
    const retried = await transfer({ ...deps, actor: ox }, usd(X, Y, 10, { idempotencyKey: k1 }));
    expect(retried.replayed).toBe(true);
    expect(retried.result.transfer.id).toBe(written[2] ?? 0);
  });

  test("an account locked by another transaction holds back only its own transfer", async () => {
    const [a, b, c, held] = await fourFunded(deps);
    const other = openDatabase({ url: database.url, poolMax: 1 });
    const connection = await other.sql.reserve();
    try {
      await connection`begin`;
      await connection`select id from accounts where id = ${held.account.id} for update`;
      const { first, rest } = submitGroup(deps, pay(a, b, 1), [
        pay(held, c, 10),
        pay(b, c, 20),
        pay(c, a, 30),
      ]);
      const [blocked, ...free] = rest;
      let blockedSettled = false;
      blocked?.finally(() => {
        blockedSettled = true;
      });
      // Neither the group of one before nor the free transfers wait for the held account.
      await first;
      expect(await Promise.all(free.map(answer))).toMatchObject([
        { from_balance: 1_000 + 1 - 20 },
        { from_balance: 1_000 + 20 - 30 },
      ]);
      expect(blockedSettled).toBe(false);
      await connection`rollback`;
      expect(await answer(blocked as Promise<Awaited<ReturnType<typeof transfer>>>)).toMatchObject({
        from_balance: 990,
      });
    } finally {
      connection.release();
      await other.close();
    }
    expect(await balanceOf(deps, c.account.id)).toBe(1_000 + 10 + 20 - 30);
  });

  test("with grouping off (TRANSFER_GROUP_MAX=1), concurrent transfers commit one by one", async () => {
    const { from, to } = await fundedPair(deps, { from: 100 });
    const alone = { ...deps, transferGroups: undefined, actor: from.owner };
    const input = { fromAccountId: from.account.id, toAccountId: to.account.id };
    const results = await Promise.all(
      [10, 20].map((amount) => transfer(alone, { ...input, currency: "USD", amount })),
    );
    const ids = results.map(({ result }) => result.transfer.id);
    expect(new Set((await writers(deps, ids)).values()).size).toBe(2);
    expect(await balanceOf(deps, from.account.id)).toBe(70);
  });

  describe("a statement that fails in a group", () => {
    let poisoned: TestContext;
    let close: () => Promise<void>;
    beforeAll(async () => {
      const handle = openDatabase({ url: await database.migratedScratchDatabase(), poolMax: 4 });
      close = () => handle.close();
      // A rule the service does not know: the database refuses one amount.
      await handle.sql.unsafe(`
        create function refuse_777() returns trigger language plpgsql as $$
        begin
          if new.amount = 777 then raise exception 'amount 777 refused'; end if;
          return new;
        end $$;
        create trigger refuse_777 before insert on transfers
          for each row execute function refuse_777();`);
      poisoned = testContext(database.config, handle.db);
    });
    afterAll(() => close());

    test("fails only its own transfer: the group is settled again, one transfer at a time", async () => {
      const [a, b, c, d] = await fourFunded(poisoned);
      const { first, rest } = submitGroup(poisoned, pay(d, c, 1), [
        pay(a, b, 100),
        pay(b, c, 777),
        pay(c, a, 50),
      ]);
      await first;
      const outcomes = await Promise.allSettled(rest);
      expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      const refused = outcomes[1];
      expect(refused?.status === "rejected" && postgresError(refused.reason)?.message).toBe(
        "amount 777 refused",
      );
      expect(await balanceOf(poisoned, a.account.id)).toBe(950);
      expect(await balanceOf(poisoned, b.account.id)).toBe(1_100);
      expect(await balanceOf(poisoned, c.account.id)).toBe(1_000 + 1 - 50);
    });
  });
});
