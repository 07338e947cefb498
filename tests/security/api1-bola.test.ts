import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Currency } from "../../src/core/domain/money.ts";
import { SimpleBank } from "../../src/core/grpc/gen/pb/service_simple_bank_pb.ts";
import {
  type Bank,
  BankClient,
  grpcAccount,
  grpcCustomer,
  Status,
  startBank,
} from "../grpc/support.ts";
import {
  type AccountJson,
  call,
  depositTo,
  expectProblem,
  openAccountFor,
  type Reply,
  signUp,
  type TestUser,
} from "../support/app.ts";
import { testDatabase } from "../support/database.ts";
import { treasuryAccount } from "../support/fixtures.ts";
import { connectCall, type OpenApiOperation, openApiOperations, operationKey } from "./support.ts";

/**
 * OWASP API1:2023 Broken Object Level Authorization. An authenticated depositor (the attacker)
 * names objects that are not theirs: another customer's account, transfer and username, and
 * the bank's treasury accounts and system user. Every operation of /openapi.json that takes an
 * object id (path, query or body) is walked, so a route added later fails here until it has a
 * case; the Connect service is walked the same way from its descriptor. Each answer is the
 * contract's 403 `forbidden` (Connect: permission_denied), and nothing changed.
 */

const CURRENCIES: Currency[] = ["USD", "EUR", "CAD"];

interface World {
  attacker: TestUser;
  attackerAccount: AccountJson;
  victim: TestUser;
  victimAccount: AccountJson;
  /** victim → third party (two customers, neither the attacker). */
  victimTransferId: number;
  /** treasury → victim (the victim's funding deposit). */
  depositTransferId: number;
  treasuryIds: number[];
}

let world: World;

/** What must not change: read straight from the database. */
async function balances(): Promise<Record<number, number>> {
  const { handle } = await testDatabase();
  const ids = [world.victimAccount.id, world.attackerAccount.id, ...world.treasuryIds];
  const rows = await handle.sql<{ id: string; balance: string }[]>`
    select id, balance from accounts where id in ${handle.sql(ids)} order by id`;
  return Object.fromEntries(rows.map((row) => [Number(row.id), Number(row.balance)]));
}

beforeAll(async () => {
  const { deps } = await testDatabase();
  const attacker = await signUp();
  const victim = await signUp();
  const third = await signUp();
  const attackerAccount = await openAccountFor(attacker);
  const victimAccount = await openAccountFor(victim);
  const thirdAccount = await openAccountFor(third);
  await depositTo(attackerAccount, 5_000);
  await depositTo(victimAccount, 10_000);
  const [deposit] = (
    await call<{ id: number }[]>("GET", `/transfers?account_id=${victimAccount.id}`, {
      token: victim.accessToken,
    })
  ).body;
  const sent = await call<{ transfer: { id: number } }>("POST", "/transfers", {
    token: victim.accessToken,
    body: {
      from_account_id: victimAccount.id,
      to_account_id: thirdAccount.id,
      amount: 100,
      currency: "USD",
    },
  });
  expect(sent.status).toBe(201);
  if (!deposit) throw new Error("the victim's deposit is missing");
  const treasuryIds = await Promise.all(
    CURRENCIES.map(async (currency) => (await treasuryAccount(deps, currency)).id),
  );
  world = {
    attacker,
    attackerAccount,
    victim,
    victimAccount,
    victimTransferId: sent.body.transfer.id,
    depositTransferId: deposit.id,
    treasuryIds,
  };
});

// ---- path parameters: every documented operation ----------------------------------------

/** Another party's objects for each path parameter, by the collection it sits under. */
function foreignValues(path: string, parameter: string): string[] | "public" {
  if (parameter === "id" && path.startsWith("/accounts/")) {
    return [world.victimAccount.id, ...world.treasuryIds].map(String);
  }
  if (parameter === "id" && path.startsWith("/transfers/")) {
    return [world.victimTransferId, world.depositTransferId].map(String);
  }
  if (parameter === "username" && path.startsWith("/users/")) {
    return [world.victim.username, "bank"];
  }
  // /users/me/sessions/{session_id}: only ever the caller's own; another's is 404 by contract
  // (not 403: nothing says it exists), probed in its own test below.
  if (parameter === "session_id" && path.startsWith("/users/me/sessions/")) return "public";
  // /problems/{code}: the public catalogue of error codes, not anyone's object.
  if (parameter === "code" && path.startsWith("/problems/")) return "public";
  throw new Error(`no API1 case for {${parameter}} in ${path}: add one to foreignValues()`);
}

