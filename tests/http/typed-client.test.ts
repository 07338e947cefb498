import { beforeAll, describe, expect, expectTypeOf, test } from "bun:test";
import { hc } from "hono/client";
import type { ErrorCode } from "../../src/core/domain/errors.ts";
import type { AppType } from "../../src/core/http/app.ts";
import { grantRole } from "../../src/core/services/users.ts";
import { targetUrl } from "../support/app.ts";
import { testDatabase } from "../support/database.ts";
import { uniqueName } from "../support/fixtures.ts";

/**
 * The typed client of hono/client (`hc<AppType>`) against a live server: one end-to-end flow
 * whose request AND response types come from the app's route definitions. `bun run typecheck`
 * covers this file, so the type assertions below (expectTypeOf, @ts-expect-error) fail the
 * build if AppType's inference degrades (e.g. to `any`).
 */

type Client = ReturnType<typeof hc<AppType>>;

let client: Client;

beforeAll(async () => {
  client = hc<AppType>(await targetUrl());
});

const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

/** Compile-time only: never called, but type-checked. */
function compileTimeChecks(c: Client) {
  const transfer = { to_account_id: 2, amount: 1, currency: "USD" as const };
  // @ts-expect-error a misspelt body field is a type error
  void c.transfers.$post({ json: { ...transfer, from_account: 1 } });
  // @ts-expect-error currencies are the contract's three
  void c.accounts.$post({ json: { currency: "XYZ" } });
  const cash = { param: { id: "1" }, json: { amount: "10", currency: "USD" as const } };
  // @ts-expect-error amounts are numbers, not strings
  void c.accounts[":id"].deposits.$post(cash);
  // @ts-expect-error no such route
  void c.accounts.$delete();
  // @ts-expect-error path parameters are required
  void c.transfers[":id"].$get({});
}
void compileTimeChecks;

async function signUpAndLogIn(role: "depositor" | "banker" = "depositor") {
  const username = uniqueName("hc");
  const password = "typed client password";
  const created = await client.users.$post({
    json: { username, password, full_name: "Typed Client", email: `${username}@example.com` },
  });
  if (created.status !== 201) throw new Error(`sign-up: ${created.status}`);
  const user = await created.json();
  expectTypeOf(user.username).toEqualTypeOf<string>();
  expectTypeOf(user.role).toEqualTypeOf<"depositor" | "banker">();
  expectTypeOf(user.is_email_verified).toEqualTypeOf<boolean>();
  // @ts-expect-error the user JSON never carries a hash
  void user.hashed_password;
  expect(user).toMatchObject({ username, role: "depositor", is_email_verified: false });

  if (role === "banker") await grantRole((await testDatabase()).deps, username, "banker");

  const login = await client.users.login.$post({ json: { username, password } });
  if (login.status !== 200) throw new Error(`login: ${login.status}`);
  const session = await login.json();
  expectTypeOf(session.access_token).toEqualTypeOf<string>();
  expectTypeOf(session.user.username).toEqualTypeOf<string>();
  expect(session.user.username).toBe(username);
  return { username, token: session.access_token };
}

