import { beforeAll, describe, expect, test } from "bun:test";
import { and, eq } from "drizzle-orm";
import { idempotencyKeys, transfers } from "../../src/core/db/schema.ts";
import { DomainError } from "../../src/core/domain/errors.ts";
import {
  IDEMPOTENCY_KEY_TTL_MS,
  pruneIdempotencyKeys,
} from "../../src/core/services/idempotency.ts";
import { transfer } from "../../src/core/services/transfers.ts";
import type { TestContext } from "../support/database.ts";
import { testDatabase } from "../support/database.ts";
import { balanceOf, fund, fundedPair, uniqueName } from "../support/fixtures.ts";

let deps: TestContext;
beforeAll(async () => {
  deps = (await testDatabase()).deps;
});

async function pair(funds = 1_000) {
  const { from: a, to: b } = await fundedPair(deps, { currency: "USD", from: funds });
  const send = (amount: number, idempotencyKey?: string) =>
    transfer(
      { ...deps, actor: a.owner },
      {
        fromAccountId: a.account.id,
        toAccountId: b.account.id,
        amount,
        currency: "USD",
        idempotencyKey,
      },
    );
  return { a, b, send };
}

async function transfersFrom(accountId: number) {
  return deps.db.select().from(transfers).where(eq(transfers.fromAccountId, accountId));
}

describe("Idempotency-Key on transfers", () => {
  test("same key and body: the original result is replayed, no second transfer", async () => {
    const { a, send } = await pair();
    const key = uniqueName("key");
    const first = await send(25, key);
    const second = await send(25, key);
    expect(first.replayed).toBe(false);
    expect(second.replayed).toBe(true);
    expect(second.result).toEqual(first.result);
    expect(second.result.transfer.createdAt).toBeInstanceOf(Date);
    expect(await transfersFrom(a.account.id)).toHaveLength(1);
    expect(await balanceOf(deps, a.account.id)).toBe(975);
  });

  test("same key, different body: idempotency_key_reused, nothing moves", async () => {
    const { a, send } = await pair();
    const key = uniqueName("key");
    await send(25, key);
    await expect(send(26, key)).rejects.toMatchObject({ code: "idempotency_key_reused" });
    expect(await balanceOf(deps, a.account.id)).toBe(975);
  });

  test("keys are per user: another user's identical key is independent", async () => {
    const first = await pair();
    const second = await pair();
    const key = uniqueName("key");
    expect((await first.send(10, key)).replayed).toBe(false);
    expect((await second.send(10, key)).replayed).toBe(false);
  });

  test("the same key fired 20 times concurrently yields exactly one transfer", async () => {
    const { a, send } = await pair();
    const key = uniqueName("key");
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => send(40, key)));
    const codes = outcomes.map((o) =>
      o.status === "fulfilled"
        ? o.value.replayed
          ? "replayed"
          : "executed"
        : o.reason instanceof DomainError
          ? o.reason.code
          : String(o.reason),
    );
    expect(codes.filter((c) => c === "executed")).toHaveLength(1);
    for (const code of codes) {
      expect(["executed", "replayed", "idempotency_in_progress"]).toContain(code);
    }
    expect(await transfersFrom(a.account.id)).toHaveLength(1);
    expect(await balanceOf(deps, a.account.id)).toBe(960);
    // After the first committed, a retry replays it.
    expect((await send(40, key)).replayed).toBe(true);
  });

  test("a failed request stores nothing: the same key runs afresh once funds arrive", async () => {
    const { a, send } = await pair(10);
    const key = uniqueName("key");
    await expect(send(50, key)).rejects.toMatchObject({ code: "insufficient_funds" });
    await fund(deps, a.account, 100);
    const retried = await send(50, key);
    expect(retried.replayed).toBe(false);
    expect(await balanceOf(deps, a.account.id)).toBe(60);
  });

  test("malformed keys are rejected before anything runs", async () => {
    const { a, send } = await pair();
    for (const key of ["", "x".repeat(256), "tab\tkey", "ключ", "new\nline"]) {
      await expect(send(5, key)).rejects.toMatchObject({ code: "validation_failed" });
    }
    expect(await transfersFrom(a.account.id)).toHaveLength(0);
  });

  test("keys older than 24 h are pruned; younger ones are kept", async () => {
    const { a, send } = await pair();
    const oldKey = uniqueName("old");
    const newKey = uniqueName("new");
    await send(1, oldKey);
    await send(1, newKey);
    const now = Date.now();
    await deps.db
      .update(idempotencyKeys)
      .set({ createdAt: new Date(now - IDEMPOTENCY_KEY_TTL_MS - 60_000) })
      .where(and(eq(idempotencyKeys.owner, a.owner.username), eq(idempotencyKeys.key, oldKey)));
    expect(await pruneIdempotencyKeys({ db: deps.db, clock: { now: () => new Date(now) } })).toBe(
      1,
    );
    const left = await deps.db
      .select({ key: idempotencyKeys.key })
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.owner, a.owner.username));
    expect(left.map((k) => k.key)).toEqual([newKey]);
  });
});