/** A body that would succeed if the object were the attacker's (writes only). */
const BODIES: Record<string, () => unknown> = {
  "POST /accounts/{id}/deposits": () => ({ amount: 100, currency: "USD" }),
  "POST /accounts/{id}/withdrawals": () => ({ amount: 100, currency: "USD" }),
  "PATCH /users/{username}": () => ({ full_name: "Taken Over" }),
};

function fill(path: string, values: Record<string, string>): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(values[name] ?? ""));
}

/** 403 forbidden, and nothing of the object in the body. */
function expectForbidden(reply: Reply, what: string): void {
  try {
    expectProblem(reply, 403, "forbidden");
  } catch (error) {
    throw new Error(`${what}: ${(error as Error).message}`);
  }
  const text = JSON.stringify(reply.body);
  expect(text).not.toContain(world.victim.email);
  expect(text).not.toContain('"balance"');
}

describe("API1: sessions are only ever the caller's own", () => {
  test("ending another user's session: 404 not_found, and it goes on working", async () => {
    const reply = await call("DELETE", `/users/me/sessions/${world.victim.sessionId}`, {
      token: world.attacker.accessToken,
    });
    expectProblem(reply, 404, "not_found");
    expect((await call("GET", "/users/me", { token: world.victim.accessToken })).status).toBe(200);
    const listed = await call<{ session_id: string }[]>("GET", "/users/me/sessions", {
      token: world.attacker.accessToken,
    });
    expect(listed.body.map((s) => s.session_id)).not.toContain(world.victim.sessionId);
  });
});

describe("API1: every operation with an object id in its path", () => {
  test("another customer's and the treasury's ids: 403 forbidden, nothing changed", async () => {
    const operations = (await openApiOperations()).filter((op) =>
      op.parameters.some((p) => p.in === "path"),
    );
    expect(operations.length).toBeGreaterThanOrEqual(7);
    const before = await balances();
    const probed: string[] = [];
    for (const operation of operations) {
      const parameters = operation.parameters.filter((p) => p.in === "path");
      const [parameter] = parameters;
      if (!parameter || parameters.length > 1) {
        throw new Error(`${operationKey(operation)}: one path parameter expected`);
      }
      const values = foreignValues(operation.path, parameter.name);
      if (values === "public") continue;
      const body = BODIES[operationKey(operation)];
      if (operation.method !== "GET" && !body) {
        throw new Error(`no API1 body for ${operationKey(operation)}: add one to BODIES`);
      }
      for (const value of values) {
        const path = fill(operation.path, { [parameter.name]: value });
        const reply = await call(operation.method, path, {
          token: world.attacker.accessToken,
          body: body?.(),
        });
        expectForbidden(reply, `${operation.method} ${path}`);
        probed.push(`${operation.method} ${path}`);
      }
    }
    expect(probed.length).toBeGreaterThanOrEqual(15);
    expect(await balances()).toEqual(before);
    const me = await call<{ full_name: string }>("GET", "/users/me", {
      token: world.victim.accessToken,
    });
    expect(me.body.full_name).toBe(world.victim.fullName);
  });

  test("the attacker's own ids pass the same routes (the 403s above are about ownership)", async () => {
    for (const path of [
      `/accounts/${world.attackerAccount.id}`,
      `/accounts/${world.attackerAccount.id}/entries`,
      `/users/me`,
    ]) {
      expect((await call("GET", path, { token: world.attacker.accessToken })).status).toBe(200);
    }
  });
});

// ---- query and body parameters ------------------------------------------------------------

/** Query parameters that name no object of anyone's (paging; verify_email's id needs its code). */
const NOT_OBJECT_REFERENCES = new Set(["page_id", "page_size", "email_id", "emailId"]);
const OBJECT_REFERENCE = /(^id$|_id$|Id$|^owner$|^username$)/;

const QUERY_CASES: Record<string, (name: string) => string[]> = {
  "GET /accounts": (name) => (name === "owner" ? [world.victim.username, "bank"] : []),
  "GET /transfers": (name) =>
    name === "account_id" ? [world.victimAccount.id, ...world.treasuryIds].map(String) : [],
};

