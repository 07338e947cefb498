import { expect } from "bun:test";
import type { Currency } from "../../src/core/domain/money.ts";
import { type AccountJson, call, expectProblem, type Reply, testApp, testBanker } from "./app.ts";
import { testDatabase } from "./database.ts";

/**
 * Helpers shared by the HTTP tests of accounts, cash and transfers: SQL read-backs of the
 * ledger (the tests' own rows only), validation assertions and a live server for tests that
 * need real sockets.
 */

/** The largest id the API accepts; bigserial never reaches it in a test run, so it is "unknown". */
export const UNKNOWN_ID = Number.MAX_SAFE_INTEGER;

export const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

export async function sql() {
  return (await testDatabase()).handle.sql;
}

/** The treasury account id of each currency, read straight from the database. */
export async function treasuryIds(): Promise<Record<Currency, number>> {
  const rows = await (await sql())<{ id: string; currency: Currency }[]>`
    select id::text, currency from accounts where kind = 'treasury'`;
  const ids = Object.fromEntries(rows.map((r) => [r.currency, Number(r.id)]));
  if (!ids.USD || !ids.EUR || !ids.CAD) throw new Error("treasury accounts missing");
  return ids as Record<Currency, number>;
}

export async function balanceInDb(accountId: number): Promise<number> {
  const [row] = await (await sql())<{ balance: string }[]>`
    select balance::text from accounts where id = ${accountId}`;
  if (!row) throw new Error(`account ${accountId} not found`);
  return Number(row.balance);
}

/** How many transfers and entries involve any of these accounts. */
export async function ledgerRowsTouching(
  ...accountIds: number[]
): Promise<{ transfers: number; entries: number }> {
  const db = await sql();
  const [t] = await db<{ n: number }[]>`
    select count(*)::int as n from transfers
    where from_account_id in ${db(accountIds)} or to_account_id in ${db(accountIds)}`;
  const [e] = await db<{ n: number }[]>`
    select count(*)::int as n from entries where account_id in ${db(accountIds)}`;
  return { transfers: t?.n ?? -1, entries: e?.n ?? -1 };
}

/** Field names of a validation problem, sorted. */
function fieldsOf(reply: Reply): string[] {
  const errors = (reply.body as { errors?: { field: string }[] }).errors ?? [];
  return errors.map((e) => e.field).sort();
}

/** 400 `validation_failed` naming exactly these fields. */
export function expectInvalid(reply: Reply, ...fields: string[]): void {
  expectProblem(reply, 400, "validation_failed");
  expect(fieldsOf(reply)).toEqual([...fields].sort());
}

export function expectAccountJson(value: unknown): AccountJson {
  expect(Object.keys(value as object).sort()).toEqual([
    "balance",
    "created_at",
    "currency",
    "id",
    "owner",
  ]);
  const account = value as AccountJson;
  expect(account.created_at).toMatch(TIMESTAMP);
  return account;
}

export interface EntryJson {
  id: number;
  account_id: number;
  amount: number;
  transfer_id: number;
  created_at: string;
}

export interface TransferJson {
  id: number;
  from_account_id: number;
  to_account_id: number;
  amount: number;
  memo: string | null;
  created_at: string;
}

export interface TransferResultJson {
  transfer: TransferJson;
  from_account: AccountJson;
  to_account: Omit<AccountJson, "balance"> & { balance?: number };
  from_entry: EntryJson;
  to_entry: EntryJson;
}

/**
 * Checks a transfer result: its five parts, their exact keys, and that they agree with each
 * other (ids, signed amounts, transfer id). `toBalanceShown` says whether `to_account` carries
 * its balance.
 */
export function expectTransferResult(
  body: unknown,
  expected: { from: number; to: number; amount: number; toBalanceShown: boolean },
): TransferResultJson {
  const result = body as TransferResultJson;
  expect(Object.keys(result).sort()).toEqual([
    "from_account",
    "from_entry",
    "to_account",
    "to_entry",
    "transfer",
  ]);
  expect(Object.keys(result.transfer).sort()).toEqual([
    "amount",
    "created_at",
    "from_account_id",
    "id",
    "memo",
    "to_account_id",
  ]);
  expect(result.transfer).toMatchObject({
    from_account_id: expected.from,
    to_account_id: expected.to,
    amount: expected.amount,
  });
  expect(result.transfer.id).toBeGreaterThan(0);
  expect(result.transfer.created_at).toMatch(TIMESTAMP);

  expectAccountJson(result.from_account);
  expect(result.from_account.id).toBe(expected.from);
  const toKeys = ["created_at", "currency", "id", "owner"];
  expect(Object.keys(result.to_account).sort()).toEqual(
    expected.toBalanceShown ? ["balance", ...toKeys] : toKeys,
  );
  expect(result.to_account.id).toBe(expected.to);
  expect(result.to_account.created_at).toMatch(TIMESTAMP);
  expect(result.to_account.currency).toBe(result.from_account.currency);

  for (const [entry, accountId, amount] of [
    [result.from_entry, expected.from, -expected.amount],
    [result.to_entry, expected.to, expected.amount],
  ] as const) {
    expect(Object.keys(entry).sort()).toEqual([
      "account_id",
      "amount",
      "created_at",
      "id",
      "transfer_id",
    ]);
    expect(entry).toMatchObject({ account_id: accountId, amount, transfer_id: result.transfer.id });
    expect(entry.id).toBeGreaterThan(0);
    expect(entry.created_at).toMatch(TIMESTAMP);
  }
  expect(result.from_entry.id).not.toBe(result.to_entry.id);
  return result;
}

/** The account as its owner (or a banker) sees it now, over HTTP. */
export async function accountAsSeenBy(token: string, accountId: number): Promise<AccountJson> {
  const res = await call<AccountJson>("GET", `/accounts/${accountId}`, { token });
  if (res.status !== 200) throw new Error(`GET account failed: ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function bankerToken(): Promise<string> {
  return (await testBanker()).accessToken;
}

/** The shared test app on a real socket, for tests that need concurrency over HTTP. */
export async function liveServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const app = await testApp();
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
  return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) };
}

/**
 * One request over a socket of its own (no pooled keep-alive connection: a burst could
 * otherwise reuse one the server is closing at that moment, and fail with ECONNRESET before
 * the request was sent); the reply parsed as JSON.
 */
export async function fetchJson(
  url: string,
  init: { method: string; token: string; body: unknown; headers?: Record<string, string> },
): Promise<Reply> {
  const res = await fetch(url, {
    keepalive: false,
    method: init.method,
    headers: {
      Authorization: `Bearer ${init.token}`,
      "Content-Type": "application/json",
      ...init.headers,
    },
    body: JSON.stringify(init.body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : text };
}
