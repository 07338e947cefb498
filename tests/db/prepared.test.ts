import { expect, test } from "bun:test";
import { eq, sql } from "drizzle-orm";
import { preparedQuery } from "../../src/core/db/prepared.ts";
import { accounts } from "../../src/core/db/schema.ts";
import { testDatabase } from "../support/database.ts";
import { openAccount } from "../support/fixtures.ts";

/** preparedQuery: built once per pool, and inside a transaction always on the transaction. */

const balanceById = preparedQuery((db) =>
  db
    .select({ balance: accounts.balance })
    .from(accounts)
    .where(eq(accounts.id, sql.placeholder("id")))
    .prepare("test_balance_by_id"),
);

test("one query per pool, built once; a transaction gets its own, which sees its writes", async () => {
  const deps = (await testDatabase()).deps;
  const { account } = await openAccount(deps, "USD");
  expect(balanceById(deps.db)).toBe(balanceById(deps.db));

  const seen: Record<string, unknown> = {};
  const ended = await deps.db
    .transaction(async (tx) => {
      await tx.execute(sql`update accounts set balance = 777 where id = ${account.id}`);
      expect(balanceById(tx)).not.toBe(balanceById(deps.db));
      seen.inside = await balanceById(tx).execute({ id: account.id });
      seen.outside = await balanceById(deps.db).execute({ id: account.id });
      tx.rollback();
    })
    .catch((error: unknown) => error);
  expect(ended).toBeInstanceOf(Error);
  expect(seen).toEqual({ inside: [{ balance: 777 }], outside: [{ balance: 0 }] });
  expect(await balanceById(deps.db).execute({ id: account.id })).toEqual([{ balance: 0 }]);
});