describe("API1: object ids in query strings", () => {
  test("every documented id-like query parameter, with another party's id: 403", async () => {
    const operations = (await openApiOperations()).filter((op: OpenApiOperation) =>
      op.parameters.some(
        (p) =>
          p.in === "query" && OBJECT_REFERENCE.test(p.name) && !NOT_OBJECT_REFERENCES.has(p.name),
      ),
    );
    expect(operations.map(operationKey).sort()).toEqual(Object.keys(QUERY_CASES).sort());
    for (const operation of operations) {
      const cases = QUERY_CASES[operationKey(operation)];
      if (!cases) throw new Error(`no API1 query case for ${operationKey(operation)}`);
      for (const parameter of operation.parameters) {
        if (parameter.in !== "query" || NOT_OBJECT_REFERENCES.has(parameter.name)) continue;
        if (!OBJECT_REFERENCE.test(parameter.name)) continue;
        const values = cases(parameter.name);
        expect(values.length).toBeGreaterThan(0);
        for (const value of values) {
          const path = `${operation.path}?${parameter.name}=${encodeURIComponent(value)}`;
          expectForbidden(
            await call("GET", path, { token: world.attacker.accessToken }),
            `GET ${path}`,
          );
        }
      }
    }
  });
});

describe("API1: object ids in bodies", () => {
  test("POST /transfers from another customer's account: 403, no money moves", async () => {
    const before = await balances();
    const reply = await call("POST", "/transfers", {
      token: world.attacker.accessToken,
      body: {
        from_account_id: world.victimAccount.id,
        to_account_id: world.attackerAccount.id,
        amount: 100,
        currency: "USD",
      },
    });
    expectForbidden(reply, "POST /transfers from the victim's account");
    expect(await balances()).toEqual(before);
  });

  test("POST /transfers with a treasury on either side: refused, no money moves", async () => {
    const before = await balances();
    const [usdTreasury] = world.treasuryIds;
    const fromTreasury = await call("POST", "/transfers", {
      token: world.attacker.accessToken,
      body: {
        from_account_id: usdTreasury,
        to_account_id: world.attackerAccount.id,
        amount: 100,
        currency: "USD",
      },
    });
    // Treasuries are never valid in a transfer (contract, "Where money comes from").
    expectProblem(fromTreasury, 422, "invalid_account");
    const toTreasury = await call("POST", "/transfers", {
      token: world.attacker.accessToken,
      body: {
        from_account_id: world.attackerAccount.id,
        to_account_id: usdTreasury,
        amount: 100,
        currency: "USD",
      },
    });
    expectProblem(toTreasury, 422, "invalid_account");
    expect(await balances()).toEqual(before);
  });

  test("PATCH /v1/update_user naming another user (or bank) in the body: 403", async () => {
    for (const username of [world.victim.username, "bank"]) {
      const reply = await call("PATCH", "/v1/update_user", {
        token: world.attacker.accessToken,
        body: { username, full_name: "Taken Over" },
      });
      expectForbidden(reply, `PATCH /v1/update_user as ${username}`);
    }
  });
});

// ---- Connect / gRPC: every RPC of the service descriptor ----------------------------------

/**
 * RPCs left out of the permission_denied sweep: those whose id-like request fields name no
 * one's object (the caller's own sign-up/login; the links of VerifyEmail and ConfirmPasswordReset,
 * which their secret code proves, with no caller at all), and EndSession, which only ever finds the
 * caller's own sessions (another's is not_found, not permission_denied: probed on its own below).
 */
const PUBLIC_RPCS = new Set([
  "CreateUser",
  "LoginUser",
  "VerifyEmail",
  "ConfirmPasswordReset",
  "EndSession",
]);
const RPC_REFERENCE = /(^id$|_id$|^owner$|^username$)/;

/** Another party's objects, as an RPC test sees them (ids as numbers or int64 strings). */
interface RpcWorld {
  victimUsername: string;
  victimAccountId: number | string;
  attackerAccountId: number | string;
  victimTransferId: number | string;
  depositTransferId: number | string;
  treasuryIds: (number | string)[];
}

/** For each RPC with an object reference: requests naming another party's objects. */
function rpcCases(w: RpcWorld): Record<string, Record<string, unknown>[]> {
  const accounts = [w.victimAccountId, ...w.treasuryIds];
  const cash = (id: number | string) => ({ account_id: id, amount: 100, currency: "USD" });
  return {
    UpdateUser: [w.victimUsername, "bank"].map((username) => ({
      username,
      full_name: "Taken Over",
    })),
    GetAccount: accounts.map((id) => ({ id })),
    ListAccounts: [w.victimUsername, "bank"].map((owner) => ({ owner, page_size: 10 })),
    ListEntries: accounts.map((id) => ({ account_id: id, page_size: 10 })),
    GetTransfer: [w.victimTransferId, w.depositTransferId].map((id) => ({ id })),
    ListTransfers: accounts.map((id) => ({ account_id: id, page_size: 10 })),
    CreateTransfer: [
      {
        from_account_id: w.victimAccountId,
        to_account_id: w.attackerAccountId,
        amount: 100,
        currency: "USD",
      },
    ],
    Deposit: [cash(w.victimAccountId), cash(w.attackerAccountId)],
    Withdraw: [cash(w.victimAccountId), cash(w.attackerAccountId)],
  };
}