describe("typed client (hono/client) over a live server", () => {
  test("sign up, log in, open accounts, banker deposit, transfer, statements", async () => {
    const alice = await signUpAndLogIn();
    const bob = await signUpAndLogIn();
    const banker = await signUpAndLogIn("banker");

    // Who am I: the role read from the database, so the banker shows as one.
    const me = await client.users.me.$get({}, bearer(banker.token));
    if (me.status !== 200) throw new Error(`me: ${me.status}`);
    expect((await me.json()).role).toBe("banker");

    // Accounts.
    const openFor = async (token: string) => {
      const res = await client.accounts.$post({ json: { currency: "USD" } }, bearer(token));
      if (res.status !== 201) throw new Error(`open: ${res.status}`);
      const account = await res.json();
      expectTypeOf(account.id).toEqualTypeOf<number>();
      expectTypeOf(account.currency).toEqualTypeOf<"USD" | "EUR" | "CAD">();
      expect(account.balance).toBe(0);
      return account;
    };
    const aliceAccount = await openFor(alice.token);
    const bobAccount = await openFor(bob.token);

    // A banker's deposit.
    const deposit = await client.accounts[":id"].deposits.$post(
      {
        param: { id: String(aliceAccount.id) },
        header: {},
        json: { amount: 10_000, currency: "USD" },
      },
      bearer(banker.token),
    );
    if (deposit.status !== 201) throw new Error(`deposit: ${deposit.status}`);
    const deposited = await deposit.json();
    expectTypeOf(deposited.to_entry.amount).toEqualTypeOf<number>();
    expect(deposited.to_account.balance).toBe(10_000);

    // A depositor may not: the error is typed as problem+json.
    const refused = await client.accounts[":id"].deposits.$post(
      { param: { id: String(aliceAccount.id) }, header: {}, json: { amount: 1, currency: "USD" } },
      bearer(alice.token),
    );
    expect(refused.status).toBe(403);
    if (refused.status === 403) {
      const problem = await refused.json();
      expectTypeOf(problem.code).toEqualTypeOf<ErrorCode>();
      expect(problem.code).toBe("forbidden");
    }

    // A transfer, with an Idempotency-Key, then its replay.
    const key = crypto.randomUUID();
    const send = () =>
      client.transfers.$post(
        {
          json: {
            from_account_id: aliceAccount.id,
            to_account_id: bobAccount.id,
            amount: 2_500,
            currency: "USD",
          },
          header: { "Idempotency-Key": key },
        },
        bearer(alice.token),
      );
    const sent = await send();
    if (sent.status !== 201) throw new Error(`transfer: ${sent.status}`);
    const result = await sent.json();
    expectTypeOf(result.transfer.id).toEqualTypeOf<number>();
    expectTypeOf(result.to_account.balance).toEqualTypeOf<number | undefined>();
    expect(result.from_account.balance).toBe(7_500);
    // The recipient's balance is not the sender's business.
    expect(result.to_account.balance).toBeUndefined();
    const replay = await send();
    expect(replay.status).toBe(201);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    if (replay.status === 201) expect((await replay.json()).transfer.id).toBe(result.transfer.id);

    // Insufficient funds: 422, typed.
    const tooMuch = await client.transfers.$post(
      {
        json: {
          from_account_id: aliceAccount.id,
          to_account_id: bobAccount.id,
          amount: 1_000_000,
          currency: "USD",
        },
        header: {},
      },
      bearer(alice.token),
    );
    expect(tooMuch.status).toBe(422);
    if (tooMuch.status === 422) expect((await tooMuch.json()).code).toBe("insufficient_funds");

    // Statements: bob's entries, the transfer list, one transfer.
    const entries = await client.accounts[":id"].entries.$get(
      { param: { id: String(bobAccount.id) }, query: { page_id: "1", page_size: "10" } },
      bearer(bob.token),
    );
    if (entries.status !== 200) throw new Error(`entries: ${entries.status}`);
    const statement = await entries.json();
    expectTypeOf(statement).toEqualTypeOf<
      {
        id: number;
        account_id: number;
        amount: number;
        transfer_id: number;
        created_at: string;
        balance_after: number;
        kind: "transfer_in" | "transfer_out" | "deposit" | "withdrawal";
        counterparty_account_id: number;
        counterparty_owner: string;
        memo: string | null;
      }[]
    >();
    expect(statement.map((e) => e.amount)).toEqual([2_500]);
    expect(statement[0]?.transfer_id).toBe(result.transfer.id);

    const listed = await client.transfers.$get(
      {
        query: { account_id: String(aliceAccount.id), page_id: undefined, page_size: undefined },
      },
      bearer(alice.token),
    );
    if (listed.status !== 200) throw new Error(`transfers: ${listed.status}`);
    const transfers = await listed.json();
    expect(transfers.map((t) => t.amount)).toEqual([10_000, 2_500]);

    const one = await client.transfers[":id"].$get(
      { param: { id: String(result.transfer.id) } },
      bearer(bob.token),
    );
    if (one.status !== 200) throw new Error(`transfer: ${one.status}`);
    expect(await one.json()).toMatchObject({
      id: result.transfer.id,
      from_account_id: aliceAccount.id,
      to_account_id: bobAccount.id,
      amount: 2_500,
    });

    const account = await client.accounts[":id"].$get(
      { param: { id: String(bobAccount.id) } },
      bearer(bob.token),
    );
    if (account.status !== 200) throw new Error(`account: ${account.status}`);
    expect((await account.json()).balance).toBe(2_500);

    // Log out: the token stops working.
    const out = await client.users.logout.$post({}, bearer(bob.token));
    expect(out.status).toBe(204);
    const after = await client.users.me.$get({}, bearer(bob.token));
    expect(after.status).toBe(401);
  });
});
