import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { SimpleBank } from "../../src/core/grpc/gen/pb/service_simple_bank_pb.ts";
import { testDatabase } from "../support/database.ts";
import { uniqueName } from "../support/fixtures.ts";
import { poll } from "../support/poll.ts";
import { httpCall, ledgerViolations } from "../support/resilience.ts";
import {
  type Bank,
  BankClient,
  bufCurl,
  type Customer,
  grpcAccount,
  grpcCustomer,
  healthStatus,
  Status,
  startBank,
  watchHealth,
} from "./support.ts";

/**
 * Native gRPC over HTTP/2 (h2c) against a live `bun src/main.ts` (free ports for PORT and
 * GRPC_PORT), with a client nobody of us wrote: @grpc/grpc-js, the schema from our .proto
 * files through @grpc/proto-loader. Every RPC succeeds; each kind of failure is its gRPC code
 * with google.rpc details; the request id comes back as header and trailer; `buf curl` works
 * from reflection alone; health says SERVING; transfers through native gRPC, Connect and REST
 * at once keep the books balanced; an idempotent retry pays once; SIGTERM drains.
 */

let bank: Bank;
let client: BankClient;
let alice: Customer;
let bob: Customer;
let banker: Customer;
let aliceAccount: string;
let bobAccount: string;

beforeAll(async () => {
  bank = await startBank({ SHUTDOWN_TIMEOUT: "10s" });
  client = new BankClient(bank.grpcTarget);
  [alice, bob, banker] = [
    await grpcCustomer(client, bank.sql),
    await grpcCustomer(client, bank.sql),
    await grpcCustomer(client, bank.sql, "banker"),
  ];
  [aliceAccount, bobAccount] = [await grpcAccount(client, alice), await grpcAccount(client, bob)];
  await client.call(
    "Deposit",
    { account_id: aliceAccount, amount: "100000", currency: "USD" },
    banker,
  );
}, 60_000);

afterAll(async () => {
  client?.close();
  await bank?.stop();
});

