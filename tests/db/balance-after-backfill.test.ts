import { afterAll, expect, test } from "bun:test";
import postgres from "postgres";
import journal from "../../drizzle/meta/_journal.json";
import { embeddedMigrations } from "../../src/bun/migrations.ts";
import { testDatabase } from "../support/database.ts";
import { balanceAfterViolations } from "../support/resilience.ts";

/**
 * Migration 0005_entry_balance_after backfills `entries.balance_after` exactly: on a database
 * migrated up to the one before it, a ledger written the old way (entries without a running
 * balance, interleaved across accounts) gets each entry's balance right after it, so every
 * account's latest balance_after equals its balance.
 */

let sql: postgres.Sql | undefined;
afterAll(async () => {
  await sql?.end();
});

test("0005 backfills balance_after as each account's running sum in id order", async () => {
  sql = postgres(await (await testDatabase()).scratchDatabase(), { max: 1, onnotice: () => {} });
  const migrations = embeddedMigrations();
  const at = journal.entries.findIndex((e) => e.tag === "0005_entry_balance_after");
  expect(at).toBeGreaterThan(0);
  const apply = async (index: number) => {
    for (const statement of migrations[index]?.sql ?? []) {
      if (statement.trim()) await sql?.unsafe(statement);
    }
  };
  for (let i = 0; i < at; i++) await apply(i);

  await sql`insert into users (username, hashed_password, full_name, email)
    values ('old_a', 'x', 'Old A', 'old_a@example.com'), ('old_b', 'x', 'Old B', 'old_b@example.com')`;
  const [a, b] = await sql<{ id: string }[]>`
    insert into accounts (owner, currency) values ('old_a', 'USD'), ('old_b', 'USD') returning id::text`;
  const [treasury] = await sql<{ id: string }[]>`
    select id::text from accounts where kind = 'treasury' and currency = 'USD'`;
  if (!a || !b || !treasury) throw new Error("set-up failed");
  const moves: [string, string, number][] = [
    [treasury.id, a.id, 1_000],
    [a.id, b.id, 300],
    [treasury.id, b.id, 50],
    [b.id, a.id, 120],
    [a.id, treasury.id, 20],
  ];
  for (const [from, to, amount] of moves) {
    const [t] = await sql<{ id: string }[]>`
      insert into transfers (from_account_id, to_account_id, amount)
      values (${from}, ${to}, ${amount}) returning id::text`;
    await sql`insert into entries (account_id, amount, transfer_id)
      values (${from}, ${-amount}, ${t?.id ?? ""}), (${to}, ${amount}, ${t?.id ?? ""})`;
    await sql`update accounts set balance = balance - ${amount} where id = ${from}`;
    await sql`update accounts set balance = balance + ${amount} where id = ${to}`;
  }

  await apply(at);
  const rows = await sql<{ account_id: string; balance_after: string }[]>`
    select account_id::text, balance_after::text from entries
    where account_id in (${a.id}, ${b.id}) order by id`;
  expect(rows.filter((r) => r.account_id === a.id).map((r) => Number(r.balance_after))).toEqual([
    1_000, 700, 820, 800,
  ]);
  expect(rows.filter((r) => r.account_id === b.id).map((r) => Number(r.balance_after))).toEqual([
    300, 350, 230,
  ]);
  expect(await balanceAfterViolations(sql)).toEqual([]);
  const [column] = await sql<{ is_nullable: string }[]>`
    select is_nullable from information_schema.columns
    where table_name = 'entries' and column_name = 'balance_after'`;
  expect(column?.is_nullable).toBe("NO");
});
