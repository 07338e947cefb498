import type postgres from "postgres";

/**
 * Helpers of the shutdown and database-outage tests: plain HTTP calls over a real socket, and
 * the ledger's invariants checked in SQL (their polling is `poll`, tests/support/poll.ts).
 */

export interface HttpReply {
  status: number;
  headers: Headers;
  body: unknown;
}

/** One request over the network; a JSON body in and out. Network failures reject. */
export async function httpCall(
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<HttpReply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  const type = res.headers.get("Content-Type") ?? "";
  return {
    status: res.status,
    headers: res.headers,
    body: /json/.test(type) && text ? JSON.parse(text) : text,
  };
}

/** Like `httpCall`, but throws unless the status is `expected`. */
export async function httpExpect(
  expected: number,
  baseUrl: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Record<string, unknown>> {
  const reply = await httpCall(baseUrl, method, path, options);
  if (reply.status !== expected) {
    throw new Error(
      `${method} ${path}: expected ${expected}, got ${reply.status} ${JSON.stringify(reply.body)}`,
    );
  }
  return reply.body as Record<string, unknown>;
}

/**
 * Every way the books could be half-written, over the whole database: a transfer without
 * exactly its two entries (−amount on the from side, +amount on the to side), a balance that
 * is not the sum of its entries, a currency whose balances (treasury included) do not sum to
 * zero, a negative customer balance. Empty when the ledger is sound.
 */
export async function ledgerViolations(sql: postgres.Sql): Promise<string[]> {
  const problems: string[] = [];
  const badTransfers = await sql<{ id: string }[]>`
    select t.id::text from transfers t
    left join entries e on e.transfer_id = t.id
    group by t.id, t.from_account_id, t.to_account_id, t.amount
    having count(e.id) <> 2
        or coalesce(sum(e.amount), 0) <> 0
        or count(*) filter (where e.account_id = t.from_account_id and e.amount = -t.amount) <> 1
        or count(*) filter (where e.account_id = t.to_account_id and e.amount = t.amount) <> 1`;
  for (const row of badTransfers) problems.push(`transfer ${row.id} does not have its two entries`);
  const orphanEntries = await sql<{ id: string }[]>`
    select e.id::text from entries e left join transfers t on t.id = e.transfer_id
    where t.id is null`;
  for (const row of orphanEntries) problems.push(`entry ${row.id} belongs to no transfer`);
  const badBalances = await sql<{ id: string; balance: string; entries: string }[]>`
    select a.id::text, a.balance::text, coalesce(sum(e.amount), 0)::text as entries
    from accounts a left join entries e on e.account_id = a.id
    group by a.id, a.balance
    having a.balance <> coalesce(sum(e.amount), 0)`;
  for (const row of badBalances) {
    problems.push(
      `account ${row.id}: balance ${row.balance} but its entries sum to ${row.entries}`,
    );
  }
  const sums = await sql<{ currency: string; total: string }[]>`
    select currency, sum(balance)::text as total from accounts group by currency`;
  for (const row of sums) {
    if (row.total !== "0") problems.push(`${row.currency} balances sum to ${row.total}, not 0`);
  }
  const negative = await sql<{ id: string }[]>`
    select id::text from accounts where kind = 'customer' and balance < 0`;
  for (const row of negative) problems.push(`customer account ${row.id} is negative`);
  problems.push(...(await balanceAfterViolations(sql)));
  return problems;
}

/**
 * The statements' running balance: every entry's `balance_after` is its account's running sum
 * in id order, so every account's latest `balance_after` equals its balance (an account
 * without entries holds 0). Empty when sound.
 */
export async function balanceAfterViolations(sql: postgres.Sql): Promise<string[]> {
  const problems: string[] = [];
  const drifted = await sql<{ id: string; balance_after: string; running: string }[]>`
    select id::text, balance_after::text, running::text from (
      select id, balance_after,
             sum(amount) over (partition by account_id order by id) as running
      from entries) r
    where balance_after <> running`;
  for (const row of drifted) {
    problems.push(
      `entry ${row.id}: balance_after ${row.balance_after} but the running sum is ${row.running}`,
    );
  }
  const latest = await sql<{ id: string; balance: string; latest: string | null }[]>`
    select a.id::text, a.balance::text, l.balance_after::text as latest
    from accounts a
    left join lateral (
      select balance_after from entries where account_id = a.id order by id desc limit 1) l on true
    where a.balance <> coalesce(l.balance_after, 0)`;
  for (const row of latest) {
    problems.push(
      `account ${row.id}: balance ${row.balance} but its latest balance_after is ${row.latest}`,
    );
  }
  return problems;
}

export interface HttpCustomer {
  username: string;
  password: string;
  token: string;
  accountId: number;
}

/**
 * A customer made over HTTP on the app at `baseUrl`: signs up (a banker is made one in SQL
 * before logging in, as `bun run cli grant-role` would), logs in, opens a USD account.
 */
export async function httpCustomer(
  baseUrl: string,
  sql: postgres.Sql,
  role: "depositor" | "banker" = "depositor",
): Promise<HttpCustomer> {
  const username = `c_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const password = `pw-${crypto.randomUUID()}`;
  await httpExpect(201, baseUrl, "POST", "/users", {
    body: { username, password, full_name: "Test User", email: `${username}@example.com` },
  });
  if (role === "banker") await sql`update users set role = 'banker' where username = ${username}`;
  const login = await httpExpect(200, baseUrl, "POST", "/users/login", {
    body: { username, password },
  });
  const token = String(login.access_token);
  const account = await httpExpect(201, baseUrl, "POST", "/accounts", {
    token,
    body: { currency: "USD" },
  });
  return { username, password, token, accountId: Number(account.id) };
}

/** A banker's deposit over HTTP. */
export async function httpDeposit(
  baseUrl: string,
  banker: HttpCustomer,
  accountId: number,
  amount: number,
): Promise<void> {
  await httpExpect(201, baseUrl, "POST", `/accounts/${accountId}/deposits`, {
    token: banker.token,
    body: { amount, currency: "USD" },
  });
}