/** The server's `rpc` log lines (the readable format: `… INFO  rpc {json}`). */
function rpcLines(): Record<string, unknown>[] {
  return bank.server
    .output()
    .split("\n")
    .filter((line) => / rpc \{/.test(line))
    .map((line) => JSON.parse(line.slice(line.indexOf(" rpc {") + 5)) as Record<string, unknown>);
}

describe("every RPC over native gRPC", () => {
  test("users and sessions: CreateUser, LoginUser, VerifyEmail, RenewAccessToken, UpdateUser, Logout", async () => {
    const username = uniqueName("g");
    const password = `pw-${crypto.randomUUID()}`;
    const email = `${username}@example.com`;
    const created = await client.call("CreateUser", {
      username,
      password,
      full_name: "Carol Grpc",
      email,
    });
    expect(created.user).toMatchObject({
      username,
      full_name: "Carol Grpc",
      email,
      role: "depositor",
    });
    // 0001-01-01T00:00:00Z until the first change.
    expect(created.user.password_changed_at).toEqual({ seconds: "-62135596800" });
    expect(Number(created.user.created_at.seconds)).toBeGreaterThan(Date.now() / 1000 - 60);

    const login = await client.call("LoginUser", { username, password });
    expect(login.user.username).toBe(username);
    expect(login.session_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(login.access_token).toStartWith("v4.local.");
    expect(Number(login.access_token_expires_at.seconds)).toBeGreaterThan(Date.now() / 1000);
    // The session row records the gRPC client's user agent and the peer's address.
    const [session] = await bank.sql<{ user_agent: string; client_ip: string }[]>`
      select user_agent, client_ip from sessions where id = ${login.session_id}`;
    expect(session?.user_agent).toStartWith("grpc-node-js/");
    expect(session?.client_ip).toMatch(/127\.0\.0\.1$/);

    // The worker (inside the server) created the verification link; the RPC follows it.
    const link = await poll("the verification link", async () => {
      const [row] = await bank.sql<{ id: string; secret_code: string }[]>`
        select id::text, secret_code from verify_emails where username = ${username}`;
      return row;
    });
    const verified = await client.call("VerifyEmail", {
      email_id: link.id,
      secret_code: link.secret_code,
    });
    expect(verified).toEqual({ is_verified: true });

    const renewed = await client.call("RenewAccessToken", { refresh_token: login.refresh_token });
    expect(renewed.access_token).toStartWith("v4.local.");
    expect(renewed.refresh_token).not.toBe(login.refresh_token);
    expect(Number(renewed.refresh_token_expires_at.seconds)).toBeGreaterThan(Date.now() / 1000);

    const token = renewed.access_token;
    const updated = await client.call(
      "UpdateUser",
      { username, full_name: "Carol Renamed" },
      { token },
    );
    expect(updated.user).toMatchObject({ username, full_name: "Carol Renamed", email });
    expect(updated.user.is_email_verified).toBe(true);

    expect(await client.call("Logout", {}, { token })).toEqual({});
    const after = await client.fail(Status.UNAUTHENTICATED, "ListAccounts", {}, { token });
    expect(after.errorInfo?.reason).toBe("unauthenticated");
  });

  test("sessions: ListSessions, EndSession", async () => {
    const carol = await grpcCustomer(client, bank.sql);
    const other = await client.call("LoginUser", {
      username: carol.username,
      password: carol.password,
    });
    const listed = await client.call("ListSessions", {}, carol);
    const sessions = listed.sessions as Record<string, unknown>[];
    expect(sessions.map((s) => s.session_id).sort()).toEqual(
      [carol.sessionId, other.session_id].sort(),
    );
    const mine = sessions.find((s) => s.session_id === carol.sessionId);
    if (!mine) throw new Error("the caller's session is not listed");
    expect(mine).toMatchObject({ current: true });
    expect(String(mine.user_agent)).toStartWith("grpc-node-js/");
    expect(String(mine.client_ip)).toMatch(/127\.0\.0\.1$/);
    expect(Number((mine.created_at as { seconds: string }).seconds)).toBeGreaterThan(
      Date.now() / 1000 - 60,
    );
    expect(Number((mine.expires_at as { seconds: string }).seconds)).toBeGreaterThan(
      Date.now() / 1000,
    );
    // Never renewed: renewed_at unset. The other session is not the one asking.
    expect(mine.renewed_at).toBeUndefined();
    expect(sessions.find((s) => s.session_id === other.session_id)?.current).toBeFalsy();

    // Ending the other session: its tokens stop at once; the caller's goes on.
    expect(await client.call("EndSession", { session_id: other.session_id }, carol)).toEqual({});
    const after = await client.call("ListSessions", {}, carol);
    expect((after.sessions as { session_id: string }[]).map((s) => s.session_id)).toEqual([
      carol.sessionId,
    ]);
    const ended = await client.fail(
      Status.UNAUTHENTICATED,
      "ListSessions",
      {},
      { token: other.access_token },
    );
    expect(ended.errorInfo?.reason).toBe("unauthenticated");
    const renewed = await client.fail(Status.UNAUTHENTICATED, "RenewAccessToken", {
      refresh_token: other.refresh_token,
    });
    expect(renewed.errorInfo?.reason).toBe("unauthenticated");

    // Already ended, unknown, or another user's: NotFound. Not a UUID: InvalidArgument.
    for (const session_id of [other.session_id, crypto.randomUUID(), alice.sessionId]) {
      const gone = await client.fail(Status.NOT_FOUND, "EndSession", { session_id }, carol);
      expect(gone.errorInfo?.reason).toBe("not_found");
    }
    const bad = await client.fail(
      Status.INVALID_ARGUMENT,
      "EndSession",
      { session_id: "42" },
      carol,
    );
    expect(Object.keys(bad.violations)).toEqual(["session_id"]);
    const anonymous = await client.fail(Status.UNAUTHENTICATED, "ListSessions", {});
    expect(anonymous.errorInfo?.reason).toBe("unauthenticated");
    // alice's session was never touched.
    expect((await client.call("ListSessions", {}, alice)).sessions.length).toBeGreaterThan(0);
  });

  test("password reset: RequestPasswordReset, ConfirmPasswordReset", async () => {
    const dave = await grpcCustomer(client, bank.sql);
    await bank.sql`update users set is_email_verified = true where username = ${dave.username}`;
    // The same empty reply for a verified user's address, an unknown one, and a non-address.
    expect(await client.call("RequestPasswordReset", { email: dave.email })).toEqual({});
    for (const email of [`${uniqueName("nobody")}@example.com`, "not an address"]) {
      expect(await client.call("RequestPasswordReset", { email })).toEqual({});
    }
    // The worker inside the server mails the link (the development log mailer: into the log).
    const link = await poll("the password reset email", () => {
      const line = bank.server
        .output()
        .split("\n")
        .find((l) => l.includes(`to ${dave.email}: Reset your Simple Bank password`));
      const match = /reset_password\?reset_id=([0-9a-f-]{36})&secret_code=([A-Za-z0-9_-]+)/.exec(
        line ?? "",
      );
      return match ? { reset_id: match[1], secret_code: match[2] } : undefined;
    });

    const invalid = await client.fail(Status.INVALID_ARGUMENT, "ConfirmPasswordReset", {
      reset_id: "42",
      secret_code: "!",
      new_password: "short",
    });
    expect(Object.keys(invalid.violations).sort()).toEqual([
      "new_password",
      "reset_id",
      "secret_code",
    ]);
    const wrong = await client.fail(Status.FAILED_PRECONDITION, "ConfirmPasswordReset", {
      ...link,
      secret_code: "x".repeat(43),
      new_password: "a new long password",
    });
    expect(wrong.errorInfo?.reason).toBe("verification_failed");

    const password = `new-${crypto.randomUUID()}`;
    expect(await client.call("ConfirmPasswordReset", { ...link, new_password: password })).toEqual(
      {},
    );
    // Every session ended: the access token and the refresh token alike.
    const revoked = await client.fail(Status.UNAUTHENTICATED, "ListSessions", {}, dave);
    expect(revoked.errorInfo?.reason).toBe("unauthenticated");
    await client.fail(Status.UNAUTHENTICATED, "RenewAccessToken", {
      refresh_token: dave.refreshToken,
    });
    const old = await client.fail(Status.UNAUTHENTICATED, "LoginUser", {
      username: dave.username,
      password: dave.password,
    });
    expect(old.errorInfo?.reason).toBe("invalid_credentials");
    const login = await client.call("LoginUser", { username: dave.username, password });
    expect(Number(login.user.password_changed_at.seconds)).toBeGreaterThan(Date.now() / 1000 - 60);
    // Single use.
    const used = await client.fail(Status.FAILED_PRECONDITION, "ConfirmPasswordReset", {
      ...link,
      new_password: `again-${crypto.randomUUID()}`,
    });
    expect(used.errorInfo?.reason).toBe("verification_failed");
  });

  test("accounts: CreateAccount, GetAccount, ListAccounts, ListEntries", async () => {
    const carol = await grpcCustomer(client, bank.sql);
    const { account } = await client.call("CreateAccount", { currency: "EUR" }, carol);
    expect(account).toMatchObject({ owner: carol.username, balance: "0", currency: "EUR" });
    expect(Number(account.id)).toBeGreaterThan(3);
    const got = await client.call("GetAccount", { id: account.id }, carol);
    expect(got.account).toEqual(account);
    const listed = await client.call("ListAccounts", { page_id: 1, page_size: 5 }, carol);
    expect(listed.accounts).toEqual([account]);
    // Defaults when page fields are unset; a banker lists someone else's.
    const byBanker = await client.call("ListAccounts", { owner: carol.username }, banker);
    expect(byBanker.accounts).toEqual([account]);

    const entries = await client.call("ListEntries", { account_id: aliceAccount }, alice);
    expect(entries.entries[0]).toMatchObject({ account_id: aliceAccount, amount: "100000" });
  });

  test("money: Deposit, CreateTransfer (the recipient's balance unset), GetTransfer, ListTransfers, Withdraw", async () => {
    const deposit = await client.call(
      "Deposit",
      { account_id: bobAccount, amount: "5000", currency: "USD" },
      banker,
    );
    expect(deposit.to_account).toMatchObject({ id: bobAccount, currency: "USD" });
    expect(Number(deposit.from_account.id)).toBeLessThanOrEqual(3);
    expect(deposit.to_entry).toMatchObject({ account_id: bobAccount, amount: "5000" });

    const before = Number(
      (await client.call("GetAccount", { id: aliceAccount }, alice)).account.balance,
    );
    const transfer = await client.call(
      "CreateTransfer",
      { from_account_id: aliceAccount, to_account_id: bobAccount, amount: "1250", currency: "USD" },
      alice,
    );
    expect(transfer.transfer).toMatchObject({
      from_account_id: aliceAccount,
      to_account_id: bobAccount,
      amount: "1250",
    });
    expect(transfer.from_account.balance).toBe(String(before - 1250));
    // Bob's balance is not Alice's to see: the optional field is absent, not 0.
    expect(transfer.to_account.owner).toBe(bob.username);
    expect(transfer.to_account.balance).toBeUndefined();
    expect(transfer.from_entry.amount).toBe("-1250");
    expect(transfer.to_entry.amount).toBe("1250");
    expect(transfer.replayed).toBeUndefined(); // false: proto3's default is not sent

    const got = await client.call("GetTransfer", { id: transfer.transfer.id }, bob);
    expect(got.transfer).toEqual(transfer.transfer);
    const listed = await client.call(
      "ListTransfers",
      { account_id: bobAccount, page_id: 1, page_size: 100 },
      bob,
    );
    expect(listed.transfers.map((t: { id: string }) => t.id)).toContain(transfer.transfer.id);

    const withdrawal = await client.call(
      "Withdraw",
      { account_id: bobAccount, amount: "250", currency: "USD" },
      banker,
    );
    expect(withdrawal.from_account).toMatchObject({ id: bobAccount, owner: bob.username });
    expect(withdrawal.from_entry.amount).toBe("-250");
  });
});

describe("metadata", () => {
  test("x-request-id comes back as header and trailer (generated when absent or not sane), and names the call's one log line", async () => {
    const mine = `grpc-${crypto.randomUUID()}`;
    const ok = await client.reply(
      "ListAccounts",
      {},
      { ...alice, metadata: { "x-request-id": mine } },
    );
    expect(ok.error).toBeUndefined();
    expect(ok.headers.get("x-request-id")).toEqual([mine]);
    expect(ok.trailers.get("x-request-id")).toEqual([mine]);

    const failedId = `grpc-${crypto.randomUUID()}`;
    const failed = await client.reply(
      "GetAccount",
      { id: "1" },
      { metadata: { "x-request-id": failedId } },
    );
    expect(failed.error?.code).toBe(Status.UNAUTHENTICATED);
    expect(failed.headers.get("x-request-id")).toEqual([failedId]);
    expect(failed.trailers.get("x-request-id")).toEqual([failedId]);

    const insane = await client.reply(
      "ListAccounts",
      {},
      { ...alice, metadata: { "x-request-id": "no spaces allowed" } },
    );
    const [generated] = insane.headers.get("x-request-id");
    expect(String(generated)).toMatch(/^[0-9a-f-]{36}$/);
    expect(insane.trailers.get("x-request-id")).toEqual([String(generated)]);

    await poll(
      "both log lines",
      () => rpcLines().filter((l) => l.request_id === failedId).length > 0,
    );
    const lines = rpcLines();
    expect(lines.filter((l) => l.request_id === mine)).toEqual([
      {
        request_id: mine,
        procedure: "/pb.SimpleBank/ListAccounts",
        protocol: "grpc",
        grpc_code: "OK",
        duration_ms: expect.any(Number),
        username: alice.username,
      },
    ]);
    expect(lines.filter((l) => l.request_id === failedId)).toEqual([
      {
        request_id: failedId,
        procedure: "/pb.SimpleBank/GetAccount",
        protocol: "grpc",
        grpc_code: "UNAUTHENTICATED",
        duration_ms: expect.any(Number),
        error_code: "unauthenticated",
      },
    ]);
  });

  test("CreateTransfer: the idempotency key as the field or the metadata; a retry pays once and says replayed", async () => {
    const balance = async () =>
      Number((await client.call("GetAccount", { id: aliceAccount }, alice)).account.balance);
    const start = await balance();
    const request = {
      from_account_id: aliceAccount,
      to_account_id: bobAccount,
      amount: "700",
      currency: "USD",
    };
    const viaMetadata = { ...alice, metadata: { "idempotency-key": crypto.randomUUID() } };
    const first = await client.call("CreateTransfer", request, viaMetadata);
    const retry = await client.call("CreateTransfer", request, viaMetadata);
    expect(first.replayed).toBeUndefined();
    expect(retry.replayed).toBe(true);
    expect(retry.transfer).toEqual(first.transfer);

    const key = crypto.randomUUID();
    const byField = await client.call(
      "CreateTransfer",
      { ...request, idempotency_key: key },
      alice,
    );
    // The same key in both places is the same key.
    const both = await client.call(
      "CreateTransfer",
      { ...request, idempotency_key: key },
      { ...alice, metadata: { "idempotency-key": key } },
    );
    expect(both.replayed).toBe(true);
    expect(both.transfer.id).toBe(byField.transfer.id);
    expect(await balance()).toBe(start - 1400);

    // The same key for another request is refused.
    const reused = await client.fail(
      Status.FAILED_PRECONDITION,
      "CreateTransfer",
      { ...request, amount: "701", idempotency_key: key },
      alice,
    );
    expect(reused.errorInfo?.reason).toBe("idempotency_key_reused");
  });

  test("Deposit and Withdraw: the idempotency key as the field or the metadata, as CreateTransfer", async () => {
    const balance = async () =>
      Number((await client.call("GetAccount", { id: bobAccount }, banker)).account.balance);
    const start = await balance();
    const request = { account_id: bobAccount, amount: "300", currency: "USD" };
    const viaMetadata = { ...banker, metadata: { "idempotency-key": crypto.randomUUID() } };
    const first = await client.call("Deposit", request, viaMetadata);
    const retry = await client.call("Deposit", request, viaMetadata);
    expect(first.replayed).toBeUndefined();
    expect(retry.replayed).toBe(true);
    expect(retry.transfer).toEqual(first.transfer);

    const key = crypto.randomUUID();
    const out = await client.call("Withdraw", { ...request, idempotency_key: key }, banker);
    const again = await client.call("Withdraw", request, {
      ...banker,
      metadata: { "idempotency-key": key },
    });
    expect(again.replayed).toBe(true);
    expect(again.transfer.id).toBe(out.transfer.id);
    expect(await balance()).toBe(start);

    // A deposit's key is not a withdrawal's: the operation is part of the request.
    const reused = await client.fail(Status.FAILED_PRECONDITION, "Deposit", request, {
      ...banker,
      metadata: { "idempotency-key": key },
    });
    expect(reused.errorInfo?.reason).toBe("idempotency_key_reused");
    const differs = await client.fail(
      Status.INVALID_ARGUMENT,
      "Withdraw",
      { ...request, idempotency_key: "one" },
      { ...banker, metadata: { "idempotency-key": "another" } },
    );
    expect(Object.keys(differs.violations)).toEqual(["idempotency_key"]);
    expect(await balance()).toBe(start);
  });
});

describe("errors: gRPC codes with google.rpc details", () => {
  test("InvalidArgument: BadRequest names every bad field as the proto does", async () => {
    const signup = await client.fail(Status.INVALID_ARGUMENT, "CreateUser", {
      username: "No Spaces",
      password: "short",
      full_name: "",
      email: "not-an-email",
    });
    expect(signup.errorInfo).toMatchObject({ reason: "validation_failed", domain: "simplebank" });
    expect(Object.keys(signup.violations).sort()).toEqual([
      "email",
      "full_name",
      "password",
      "username",
    ]);
    expect(signup.message).toBe("4 fields are invalid");

    const transfer = await client.fail(
      Status.INVALID_ARGUMENT,
      "CreateTransfer",
      { from_account_id: "0", to_account_id: bobAccount, amount: "-5", currency: "XYZ" },
      alice,
    );
    expect(Object.keys(transfer.violations).sort()).toEqual([
      "amount",
      "currency",
      "from_account_id",
    ]);
    expect(transfer.violations.currency).toBe("must be one of USD, EUR, CAD");

    // int64 beyond what a number holds exactly: the field, never a rounded id.
    const huge = await client.fail(
      Status.INVALID_ARGUMENT,
      "GetAccount",
      { id: "9007199254740993" },
      alice,
    );
    expect(Object.keys(huge.violations)).toEqual(["id"]);
    // The services say `id`; the proto says `account_id`.
    const entries = await client.fail(
      Status.INVALID_ARGUMENT,
      "ListEntries",
      { account_id: "0" },
      alice,
    );
    expect(Object.keys(entries.violations)).toEqual(["account_id"]);
    const page = await client.fail(
      Status.INVALID_ARGUMENT,
      "ListTransfers",
      { account_id: aliceAccount, page_size: 101 },
      alice,
    );
    expect(Object.keys(page.violations)).toEqual(["page_size"]);

    const keys = await client.fail(
      Status.INVALID_ARGUMENT,
      "CreateTransfer",
      {
        from_account_id: aliceAccount,
        to_account_id: bobAccount,
        amount: "1",
        currency: "USD",
        idempotency_key: "one",
      },
      { ...alice, metadata: { "idempotency-key": "another" } },
    );
    expect(Object.keys(keys.violations)).toEqual(["idempotency_key"]);
  });

  test("Unauthenticated: no token, an expired one, a tampered one, a revoked one (after Logout)", async () => {
    const missing = await client.fail(Status.UNAUTHENTICATED, "GetAccount", { id: aliceAccount });
    expect(missing.errorInfo?.reason).toBe("unauthenticated");

    const { deps } = await testDatabase(); // the same TOKEN_SYMMETRIC_KEY as the server
    const expired = await deps.tokens.create({
      username: alice.username,
      role: "depositor",
      sessionId: alice.sessionId,
      tokenType: "access",
      durationMs: -60_000,
    });
    const old = await client.fail(
      Status.UNAUTHENTICATED,
      "GetAccount",
      { id: aliceAccount },
      { token: expired.token },
    );
    expect(old.errorInfo?.reason).toBe("token_expired");

    const middle = Math.floor(alice.token.length / 2);
    const flipped = alice.token[middle] === "A" ? "B" : "A";
    const tampered = `${alice.token.slice(0, middle)}${flipped}${alice.token.slice(middle + 1)}`;
    const forged = await client.fail(
      Status.UNAUTHENTICATED,
      "GetAccount",
      { id: aliceAccount },
      { token: tampered },
    );
    expect(forged.errorInfo?.reason).toBe("unauthenticated");

    const dave = await grpcCustomer(client, bank.sql);
    await client.call("ListAccounts", {}, dave);
    await client.call("Logout", {}, dave);
    const revoked = await client.fail(Status.UNAUTHENTICATED, "ListAccounts", {}, dave);
    expect(revoked.errorInfo?.reason).toBe("unauthenticated");
    expect(revoked.message).toBe("this session has been revoked");

    const wrong = await client.fail(Status.UNAUTHENTICATED, "LoginUser", {
      username: alice.username,
      password: "not the password",
    });
    expect(wrong.errorInfo?.reason).toBe("invalid_credentials");
  });

  test("PermissionDenied, NotFound, AlreadyExists, FailedPrecondition", async () => {
    const denied = await client.fail(
      Status.PERMISSION_DENIED,
      "UpdateUser",
      { username: alice.username, full_name: "Not Bob's To Change" },
      bob,
    );
    expect(denied.errorInfo?.reason).toBe("forbidden");
    const notYours = await client.fail(
      Status.PERMISSION_DENIED,
      "GetAccount",
      { id: aliceAccount },
      bob,
    );
    expect(notYours.errorInfo?.reason).toBe("forbidden");
    const depositor = await client.fail(
      Status.PERMISSION_DENIED,
      "Deposit",
      { account_id: aliceAccount, amount: "1", currency: "USD" },
      alice,
    );
    expect(depositor.errorInfo?.reason).toBe("forbidden");

    const missing = await client.fail(Status.NOT_FOUND, "GetAccount", { id: "987654321" }, alice);
    expect(missing.errorInfo?.reason).toBe("not_found");

    const taken = await client.fail(Status.ALREADY_EXISTS, "CreateUser", {
      username: alice.username,
      password: "long enough password",
      full_name: "Alice Again",
      email: `${uniqueName("other")}@example.com`,
    });
    expect(taken.errorInfo?.reason).toBe("username_taken");
    const second = await client.fail(
      Status.ALREADY_EXISTS,
      "CreateAccount",
      { currency: "USD" },
      alice,
    );
    expect(second.errorInfo?.reason).toBe("account_exists");

    const poor = await client.fail(
      Status.FAILED_PRECONDITION,
      "CreateTransfer",
      {
        from_account_id: bobAccount,
        to_account_id: aliceAccount,
        amount: "999999999",
        currency: "USD",
      },
      bob,
    );
    expect(poor.errorInfo).toMatchObject({ reason: "insufficient_funds", domain: "simplebank" });
    const mismatch = await client.fail(
      Status.FAILED_PRECONDITION,
      "CreateTransfer",
      { from_account_id: aliceAccount, to_account_id: bobAccount, amount: "1", currency: "EUR" },
      alice,
    );
    expect(mismatch.errorInfo?.reason).toBe("currency_mismatch");
    const link = await client.fail(Status.FAILED_PRECONDITION, "VerifyEmail", {
      email_id: "1",
      secret_code: "x".repeat(32),
    });
    expect(link.errorInfo?.reason).toBe("verification_failed");
  });
});

describe("reflection and health", () => {
  test("buf curl lists the services and calls LoginUser from reflection alone (v1, and v1alpha)", async () => {
    const base = `http://${bank.grpcTarget}`;
    const flags = ["--protocol", "grpc", "--http2-prior-knowledge"];
    const services = await bufCurl([...flags, "--list-services", base]);
    expect({ code: services.code, stderr: services.stderr }).toEqual({ code: 0, stderr: "" });
    expect(services.stdout.trim().split("\n").sort()).toEqual([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "pb.SimpleBank",
    ]);
    const methods = await bufCurl([...flags, "--list-methods", base]);
    const bankMethods = methods.stdout.split("\n").filter((m) => m.startsWith("pb.SimpleBank/"));
    // Every RPC of the descriptor, from reflection alone (19 with the password reset pair).
    expect(bankMethods.sort()).toEqual(
      SimpleBank.methods.map((method) => `pb.SimpleBank/${method.name}`).sort(),
    );
    expect(bankMethods).toHaveLength(19);

    for (const protocol of ["grpc-v1", "grpc-v1alpha"]) {
      const login = await bufCurl([
        ...flags,
        "--reflect-protocol",
        protocol,
        "-d",
        JSON.stringify({ username: alice.username, password: alice.password }),
        `${base}/pb.SimpleBank/LoginUser`,
      ]);
      expect({ protocol, code: login.code, stderr: login.stderr }).toEqual({
        protocol,
        code: 0,
        stderr: "",
      });
      const reply = JSON.parse(login.stdout) as { user: { username: string }; accessToken: string };
      expect(reply.user.username).toBe(alice.username);
      expect(reply.accessToken).toStartWith("v4.local.");
    }

    expect(
      rpcLines().filter(
        (line) =>
          line.procedure === "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo" &&
          line.grpc_code === "OK",
      ).length,
    ).toBeGreaterThan(0);

    // A failure: buf curl exits with the gRPC code shifted left 3 and prints the status.
    const bad = await bufCurl([
      ...flags,
      "-d",
      '{"username":"x"}',
      `${base}/pb.SimpleBank/LoginUser`,
    ]);
    expect(bad.code).toBe(Status.INVALID_ARGUMENT << 3);
    expect(JSON.parse(bad.stderr)).toMatchObject({ code: "invalid_argument" });
  }, 60_000);

  test("health: SERVING for the server and pb.SimpleBank; NOT_FOUND for an unknown service; Watch sends the status", async () => {
    expect(await healthStatus(client)).toBe("SERVING");
    expect(await healthStatus(client, "pb.SimpleBank")).toBe("SERVING");
    const unknown = await client.reply("Check", { service: "pb.Nope" }, {}, client.health);
    expect(unknown.error?.code).toBe(Status.NOT_FOUND);
    const { response } = await client.reply("List", {}, {}, client.health);
    expect(response?.statuses).toEqual({
      "": { status: "SERVING" },
      "pb.SimpleBank": { status: "SERVING" },
    });
    const watch = watchHealth(client, "pb.SimpleBank");
    await watch.until("SERVING");
    watch.cancel();
    const unknownWatch = watchHealth(client, "pb.Nope");
    await unknownWatch.until("SERVICE_UNKNOWN");
    unknownWatch.cancel();
  });
});

describe("one ledger under three protocols", () => {
  test("3 × 50 concurrent transfers through native gRPC, Connect and REST: every one lands once, the books balance", async () => {
    const customers: { customer: Customer; account: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const customer = await grpcCustomer(client, bank.sql);
      const account = await grpcAccount(client, customer);
      await client.call(
        "Deposit",
        { account_id: account, amount: "1000000", currency: "USD" },
        banker,
      );
      customers.push({ customer, account });
    }
    const connect = createClient(SimpleBank, createConnectTransport({ baseUrl: bank.httpUrl }));
    const pick = () =>
      customers[Math.floor(Math.random() * customers.length)] as (typeof customers)[0];
    const plan = () => {
      const from = pick();
      let to = pick();
      while (to === from) to = pick();
      return { from, to, amount: 1 + Math.floor(Math.random() * 100) };
    };
    const PER_PROTOCOL = 50;
    const failures: string[] = [];
    let moved = 0;
    const run = async (protocol: string, send: (p: ReturnType<typeof plan>) => Promise<void>) => {
      await Promise.all(
        Array.from({ length: PER_PROTOCOL }, async () => {
          const p = plan();
          try {
            await send(p);
            moved += p.amount;
          } catch (error) {
            failures.push(`${protocol}: ${error}`);
          }
        }),
      );
    };
    await Promise.all([
      run("grpc", async (p) => {
        await client.call(
          "CreateTransfer",
          {
            from_account_id: p.from.account,
            to_account_id: p.to.account,
            amount: String(p.amount),
            currency: "USD",
          },
          p.from.customer,
        );
      }),
      run("connect", async (p) => {
        await connect.createTransfer(
          {
            fromAccountId: BigInt(p.from.account),
            toAccountId: BigInt(p.to.account),
            amount: BigInt(p.amount),
            currency: "USD",
          },
          { headers: { authorization: `Bearer ${p.from.customer.token}` } },
        );
      }),
      run("rest", async (p) => {
        const reply = await httpCall(bank.httpUrl, "POST", "/transfers", {
          token: p.from.customer.token,
          body: {
            from_account_id: Number(p.from.account),
            to_account_id: Number(p.to.account),
            amount: p.amount,
            currency: "USD",
          },
        });
        if (reply.status !== 201) throw new Error(`${reply.status} ${JSON.stringify(reply.body)}`);
      }),
    ]);
    expect(failures).toEqual([]);
    const ids = customers.map((c) => Number(c.account));
    const [row] = await bank.sql<{ n: number; total: string }[]>`
      select
        (select count(*)::int from transfers
          where from_account_id in ${bank.sql(ids)} and to_account_id in ${bank.sql(ids)}) as n,
        (select sum(balance)::text from accounts where id in ${bank.sql(ids)}) as total`;
    expect(row?.n).toBe(3 * PER_PROTOCOL);
    expect(row?.total).toBe(String(6 * 1_000_000));
    expect(moved).toBeGreaterThan(0);
    expect(await ledgerViolations(bank.sql)).toEqual([]);
  }, 60_000);
});

describe("shutdown", () => {
  test("SIGTERM: health turns NOT_SERVING and Watch ends, the call in flight finishes, new calls are refused, exit 0", async () => {
    const watch = watchHealth(client);
    await watch.until("SERVING");
    // A transfer provably in flight: a row lock held from SQL keeps it waiting in Postgres.
    const lock = await bank.sql.reserve();
    await lock`begin`;
    await lock`select id from accounts where id = ${Number(bobAccount)} for update`;
    const inFlight = client.reply(
      "CreateTransfer",
      { from_account_id: aliceAccount, to_account_id: bobAccount, amount: "10", currency: "USD" },
      alice,
    );
    await poll("the transfer waits on the lock", async () => {
      const [row] = await bank.sql<{ n: number }[]>`
        select count(*)::int as n from pg_stat_activity
        where datname = current_database() and application_name = 'simplebank'
          and wait_event_type = 'Lock'`;
      return (row?.n ?? 0) > 0;
    });

    bank.server.process.kill("SIGTERM");
    await watch.until("NOT_SERVING");
    expect((await watch.ended).code).toBe(Status.OK);
    await poll("the server draining", () =>
      bank.server.output().includes("waiting for gRPC calls in flight"),
    );
    // A new connection is refused (the listener is closed); the one in flight goes on.
    const late = new BankClient(bank.grpcTarget);
    const refused = await late.reply("Check", { service: "" }, {}, late.health);
    late.close();
    expect(refused.error?.code).toBe(Status.UNAVAILABLE);

    await lock`rollback`;
    lock.release();
    const done = await inFlight;
    expect(done.error).toBeUndefined();
    expect(done.response?.transfer.amount).toBe("10");
    expect(await bank.server.process.exited).toBe(0);
    const output = bank.server.output();
    for (const step of [
      "received SIGTERM",
      "gRPC server stopped",
      "HTTP server stopped",
      "database pool closed",
    ]) {
      expect(output).toContain(step);
    }
    expect(output.indexOf("gRPC server stopped")).toBeLessThan(
      output.indexOf("database pool closed"),
    );
  }, 60_000);
});