/** The RPCs of the service descriptor that take an object reference. */
const referencingRpcs = () =>
  SimpleBank.methods
    .filter((method) => method.input.fields.some((field) => RPC_REFERENCE.test(field.name)))
    .map((method) => method.name)
    .filter((name) => !PUBLIC_RPCS.has(name));

describe("API1: Connect (the gRPC service on the HTTP port)", () => {
  test("every RPC that takes an object id, with another party's: permission_denied, nothing changed", async () => {
    const cases = rpcCases({
      victimUsername: world.victim.username,
      victimAccountId: world.victimAccount.id,
      attackerAccountId: world.attackerAccount.id,
      victimTransferId: world.victimTransferId,
      depositTransferId: world.depositTransferId,
      treasuryIds: world.treasuryIds,
    });
    const referencing = referencingRpcs();
    expect(referencing.sort()).toEqual(Object.keys(cases).sort());
    const before = await balances();
    for (const name of referencing) {
      const requests = cases[name] ?? [];
      expect(requests.length).toBeGreaterThan(0);
      for (const request of requests) {
        const reply = await connectCall(name, request, world.attacker.accessToken);
        if (reply.status !== 403 || reply.body.code !== "permission_denied") {
          throw new Error(
            `${name} ${JSON.stringify(request)}: ${reply.status} ${JSON.stringify(reply.body)}`,
          );
        }
        expect(JSON.stringify(reply.body)).not.toContain(world.victim.email);
      }
    }
    // A treasury as the source is a business-rule refusal, as in REST (422 invalid_account).
    const fromTreasury = await connectCall(
      "CreateTransfer",
      {
        from_account_id: world.treasuryIds[0],
        to_account_id: world.attackerAccount.id,
        amount: 100,
        currency: "USD",
      },
      world.attacker.accessToken,
    );
    expect(fromTreasury.body.code).toBe("failed_precondition");
    expect(await balances()).toEqual(before);
  });

  test("EndSession with another user's session: not_found, and it goes on working", async () => {
    const reply = await connectCall(
      "EndSession",
      { session_id: world.victim.sessionId },
      world.attacker.accessToken,
    );
    expect([reply.status, reply.body.code]).toEqual([404, "not_found"]);
    expect((await call("GET", "/users/me", { token: world.victim.accessToken })).status).toBe(200);
  });
});

describe("API1: native gRPC (a spawned server, @grpc/grpc-js)", () => {
  let bank: Bank;
  let client: BankClient;

  beforeAll(async () => {
    bank = await startBank();
    client = new BankClient(bank.grpcTarget);
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await bank?.stop();
  });

  test("every RPC that takes an object id, with another party's: PERMISSION_DENIED, nothing changed", async () => {
    const attacker = await grpcCustomer(client, bank.sql);
    const victim = await grpcCustomer(client, bank.sql);
    const third = await grpcCustomer(client, bank.sql);
    const banker = await grpcCustomer(client, bank.sql, "banker");
    const attackerAccountId = await grpcAccount(client, attacker);
    const victimAccountId = await grpcAccount(client, victim);
    const thirdAccountId = await grpcAccount(client, third);
    const deposit = await client.call(
      "Deposit",
      { account_id: victimAccountId, amount: 10_000, currency: "USD" },
      banker,
    );
    const sent = await client.call(
      "CreateTransfer",
      {
        from_account_id: victimAccountId,
        to_account_id: thirdAccountId,
        amount: 100,
        currency: "USD",
      },
      victim,
    );
    const treasuryIds = (
      await bank.sql<{ id: string }[]>`select id from accounts where kind = 'treasury' order by id`
    ).map((row) => row.id);
    expect(treasuryIds).toHaveLength(3);
    const balancesNow = async () =>
      bank.sql<{ id: string; balance: string }[]>`select id, balance from accounts order by id`;
    const before = await balancesNow();
    const cases = rpcCases({
      victimUsername: victim.username,
      victimAccountId,
      attackerAccountId,
      victimTransferId: String(sent.transfer.id),
      depositTransferId: String(deposit.transfer.id),
      treasuryIds,
    });
    const referencing = referencingRpcs();
    expect(referencing.sort()).toEqual(Object.keys(cases).sort());
    for (const name of referencing) {
      for (const request of cases[name] ?? []) {
        const failure = await client.fail(Status.PERMISSION_DENIED, name, request, attacker);
        expect(failure.message).not.toContain(victim.email);
      }
    }
    expect(await balancesNow()).toEqual(before);
  }, 60_000);
});
