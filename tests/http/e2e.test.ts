import { beforeAll, describe, expect, test } from "bun:test";
import { grantRole } from "../../src/core/services/users.ts";
import { targetUrl } from "../support/app.ts";
import { testDatabase } from "../support/database.ts";
import { uniqueName } from "../support/fixtures.ts";

/**
 * End to end over real sockets: a live server of the app under test (a Bun.serve on port 0, or
 * the Worker in workerd with TEST_TARGET=edge), plain `fetch`, real concurrency.
 * Two customers fire hundreds of transfers at each other at once, some for more than they
 * have; afterwards every number the API reports must add up (contract, "The books always
 * balance").
 */

const TRANSFERS = 240;

let base: string;

beforeAll(async () => {
  base = await targetUrl();
});

interface Http {
  status: number;
  contentType: string;
  body: unknown;
}

async function http(
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<Http> {
  const headers: Record<string, string> = {};
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get("Content-Type") ?? "",
    body: text ? JSON.parse(text) : null,
  };
}

async function ok<T>(reply: Promise<Http>, status: number): Promise<T> {
  const r = await reply;
  if (r.status !== status)
    throw new Error(`expected ${status}, got ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body as T;
}

interface Account {
  id: number;
  owner: string;
  balance: number;
  currency: string;
}

interface Customer {
  username: string;
  token: string;
}

async function register(): Promise<Customer & { password: string }> {
  const username = uniqueName("e2e");
  const password = "end to end password";
  await ok(
    http("POST", "/users", {
      body: { username, password, full_name: "End To End", email: `${username}@example.com` },
    }),
    201,
  );
  return { username, password, token: await logIn(username, password) };
}

async function logIn(username: string, password: string): Promise<string> {
  const login = await ok<{ access_token: string }>(
    http("POST", "/users/login", { body: { username, password } }),
    200,
  );
  return login.access_token;
}

/** Every item of a paginated list, 100 at a time. */
async function everyPage<T>(path: string, token: string): Promise<T[]> {
  const all: T[] = [];
  for (let page = 1; ; page++) {
    const separator = path.includes("?") ? "&" : "?";
    const items = await ok<T[]>(
      http("GET", `${path}${separator}page_id=${page}&page_size=100`, { token }),
      200,
    );
    all.push(...items);
    if (items.length < 100) return all;
  }
}

/** Deterministic PRNG (mulberry32), so a failing run can be replayed with its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("end to end over HTTP", () => {
  test(`${TRANSFERS} concurrent transfers both ways keep every number consistent`, async () => {
    const seed = Date.now() % 1_000_000;
    const rand = random(seed);
    const context = `(seed ${seed})`;

    const alice = await register();
    const bob = await register();
    const registered = await register();
    await grantRole((await testDatabase()).deps, registered.username, "banker");
    // The role travels in the access token: log in again to get a banker's token.
    const banker = { ...registered, token: await logIn(registered.username, registered.password) };

    const aliceAccount = await ok<Account>(
      http("POST", "/accounts", { token: alice.token, body: { currency: "USD" } }),
      201,
    );
    const bobAccount = await ok<Account>(
      http("POST", "/accounts", { token: bob.token, body: { currency: "USD" } }),
      201,
    );

    // The USD treasury, as a banker sees it (the system user `bank` owns it). Its change is
    // this test's alone: `bun test` runs files one after another, on a database of its own.
    const treasuryOf = async () => {
      const accounts = await ok<Account[]>(
        http("GET", "/accounts?owner=bank&page_size=100", { token: banker.token }),
        200,
      );
      const usd = accounts.find((a) => a.currency === "USD");
      if (!usd) throw new Error("no USD treasury");
      return usd;
    };
    const treasuryBefore = (await treasuryOf()).balance;

    // Funding: banker deposits (3 for alice, 2 for bob).
    const deposits = new Map<number, number[]>([
      [aliceAccount.id, [5_000, 3_000, 2_000]],
      [bobAccount.id, [6_000, 1_500]],
    ]);
    for (const [id, amounts] of deposits) {
      for (const amount of amounts) {
        await ok(
          http("POST", `/accounts/${id}/deposits`, {
            token: banker.token,
            body: { amount, currency: "USD" },
          }),
          201,
        );
      }
    }
    const funded = [...deposits.values()].flat().reduce((a, b) => a + b, 0);

    // The storm: both directions at once, one in six for more than anyone has.
    const sides = [
      { from: aliceAccount, to: bobAccount, token: alice.token },
      { from: bobAccount, to: aliceAccount, token: bob.token },
    ];
    const requests = Array.from({ length: TRANSFERS }, (_, i) => {
      const side = sides[i % 2];
      if (!side) throw new Error("unreachable");
      const amount =
        rand() < 1 / 6 ? funded + 1 + Math.floor(rand() * 10_000) : 1 + Math.floor(rand() * 3_000);
      return http("POST", "/transfers", {
        token: side.token,
        body: {
          from_account_id: side.from.id,
          to_account_id: side.to.id,
          amount,
          currency: "USD",
        },
      });
    });
    const replies = await Promise.all(requests);

    const unexpected = replies.filter(
      (r) =>
        !(r.status === 201) &&
        !(
          r.status === 422 &&
          r.contentType === "application/problem+json" &&
          (r.body as { code?: string }).code === "insufficient_funds"
        ),
    );
    expect(unexpected.map((r) => `${r.status} ${JSON.stringify(r.body)}`)).toEqual([]);
    const succeeded = replies.filter((r) => r.status === 201);
    expect(succeeded.length).toBeGreaterThan(0);
    expect(replies.length - succeeded.length).toBeGreaterThan(0);
    for (const reply of succeeded) {
      const result = reply.body as { from_account: { balance: number } };
      expect(result.from_account.balance).toBeGreaterThanOrEqual(0);
    }

    // Afterwards: what the API says must add up.
    const balances: number[] = [];
    for (const [account, customer] of [
      [aliceAccount, alice],
      [bobAccount, bob],
    ] as const) {
      const now = await ok<Account>(
        http("GET", `/accounts/${account.id}`, { token: customer.token }),
        200,
      );
      expect(now.balance).toBeGreaterThanOrEqual(0);
      balances.push(now.balance);

      const entries = await everyPage<{ amount: number; transfer_id: number }>(
        `/accounts/${account.id}/entries`,
        customer.token,
      );
      const sum = entries.reduce((total, entry) => total + entry.amount, 0);
      if (sum !== now.balance)
        throw new Error(`balance ${now.balance} ≠ entries ${sum} ${context}`);

      const transfers = await everyPage<{ id: number }>(
        `/transfers?account_id=${account.id}`,
        customer.token,
      );
      const depositsHere = deposits.get(account.id)?.length ?? 0;
      expect(transfers).toHaveLength(succeeded.length + depositsHere);
      // One entry per transfer, on the same transfers.
      expect(entries.map((e) => e.transfer_id).sort((a, b) => a - b)).toEqual(
        transfers.map((t) => t.id).sort((a, b) => a - b),
      );
      // Ordered by id ascending, no duplicates across pages.
      const ids = transfers.map((t) => t.id);
      expect(ids).toEqual([...new Set(ids)].sort((a, b) => a - b));
    }

    // Money is neither created nor destroyed: the customers hold what the treasury gave out.
    const treasuryChange = (await treasuryOf()).balance - treasuryBefore;
    expect(treasuryChange).toBe(-funded);
    expect((balances[0] ?? Number.NaN) + (balances[1] ?? Number.NaN) + treasuryChange).toBe(0);
  }, 60_000);
});
